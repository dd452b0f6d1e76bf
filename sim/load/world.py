"""A site's callers and agents driving a running appliance in real time, over real UDP.

The model is SIP fidelity's (`sim.sipfidelity.SipWorld`): the same `People` - arrivals, call
types, patience, retrials, answer delays, talk, wrap-up, shifts and breaks, from the same
named streams - acting through the same `SipChannel` and user agents, without the in-process
B2BUA: each gateway and phone is a UDP socket on 127.0.0.1, the appliance is `ccbox serve`
at `box`, the SimPy environment runs at the pace of the wall clock (`Pacer`), and what SIP
does not carry is read from the box's records database (`BoxLog`).

The appliance must run the lab site `lab_site_file` wrote: its trunks' peers are our
gateways, its phones ours (digest passwords `lab_password`). It anchors media: each answered
call's caller and agent send G.711 silence from sockets of their own (`LoadMedia`), which
the box's relay latches, and count what comes back; a caller's media starts only once it is
answered, so the lab site still turns the box's media timeout up. Queued callers get early
media, so that a caller's gateway hears the 200 when an agent answers (what `SipChannel`
takes for the connection).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import Any

import simpy
import yaml

from appliance.config import Site
from appliance.eventlog import EventLog
from appliance.net import Address
from sim.channels.sipcampaign import CampaignNumbers
from sim.channels.sipua import SipChannel
from sim.clock import SimClock
from sim.load.boxlog import BoxLog
from sim.load.calendar import pinned_routes
from sim.load.lookups import lab_lookups
from sim.load.media import LoadMedia, MediaSeen
from sim.load.realtime import Lag, Pacer, collector_quieted
from sim.load.udpnet import UdpNetwork
from sim.media import announcement_timing
from sim.sipfidelity import lab_password, lab_site, refuse_gateway_ports
from sim.sipua import Listener, UaEvent, UserAgent
from sim.streams import Streams
from sim.traffic.sipp import free_udp_port
from sim.unsimulated import refuse_unsimulated
from sim.world import People, Progress

HOST = "127.0.0.1"
STEP = 1.0  # seconds between progress reports
DRAIN = 120.0  # the longest wait for calls under way to end after the run
MEDIA_TIMEOUT = 86400.0  # nobody sends RTP: the box must not end calls for silence
ENDS = frozenset({"ended", "ended_by_peer", "failed", "cancelled"})  # a call's RTP stops
CANCELLED = 487  # the answer to our own CANCEL: a caller who gave up, not a failure


def lab_site_file(site: Site, folder: Path, minutes: float,
                  media: dict[str, Any] | None = None) -> Path:
    """Write the lab site of `site` for a load of `minutes` for `ccbox serve` into `folder`
    and return its path: a gateway per trunk group on a free UDP port of 127.0.0.1, a phone
    per agent, queued callers on early media, no media timeout, routes pinned to the
    simulated window's calendar (`pinned_routes`: ValueError if it opens or closes within
    it), the IVR's lookups answering the callers as the simulation's do (`lab_lookups`);
    `media` overrides media settings (ports, prompts). Read it back (`load_site`) for
    `LiveLoad`."""
    refuse_unsimulated(site)
    refuse_gateway_ports(site)
    gateways = [(HOST, free_udp_port()) for _ in site.trunk_groups]
    data = lab_site(site, gateways).model_dump(mode="json")
    data["routes"] = pinned_routes(site, minutes * 60.0)
    if site.ivr is not None:
        data["ivr"]["lookups"] = lab_lookups(site, folder)
    data["media"] = {**data["media"], "queued_callers": "early_media",
                     "media_timeout": MEDIA_TIMEOUT, **(media or {})}
    path = folder / f"{site.site}-lab.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@dataclass
class LoadSeen:
    """What the load side saw: calls its gateways placed, final refusals and timeouts of
    its user agents by side and status ("caller 486", "caller 408", "phone 403"; a caller's
    own CANCEL is no failure), registrations refused by status, datagrams that could not be
    sent, records read from the box, whether every call ended within the drain, and how late
    the model's events ran."""

    calls_placed: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    registration_failures: Counter[int] = field(default_factory=Counter)
    send_errors: Counter[str] = field(default_factory=Counter)
    records_read: int = 0
    drained: bool = False
    lag: Lag = field(default_factory=Lag)
    skipped: Counter[str] = field(default_factory=Counter)
    media: MediaSeen = field(default_factory=MediaSeen)


class LoadUserAgent(UserAgent):
    """A user agent whose re-INVITEs (an agent's hold and resume) tell its call's RTP
    whether the box may stop sending to it."""

    media: LoadMedia

    def reinvite(self, now: float, call_id: int, body: bytes) -> None:
        held = b"a=sendonly" in body or b"a=inactive" in body
        self.media.hold((self.local, call_id), held)
        super().reinvite(now, call_id, body)


class LiveLoad:
    """One live load of `site` - the lab site as `lab_site_file` wrote it - for `minutes`
    against the appliance at `box`, which writes its records to `records`. Its sockets are
    open from construction: `run()` closes them, and so does `close()`."""

    def __init__(self, site: Site, seed: int, minutes: float, box: Address, records: Path,
                 drain: float = DRAIN, replication: int = 0) -> None:
        if site.traffic is None:
            raise ValueError(f"site {site.site!r} has no traffic section to load")
        refuse_unsimulated(site)
        refuse_gateway_ports(site)
        self.site = site
        self.length = minutes * 60.0
        self.drain = drain
        self.box = box
        self.env = simpy.Environment()
        self.clock = SimClock(self.env)
        self.log = EventLog(retain=False)
        self.pacer = Pacer(self.env)
        self.net = UdpNetwork(self.pacer, HOST)
        self.media = LoadMedia(HOST)
        self.seen = LoadSeen(lag=self.pacer.lag, send_errors=self.net.errors,
                             media=self.media.seen)
        try:
            self._build(Streams(seed, replication), records)
        except BaseException:
            self.close()
            raise

    def _build(self, streams: Streams, records: Path) -> None:
        site = self.site
        timing = announcement_timing(site)
        self.gateways = {group.name: self._user_agent("gw", "", _peer_port(group.peers[0]),
                                                      streams(f"gateway-{group.name}"))
                         for group in site.trunk_groups}
        self.phones = {agent.id: self._user_agent(agent.id, lab_password(agent.id), 0,
                                                  streams(f"phone-{agent.id}"))
                       for agent in site.expanded_agents()}
        self.channel = SipChannel(self.clock, self.net, site, self.log, timing,
                                  self.gateways, self.phones)
        self.channel.offers_name_callers = False
        self.channel.reinvites_answered_callers = False
        self.people = People(site, self.channel, self.clock, streams, self.length,
                             timing.prompt_lengths())
        if site.campaigns:
            self.channel.called = CampaignNumbers(site, self.clock, streams)
        for side, agents in (("caller", self.gateways), ("phone", self.phones)):
            for ua in agents.values():
                ua.listener = self._tap(side, ua.listener)
        self.boxlog = BoxLog(records, self.log, self.pacer)
        # A caller about to give up hears first what the box did meanwhile (queued the call).
        self.channel.read_records = self.boxlog.read_now

    def _user_agent(self, user: str, password: str, port: int, rng: Random) -> UserAgent:
        ua = LoadUserAgent(user, password, self.net.bind(port), self.box, rng)
        ua.reports_confirmed = True  # connects IVR callers, starts the agents' RTP
        ua.media = self.media
        self.net.attach(ua.local, ua)
        return ua

    def _tap(self, side: str, listener: Listener | None) -> Listener:
        """`listener`, with the user agent's failures counted on the way."""
        seen = self.seen

        def heard(ua: UserAgent, event: UaEvent) -> None:
            if event.kind == "failed" and event.status != CANCELLED:
                seen.failures[f"{side} {event.status}"] += 1
            elif event.kind == "register_failed":
                seen.registration_failures[event.status] += 1
            self._media_heard(ua, event, side)
            if listener is not None:
                listener(ua, event)

        return heard

    def _media_heard(self, ua: UserAgent, event: UaEvent, side: str) -> None:
        """RTP for a call of `ua` on `side` from when it is answered to its end."""
        key = (ua.local, event.call)
        starts = "answered" if side == "caller" else "confirmed"  # the box took the answer
        if event.kind == starts and (call := ua.calls.get(event.call)) is not None:
            self.media.start(key, call.remote_body, f"{side} {ua.user} call {event.call}")
        elif event.kind in ENDS:
            self.media.stop(key)

    def run(self, progress: Progress | None = None) -> LoadSeen:
        """Run the load for `minutes`, then drain: no new calls, and up to `drain` seconds
        for the calls under way to end. Every socket is closed when it returns or raises
        (KeyboardInterrupt too)."""
        try:
            return asyncio.run(self.run_async(progress))
        finally:
            self.close()

    async def run_async(self, progress: Progress | None = None) -> LoadSeen:
        """`run` under a running event loop."""
        follow = asyncio.create_task(self.boxlog.follow())
        media = asyncio.create_task(self.media.run())
        try:
            with collector_quieted():
                self.net.open()
                self.people.start()
                await self._advance(self.length, progress)
                self.people.callers.close()
                await self._advance(self.length + self.drain, None, self._calls_under_way)
                self.seen.drained = not self._calls_under_way()
        finally:
            for task in (follow, media):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self.close()
        return self._result()

    async def _advance(self, until: float, progress: Progress | None,
                       going_on: Callable[[], bool] = lambda: True) -> None:
        while self.env.now < until and going_on():
            await self.pacer.run(min(self.env.now + STEP, until))
            if progress is not None:
                progress(min(self.env.now / self.length, 1.0))

    def _calls_under_way(self) -> bool:
        return any(call.state != "ended" for gateway in self.gateways.values()
                   for call in gateway.calls.values())

    def _result(self) -> LoadSeen:
        seen = self.seen
        seen.calls_placed = sum(call.outgoing for gateway in self.gateways.values()
                                for call in gateway.calls.values())
        seen.records_read = self.boxlog.read
        seen.skipped = self.channel.skipped
        return seen

    def close(self) -> None:
        """Close every socket (again: harmless)."""
        self.net.close()


def _peer_port(peer: str) -> int:
    """The port of a lab trunk peer "127.0.0.1:port"."""
    host, _, port = peer.rpartition(":")
    if host != HOST or not port.isdigit():
        raise ValueError(f"trunk peer {peer!r} is not a lab gateway on {HOST} "
                         f"(run the site `lab_site_file` wrote)")
    return int(port)
