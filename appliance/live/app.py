"""The live appliance put together: a site, its B2BUA core with its media plane, the record
store, the recordings and the loop."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import resource
import socket
import sqlite3
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from random import Random

import numpy as np

from appliance.clock import Deadlines
from appliance.config import ConfigError, Site
from appliance.config.campaign import read_contacts
from appliance.csvtable import TableError
from appliance.eventlog import EventLog
from appliance.live.core import Address, DatagramCore
from appliance.live.ivr_prompts import PromptTimes, prompt_sets
from appliance.live.lookup_runner import LookupRunner
from appliance.live.media import MediaDriver
from appliance.live.preflight import preflight
from appliance.live.prompt_build import PromptBuildError, ensure_default_music
from appliance.live.reconfigure import reconfigure_media
from appliance.live.recordings import WavDesk, party_paths
from appliance.live.serve import StartError, serve
from appliance.live.udp import UdpDriver
from appliance.live.voicemail import VoicemailDesk, mailbox_counts
from appliance.lookups import SeedError, SiteLookups
from appliance.media.plane import MediaPlane
from appliance.media.prompts import AnnouncementTimings, PromptError
from appliance.pbx.acd.callback import PendingCallback
from appliance.pbx.b2bua import B2bua
from appliance.pbx.features.campaign import Contact
from appliance.pbx.features.campaign_site import past_from
from appliance.records.recovery import ORPHANS, account_for_recordings, close_interrupted_calls
from appliance.records.store import RecordReader, RecordStore
from appliance.state import StateFolder
from appliance.storage.promptfiles import PromptLayers, read_prompt
from appliance.storage.wavfile import repair
from appliance.wallclock import WallClock, from_unix

_log = logging.getLogger(__name__)


CLEAN_UP_EVERY = 3600.0
"""Seconds between runs of the recordings clean-up (the first runs at start)."""


class Appliance:
    """Builds the core for `serve` and owns the record store it writes to, the media sockets
    and the recordings."""

    def __init__(self, state: StateFolder, records: Path | None = None,
                 media_address: str = "127.0.0.1", address: str | None = None) -> None:
        self.state = state
        self.records_path = records if records is not None else state.records
        self.media_address = media_address
        self.address = address  # where SIP listens, for the start's warnings
        self.store: RecordStore | None = None
        self.core: B2bua | None = None
        self.desk: WavDesk | None = None
        self.messages: VoicemailDesk | None = None
        self.media_driver: MediaDriver | None = None
        self.lookup_runner: LookupRunner | None = None
        self.lookups: SiteLookups | None = None
        self.prompt_times = PromptTimes({})
        """How long the IVR's prompts play, per language (the sets kept up to date on reload)."""
        # Until the SIP driver starts, `now` has no origin yet; no call comes in before it.
        self.wallclock: WallClock = from_unix(time.time())
        self._cleaning: asyncio.Task[None] | None = None
        self._carried: list[PendingCallback] = []  # earlier runs' callbacks, carried at start
        self.now: Callable[[], float] = lambda: 0.0  # the SIP driver's, once it has started

    def build(self, site: Site) -> B2bua:
        """The core for `site`. Raises ConfigError (nothing written) for what the site file
        must change, StartError for what the machine must change."""
        self._preflight(site)
        try:
            self.state.make()
        except OSError as error:
            raise StartError(f"cannot create the state folder {self.state.root}: "
                             f"{error.strerror or error}") from None
        self.lookups = SiteLookups(site.ivr, self.state)
        try:
            self.lookups.create_missing()
        except SeedError as error:  # preflight read the seed: what fails is the disk
            raise StartError(str(error)) from None
        # One run per process: call ids start again at 1, records stay apart by run.
        run = time.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}"
        try:
            self._carried = _repair_after_a_stop(
                self.records_path, self.state.resolve(site.media.recording.folder))
            self.store = RecordStore(self.records_path, run)
        except (OSError, sqlite3.Error) as error:
            raise StartError(f"cannot open the records database {self.records_path}: "
                             f"{error}") from None
        log = EventLog(retain=False)
        self.store.subscribe_to(log)
        seed = int.from_bytes(os.urandom(8), "big")
        media = site.media
        sets, music = _sounds(site, self.state)
        prompts = sets[media.language]
        self.prompt_times.sets = sets
        self.desk = WavDesk(media.recording, run,
                            folder=self.state.resolve(media.recording.folder))
        messages = self.messages = VoicemailDesk(site.voicemail,
                                                 self.state.resolve(site.voicemail.folder), run)

        def media_plane(deadlines: Deadlines) -> MediaPlane:
            # Every spoken language's set: an IVR caller who chose another language than
            # the site's hears the flow's prompts and PLAY NUMBER's words in it.
            return MediaPlane(self.media_address, media.rtp_ports, deadlines, Random(seed + 1),
                              media_timeout=media.media_timeout, prompts=sets, music=music,
                              recordings=self.desk, language=media.language,
                              messages=messages)

        self.core = B2bua(site, log, Random(seed), secret=os.urandom(32), media_for=media_plane,
                          sip_ids=Random(seed + 2), wallclock=lambda t: self.wallclock(t),
                          prompt_seconds=self.prompt_times)
        # The phones' own forwarding, as they set it before this run.
        self.core.forwarding.restore(self.store.forwarding())
        _remember_answers(self.core, self.records_path)
        self.core.waiting.set_counts(mailbox_counts(messages.folder), 0.0)
        self.core.retrieval.store = messages
        # The ACD times its announcements by what the callers will actually hear.
        self.core.cc.announcement_seconds = AnnouncementTimings(prompts)
        _log.info("records in %s (run %s)", self.records_path, run)
        _more_file_descriptors()
        _quieter_garbage_collection()
        return self.core

    def reload(self, site: Site) -> Callable[[], None]:
        """SIGHUP: read the prompts and music `site` names (a ConfigError, and nothing
        changes, if they cannot be read); returns what applies its media settings."""
        self._preflight(site)
        sets, music = _sounds(site, self.state)
        prompts = sets[site.media.language]
        folder = self.state.resolve(site.media.recording.folder)
        lookups = SiteLookups(site.ivr, self.state)
        try:
            lookups.create_missing()
        except SeedError as error:
            raise ConfigError(site.site, [(error.where, error.message)],
                              "cannot build a lookup's database") from None

        lists = campaign_lists(site)

        def apply() -> None:
            assert self.core is not None and self.core.media is not None
            assert self.desk is not None
            reconfigure_media(self.core.media, self.desk, site.media, sets, music, folder)
            if self.messages is not None:  # the folder stays: messages are not moved
                self.messages.settings = site.voicemail
            self.core.cc.announcement_seconds = AnnouncementTimings(prompts)
            self.prompt_times.sets = sets
            if self.lookup_runner is not None:
                self.lookup_runner.lookups = lookups
            self.core.run_campaigns(lists, self.now())

        return apply

    def _preflight(self, site: Site) -> None:
        """The checks `ccbox check` shows, at start and on every reload: a ConfigError
        naming every problem; warnings logged."""
        checked = preflight(site, self.state, self.records_path, self.address)
        if checked.problems:
            raise ConfigError(site.site, checked.problems,
                              "cannot serve this site configuration")
        for warning in checked.warnings:
            _log.warning("%s", warning)

    def started(self, core: DatagramCore, sip: UdpDriver) -> None:
        """The SIP socket is up: open the media side beside it and start the clean-up."""
        assert core is self.core and self.core.media is not None
        box = self.core

        def after_input(now: float) -> None:
            box.media_done(now)
            sip.flush()

        driver = MediaDriver(box.media, self.media_address, receive=box.receive_media,
                             after_input=after_input, epoch=sip.epoch)
        driver.start()
        sip.after_flush.append(driver.flush)
        self.media_driver = driver
        self._release_when_durable(box, sip)
        assert self.store is not None and self.lookups is not None
        origin = time.time() - sip.now()
        self.wallclock = from_unix(origin)
        self.store.set_clock_origin(origin)
        self.lookup_runner = LookupRunner(box, self.lookups, sip.now, sip.flush)
        sip.after_flush.append(self.lookup_runner.start_pending)
        self._cleaning = asyncio.get_running_loop().create_task(self._clean_up_regularly())
        self.now = sip.now
        _carry_callbacks(box, self._carried, sip.now())
        past = past_from(RecordReader(self.records_path).campaign_progress(), origin)
        box.run_campaigns(campaign_lists(box.site), sip.now(), past)
        sip.flush()

    def _release_when_durable(self, box: B2bua, sip: UdpDriver) -> None:
        """Answers that end calls wait for the store's commit (`B2bua.log_durable`): the
        writer thread wakes the loop when it has committed, and the loop sends them."""
        assert self.store is not None
        store = self.store
        loop = asyncio.get_running_loop()

        def released(mark: int) -> None:
            if mark == store.durable:  # later commits already released this one
                box.log_durable(mark, sip.now())
                sip.flush()

        def committed(mark: int) -> None:  # on the writer thread
            # Once the loop has ended (RuntimeError) nobody is left to answer.
            with suppress(RuntimeError):
                loop.call_soon_threadsafe(released, mark)

        store.on_durable = committed

    async def _clean_up_regularly(self) -> None:
        assert self.desk is not None
        while True:
            try:
                await asyncio.to_thread(self.desk.clean)
            except OSError as error:
                _log.error("recordings clean-up failed: %s", error)
            await asyncio.sleep(CLEAN_UP_EVERY)

    def close(self) -> None:
        if self._cleaning is not None:
            self._cleaning.cancel()
        if self.lookup_runner is not None:
            self.lookup_runner.close()
        if self.core is not None and self.core.media is not None:
            self.core.media.close_all(0.0 if self.media_driver is None
                                      else self.media_driver.now())
        if self.media_driver is not None:
            self.media_driver.close()
        if self.desk is not None:
            self.desk.shutdown()
        if self.messages is not None:
            self.messages.shutdown()
        if self.store is not None:
            self.store.close()
            _log.info("records flushed")


def campaign_lists(site: Site) -> dict[str, list[Contact]]:
    """The numbers of each campaign `site` says to dial, read now: a ConfigError naming
    the lists that cannot be read."""
    lists, problems = {}, []
    for index, campaign in enumerate(site.campaigns):
        if campaign.start:
            try:
                lists[campaign.name] = read_contacts(Path(campaign.list))
            except (OSError, TableError) as error:
                problems.append((f"campaigns.{index}.list", str(error)))
    if problems:
        raise ConfigError(site.site, problems, "cannot read a campaign's list")
    return lists


def _remember_answers(box: B2bua, records: Path) -> None:
    """Sticky agent across restarts: the answers of earlier runs within the queues'
    longest ``remember_hours`` go into the ACD's memory, on this run's clock (t = 0 now,
    so they lie before it)."""
    memory = box.cc.acd.sticky
    if memory.keep <= 0:
        return
    now = time.time()
    for ani, agent, at in RecordReader(records).answers_since(now - memory.keep):
        memory.remember(ani, agent, at - now)
    _log.info("sticky agent: %d caller numbers remembered from the records", len(memory))


def _carry_callbacks(box: B2bua, carried: list[PendingCallback], now: float) -> None:
    """Callbacks pending when an earlier run stopped wait again in their queues: their wait
    counted on the wall clock from when they first queued (up to the stop, if that run's
    clock is unknown), so they come before this run's callers, in their own order."""
    wall = time.time()
    waits = [(pending, pending.waited if pending.first_wall is None
              else max(wall - pending.first_wall, pending.waited)) for pending in carried]
    for (pending, _), call in zip(waits, box.carry_callbacks(waits, now), strict=True):
        if call is None:
            _log.warning("callback %d of run %s to %s not carried over: queue %s offers no "
                         "callback now", pending.call, pending.run, pending.number,
                         pending.queue)
        else:
            _log.info("callback %d of run %s to %s carried over as call %d in queue %s",
                      pending.call, pending.run, pending.number, call, pending.queue)


def _repair_after_a_stop(records: Path, recordings: Path) -> list[PendingCallback]:
    """Calls a killed predecessor left up get their end and detail record; recordings no
    record names are attached to their call or moved aside. Logs a summary either way.
    Returns the callbacks left pending (ended ``carried_over``), for this run to carry."""
    everything = close_interrupted_calls(records, _repair_with_parties)
    carried = [call.callback for call in everything if call.callback is not None]
    closed = [call for call in everything if call.callback is None]
    for call in closed:
        _log.warning("call %d of run %s was cut off by a stop (%s); recording %s (%s s)",
                     call.call, call.run,
                     "not answered" if call.agent is None else f"answered by {call.agent}",
                     call.recording, call.recording_seconds)
    account = account_for_recordings(records, recordings, _repair_with_parties)
    if not closed and not account.attached and not account.orphans:
        _log.info("start-up check: no call or recording left to repair")
        return carried
    answered = sum(call.agent is not None for call in closed)
    repaired = sum(call.recording_seconds is not None for call in closed)
    _log.warning("start-up repair: %d calls cut off by a stop closed (%d answered, %d "
                 "recordings repaired); %d recordings attached to their calls; %d recordings "
                 "of no call moved to %s", len(closed), answered, repaired,
                 len(account.attached), len(account.orphans), recordings / ORPHANS)
    return carried


def _repair_with_parties(path: str) -> float:
    """Mend the mixed recording and, if the site split them, its parties' files."""
    for party in party_paths(Path(path)):
        if party.is_file():
            repair(party)
    return repair(path)


def _more_file_descriptors() -> None:
    """Four media sockets a call (RTP and RTCP, each side): take the hard limit of open files,
    not the soft one (often 1,024, which would stop the appliance at about 250 calls)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 16)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as error:
            _log.warning("cannot raise the open-file limit from %d: %s", soft, error)
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    _log.info("up to %d open files: room for about %d calls' media", soft, soft // 4 - 100)


def _quieter_garbage_collection() -> None:
    """Calls leave no reference cycles behind (a test checks it), so the cyclic collector
    finds little; run it less often, and never over the objects built at start, so that its
    pauses do not delay SIP answers."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def _sounds(site: Site, state: StateFolder) -> tuple[dict[str, PromptLayers], np.ndarray]:
    """The site's prompts per spoken language and its music (the defaults and the site's IVR
    texts built under the state folder if missing or changed). `preflight` has checked that
    every file is there; a file that cannot be read or built is a ConfigError naming it."""
    media = site.media
    try:
        prompts = prompt_sets(site, state.prompts)
        music_path = (Path(media.music) if media.music is not None
                      else ensure_default_music(state.prompts))
        music = read_prompt(music_path)
    except (PromptError, PromptBuildError) as error:
        raise ConfigError(site.site, [("media", str(error))]) from None
    return prompts, music


def run_appliance(config: str, host: str, port: int, state: StateFolder,
                  records: Path | None, grace: float,
                  on_ready: Callable[[Address], None] | None = None,
                  media_address: str | None = None) -> None:
    appliance = Appliance(state, records, media_address or _advertised(host), address=host)
    try:
        asyncio.run(serve(appliance.build, config, host, port, grace=grace, on_ready=on_ready,
                          on_started=appliance.started, on_reload=appliance.reload))
    finally:
        appliance.close()


def _advertised(host: str) -> str:
    """The address to put in SDP: the listening one, unless that is a wildcard."""
    if host not in ("", "0.0.0.0", "::"):
        return host
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks a route
        return probe.getsockname()[0]
