"""Consultation controlled by the box, live through `ccbox serve`: a trunk caller is put through
to an agent whose phone has one line (the testbed's user agents over UDP, each party sending a
tone of its own on RTP: the caller 600 Hz, the first agent 1400 Hz, the second 1000 Hz). The
agent keys `*2` and the other agent's id and `#` in SIP INFO: the caller hears music and
neither agent while the two agents hear each other; `*3`: each of the three hears the other
two; `*2`: the first agent is released, the second phone re-INVITEd onto the call's relay
port, and the caller and the second agent hear each other.

The switch at completion is measured: the second phone goes on sending to our own call's
port, closed by then, until it answers our re-INVITE (it changes where it sends when it has
answered, as phones do); the longest the caller hears nothing of it is printed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from appliance.events import (
    CallHeld,
    CallTransferred,
    ExtensionCallEnded,
    ExtensionCallStarted,
)
from sim.traffic.rtp_pcap import rtp_audio
from tests.live.test_hold_music import relay_address, share_at
from tests.live.test_transfer_to_agent import (
    CALLER_HZ,
    FIRST_HZ,
    SECOND_HZ,
    Parties,
    incoming,
    other,
    run,
    until,
)

pytestmark = pytest.mark.slow

STEP = 0.02  # one packet of each party
SWITCH_SECONDS = 2.0


def keys(parties: Parties, user: str, call: int, pressed: str) -> None:
    for key in pressed:
        parties.do(parties.phones[user], "press", call, key)


async def switch(parties: Parties, first: str, second: str, consulted: int) -> None:
    """Talk on, one phase per packet time, from `*2` to a while after the second phone
    answered our re-INVITE; each phone follows its signalling as soon as it has it."""
    target, moved = parties.phones[second], False
    for step in range(int(SWITCH_SECONDS / STEP)):
        if parties.rtp[first].peer and all(c.state == "ended"
                                           for c in parties.phones[first].calls.values()):
            parties.rtp[first].peer = None  # released: the first phone stops sending
        if not moved and any(e.kind == "reinvited" for e in target.events):
            parties.rtp[second].peer = relay_address(target.calls[consulted].remote_body)
            moved = True
        for party in parties.rtp.values():
            party.phase = f"switch{step:03d}"
            party.tick(True)
        await asyncio.sleep(STEP)


async def consultation(parties: Parties) -> str:
    call, first, answered = await parties.caller_put_through()
    await parties.talk("first", 1.0)
    second = other(first)
    keys(parties, first, answered, f"*2{second}#")
    target = parties.phones[second]
    await until(lambda: incoming(target) is not None, "the second agent rung")
    consulted = incoming(target)
    assert consulted is not None
    parties.answer(second, consulted)
    await parties.talk("consulting")
    keys(parties, first, answered, "*3")
    await parties.talk("three_way")
    keys(parties, first, answered, "*2")
    await switch(parties, first, second, consulted)
    assert all(c.state == "ended" for c in parties.phones[first].calls.values())
    await parties.talk("second")
    assert target.calls[consulted].state == "answered"
    parties.do(parties.gateway, "hangup", call)
    await until(lambda: target.calls[consulted].state == "ended", "the second agent released")
    return second


def heard(parties: Parties, who: str, phase: str) -> np.ndarray:
    return rtp_audio(parties.rtp[who].received[phase]).astype(np.float64)


def hears(parties: Parties, who: str, phase: str, *tones: float) -> None:
    """`who` hears each of `tones` and none of the other parties' tones in `phase`."""
    audio = heard(parties, who, phase)
    assert len(audio) >= 8000, (who, phase)
    for hz in (CALLER_HZ, FIRST_HZ, SECOND_HZ):
        share = share_at(audio, hz)
        assert share > 0.1 if hz in tones else share < 0.01, (who, phase, hz, share)


def carries(packet: bytes, hz: float) -> bool:
    audio = rtp_audio([packet]).astype(np.float64)
    return bool(np.any(audio)) and share_at(audio, hz) > 0.3


def silent_gap(parties: Parties, who: str, hz: float) -> float:
    """The longest run of packet times, in seconds, in which `who` received nothing with
    `hz` in it, in the two seconds from the `*2` that completed."""
    received = parties.rtp[who].received
    packets = [received.get(f"switch{step:03d}", []) for step in range(int(SWITCH_SECONDS / STEP))]
    found = [any(carries(packet, hz) for packet in step) for step in packets]
    runs, run_length = [], 0
    for present in found:
        run_length = 0 if present else run_length + 1
        runs.append(run_length)
    return max(runs, default=0) * STEP


def test_keys_consult_make_a_three_way_call_and_complete(tmp_path: Path) -> None:
    parties, second, records = run(tmp_path, consultation)
    first = other(second)
    music = heard(parties, "gw", "consulting")
    assert len(music) >= 8000 and np.sqrt(np.mean(music ** 2)) > 300  # music, not silence
    assert max(share_at(music, FIRST_HZ), share_at(music, SECOND_HZ)) < 0.01
    hears(parties, first, "consulting", SECOND_HZ)
    hears(parties, second, "consulting", FIRST_HZ)
    hears(parties, "gw", "three_way", FIRST_HZ, SECOND_HZ)
    hears(parties, first, "three_way", CALLER_HZ, SECOND_HZ)
    hears(parties, second, "three_way", CALLER_HZ, FIRST_HZ)
    hears(parties, "gw", "second", SECOND_HZ)
    hears(parties, second, "second", CALLER_HZ)
    to_caller, to_second = (silent_gap(parties, "gw", SECOND_HZ),
                            silent_gap(parties, second, CALLER_HZ))
    print(f"at completion the caller heard nothing of the second agent for {to_caller:.2f} s,"
          f" the second agent nothing of the caller for {to_second:.2f} s")
    assert [r.callee for r in records if isinstance(r, ExtensionCallStarted)] == [second]
    assert [r.agent for r in records if isinstance(r, CallHeld)] == [first]
    [moved] = [r for r in records if isinstance(r, CallTransferred)]
    assert (moved.agent, moved.target) == (first, f"agent:{second}")
    assert [r.cause for r in records if isinstance(r, ExtensionCallEnded)] == ["transferred"]
