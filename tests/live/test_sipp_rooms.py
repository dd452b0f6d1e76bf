"""Supervision and a conference room through the live appliance (`ccbox serve`) with SIPp
phones only, each playing a tone of its own from a pcap: a trunk caller (caller_media.xml)
talks with agent 1001's SIPp phone (agent_media.xml) while supervisor 1003's SIPp phone
(phone_call_media.xml, digest authenticated, `supervisor: true`) dials *81, *82 or *83 and
1001 (listen, whisper, barge); three SIPp phones (phone_call_media.xml) dial room 800, with
its PIN keyed in as RFC 4733 events of their pcap where the room has one.

SIPp keeps none of the RTP it receives, so what each SIPp party hears is read off the wire:
a capture of loopback (a raw socket: root or CAP_NET_RAW, as SIPp's pcap playback needs
anyway) takes the RTP the appliance's relay sends to each SIPp's media port (its -mp, picked
here; the relay latches on the port SIPp plays from, which is that one), for a while once
everyone talks. The records are read back; each test prints how long it took (run with -s
to see it)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest

from appliance.events import (
    CallAnswered,
    ConferenceJoined,
    ConferenceLeft,
    EndCause,
    SupervisionEnded,
    SupervisionStarted,
)
from appliance.records.store import RecordReader
from sim.live import media_port_range, wait_until
from sim.traffic.rtp_pcap import rtp_audio, tone, write_rtp_pcap
from sim.traffic.sipp import SippConfig, SippResult, SippRun, free_udp_block, scenario_path
from tests.live.test_hold_music import share_at
from tests.live.test_sipp_calls import Floor
from tests.live.test_sipp_stream import LoopbackCapture

BOUND = 60.0
SETTLE = 0.5  # seconds after everyone is in before what they hear is kept
LISTENED = 2.0  # seconds of what they hear that is kept
PRESENT, ABSENT = 0.1, 0.01  # shares of the energy: each of two or three mixed tones has more
pytestmark = pytest.mark.slow


@dataclass
class Talker:
    """A SIPp party playing a tone of `hz` from its media port."""

    hz: float
    media_port: int
    run: SippRun


def talker(floor: Floor, name: str, hz: float, seconds: float, config: SippConfig,
           digits: Sequence[tuple[float, str]] = ()) -> Talker:
    """`config`'s SIPp (not started) playing `hz` for `seconds`, with RFC 4733 `digits`
    (offset, key), from a media port picked here."""
    pcap = write_rtp_pcap(floor.tmp / f"{name}.pcap", tone(hz, seconds), digits=digits)
    port = free_udp_block()
    config = replace(config, keys={**config.keys, "pcap": str(pcap)},
                     extra_args=(*config.extra_args, "-mp", str(port)))
    return Talker(hz, port, SippRun(config, timeout=BOUND, workdir=floor.tmp / name))


def events_of(floor: Floor, kind: type) -> list:
    """The records of `kind` the appliance has written so far."""
    return [r for r in RecordReader(floor.box.records).events() if isinstance(r, kind)]


def listen_in(talkers: dict[str, Talker]) -> dict[str, np.ndarray]:
    """What each talker receives from the appliance's relay over `LISTENED` seconds, after
    `SETTLE`, by name."""
    time.sleep(SETTLE)
    with LoopbackCapture() as capture:
        time.sleep(LISTENED)
    low, high = media_port_range()
    return {name: rtp_audio([payload for source, destination, payload in capture.datagrams
                             if destination == party.media_port and low <= source <= high])
            for name, party in talkers.items()}


def assert_hearing(heard: dict[str, np.ndarray], talkers: dict[str, Talker],
                   hears: dict[str, set[str]]) -> None:
    """Each talker's received audio holds the tones of those `hears` names for it, and no
    other (its own included)."""
    for name, samples in heard.items():
        assert len(samples) >= 8000, (name, len(samples))
        for other, party in talkers.items():
            share = share_at(samples, party.hz)
            assert share > PRESENT if other in hears[name] else share < ABSENT, (
                name, other, share)


def assert_succeeded(*results: SippResult) -> None:
    for result in results:
        assert (result.successful, result.failed) == (1, 0), result


def stop_all(floor: Floor, talkers: dict[str, Talker]) -> None:
    """End whatever still runs: the SIPps (by their PIDs), then the appliance."""
    for party in talkers.values():
        party.run.kill()
    floor.box.stop()


# Who hears whom in each mode (issue 16: the caller never hears a whisper).
HEARS = {
    "listen": {"caller": {"agent"}, "agent": {"caller"}, "boss": {"caller", "agent"}},
    "whisper": {"caller": {"agent"}, "agent": {"caller", "boss"}, "boss": {"caller", "agent"}},
    "barge": {"caller": {"agent", "boss"}, "agent": {"caller", "boss"},
              "boss": {"caller", "agent"}},
}
CODES = {"listen": "*81", "whisper": "*82", "barge": "*83"}
CALL_MS, BOSS_MS = 7000, 4000  # the supervisor hangs up first


@pytest.mark.parametrize("mode", list(HEARS))
def test_a_sipp_supervisor_joins_a_sipp_agents_call_and_is_heard_by_whom_the_mode_says(
        tmp_path: Path, mode: str) -> None:
    started = time.monotonic()
    floor = Floor(tmp_path, supervisors=["1003"])
    talkers: dict[str, Talker] = {}
    try:
        floor.register_phones(users=["1001"])  # the agent; the supervisor need not register
        caller_config = SippConfig(scenario_path("caller_media.xml"), remote=floor.box.address,
                                   local_port=floor.caller_port, rate=1, max_calls=1,
                                   duration_ms=CALL_MS, service="100")
        talkers = {
            "caller": talker(floor, "caller", 600.0, CALL_MS / 1000, caller_config),
            "agent": talker(floor, "agent", 1400.0, CALL_MS / 1000 + 1, SippConfig(
                scenario_path("agent_media.xml"), local_port=floor.phone_port, max_calls=1)),
            "boss": talker(floor, "boss", 2200.0, BOSS_MS / 1000, floor.phone_config(
                "1003", f"{CODES[mode]}1001", BOSS_MS, "phone_call_media.xml")),
        }
        caller, agent, boss = (talkers[name].run for name in ("caller", "agent", "boss"))
        agent.start().wait_started()
        caller.start()
        wait_until(lambda: bool(events_of(floor, CallAnswered)), BOUND, "answered")
        boss.start()
        wait_until(lambda: bool(events_of(floor, SupervisionStarted)), BOUND, "supervising")
        heard = listen_in(talkers)
        assert_succeeded(boss.wait(), caller.wait(), agent.wait())
        [details] = floor.stop()
        assert (details.agent, details.cause) == ("1001", EndCause.CALLER_HANGUP)
        [supervised] = events_of(floor, SupervisionStarted)
        assert (supervised.call, supervised.mode, supervised.supervisor, supervised.agent) == (
            details.call, mode, "1003", "1001")
        assert [(r.call, r.cause) for r in events_of(floor, SupervisionEnded)] == [
            (details.call, "supervisor_hangup")]
        assert_hearing(heard, talkers, HEARS[mode])
    finally:
        stop_all(floor, talkers)
    print(f"{mode} with SIPp: {time.monotonic() - started:.1f} s")


MEMBERS = {"1001": 600.0, "1002": 1400.0, "1003": 2200.0}
OUTSIDER_HZ = 3000.0
MEMBER_MS = 7000


def keyed(pin: str, tries: int = 1) -> list[tuple[float, str]]:
    """`pin` keyed in `tries` times once the call is answered (its length ends each try)."""
    return [(0.3 + 0.3 * index, digit) for index, digit in enumerate(pin * tries)]


def byes_received(result: SippResult) -> int:
    """The BYEs a phone's SIPp received: the appliance hung up on it."""
    return sum(count for name, count in result.counts.items() if name.endswith("_BYE_Recv"))


@pytest.mark.parametrize("pin", [None, "4242"])
def test_three_sipp_phones_in_a_room_each_hear_the_other_two(
        tmp_path: Path, pin: str | None) -> None:
    """With a PIN, a fourth phone (1001 again, on a line of its own) keys a wrong one three
    times: it is hung up, never joins, and nobody hears its tone."""
    started = time.monotonic()
    room = {"number": "800", **({"pin": pin} if pin else {})}
    floor = Floor(tmp_path, sip={"conferences": [room]})
    talkers: dict[str, Talker] = {}
    try:
        talkers.update((user, talker(floor, user, hz, MEMBER_MS / 1000, floor.phone_config(
            user, "800", MEMBER_MS, "phone_call_media.xml"), keyed(pin or "")))
            for user, hz in MEMBERS.items())
        members = dict(talkers)
        if pin:
            talkers["outsider"] = talker(floor, "outsider", OUTSIDER_HZ, MEMBER_MS / 1000,
                                         floor.phone_config("1001", "800", MEMBER_MS,
                                                            "phone_call_media.xml"),
                                         keyed("1111", tries=3))
        for party in talkers.values():
            party.run.start()
        wait_until(lambda: len(events_of(floor, ConferenceJoined)) == 3, BOUND, "three in")
        heard = listen_in(members)
        # Every call ends well: the members hang up, the outsider is hung up on.
        results = {name: party.run.wait() for name, party in talkers.items()}
        assert_succeeded(*results.values())
        expected = {**dict.fromkeys(MEMBERS, 0), **({"outsider": 1} if pin else {})}
        assert {name: byes_received(r) for name, r in results.items()} == expected
        assert floor.box.stop() == 0, floor.box.log()
        joined = events_of(floor, ConferenceJoined)
        assert sorted((r.room, r.party) for r in joined) == [("800", u) for u in MEMBERS]
        assert sorted(r.call for r in events_of(floor, ConferenceLeft)) == sorted(
            r.call for r in joined)
        assert_hearing(heard, talkers, {user: set(MEMBERS) - {user} for user in MEMBERS})
    finally:
        stop_all(floor, talkers)
    print(f"conference{' with a PIN' if pin else ''} with SIPp: "
          f"{time.monotonic() - started:.1f} s")
