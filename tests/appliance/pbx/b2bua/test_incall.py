"""In-call feature codes keyed on an agent's phone during a customer's call, over the simulated
network: by SIP INFO, #1 + target + # (or the timeout) transfers the caller as a REFER would,
#72 parks it, *0 holds and resumes (music to the caller, hold counted by the ACD), *2 + target
starts a consultation whose keys then go to it; by RFC 4733 at the media anchor too. A target
refused leaves the call with its agent. The B2BUA's invariants are checked after every input."""

from __future__ import annotations

import numpy as np

from appliance.events import (
    CallHeld,
    CallParked,
    CallResumed,
    CallTransferred,
    DigitReceived,
)
from appliance.media.dtmf import telephone_event_packets
from appliance.media.g711 import ulaw_decode, ulaw_encode
from appliance.media.plane import PromptMissing
from appliance.media.relay import AGENT, CALLER
from appliance.media.rtp import RtpPacket
from appliance.media.rtp import parse as parse_rtp
from appliance.pbx.legs import Leg
from tests.appliance.pbx.b2bua.harness import Lab, live_site, media_plane
from tests.appliance.pbx.b2bua.test_media import (
    CALLER_MEDIA,
    PHONE_MEDIA,
    WITH_EVENTS,
    media_lab,
    rtp,
)
from tests.appliance.pbx.b2bua.test_outside import at_gateway
from tests.appliance.pbx.b2bua.test_outside import lab_of as outside_lab
from tests.appliance.pbx.b2bua.test_races import CheckedLab
from tests.appliance.pbx.b2bua.test_transfer import (
    SALES,
    kinds,
    records,
    talking,
    transfer_lab,
)

AGENT_PORT = 30002  # the relay's port facing the agent's phone
SALES_ROUTE = [{"trunk_group": "pstn", "dnis": "200", "queue": "sales"}]


def keys(lab: Lab, incoming: int, pressed: str, agent: str = "a1") -> None:
    for key in pressed:
        lab.do(lab.phones[agent], "press", incoming, key)
        lab.run(0.2)


def test_hash_1_a_queue_and_hash_transfer_the_caller_as_a_refer_would() -> None:
    lab = transfer_lab(routes=SALES_ROUTE)
    _, incoming = talking(lab)
    keys(lab, incoming, "#1200#")
    lab.run(0.5)
    assert ("ended_by_peer", 0) in kinds(lab.phones["a1"])  # our BYE: the agent is let go
    [transferred] = records(lab, CallTransferred)
    assert (transferred.agent, transferred.target) == ("a1", "sales")
    # The keys are the agent's digits in the log, each once.
    digits = "".join(r.digit for r in records(lab, DigitReceived) if r.party == "agent")
    assert digits == "#1200#"


def test_a_target_is_taken_when_no_key_follows_for_the_timeout() -> None:
    lab = transfer_lab(routes=SALES_ROUTE)
    _, incoming = talking(lab)
    keys(lab, incoming, "#1200")
    lab.run(2.0)
    assert records(lab, CallTransferred) == []
    lab.run(1.5)
    [transferred] = records(lab, CallTransferred)
    assert transferred.target == "sales"


def test_a_target_that_is_nothing_leaves_the_call_with_its_agent() -> None:
    lab = transfer_lab()
    call, incoming = talking(lab)
    keys(lab, incoming, "#1999#")
    lab.run(5)
    assert records(lab, CallTransferred) == []
    assert [k for k, _ in kinds(lab.phones["a1"])] == []
    assert lab.gateway.calls[call].state == "answered"
    assert lab.box.cc.agent_status("a1") is not None


def test_hash_72_parks_the_call_and_lets_the_agent_go() -> None:
    lab = transfer_lab()
    _, incoming = talking(lab)
    keys(lab, incoming, "#72")
    lab.run(0.5)
    [parked] = records(lab, CallParked)
    assert (parked.agent, parked.slot) == ("a1", 701)
    assert ("ended_by_peer", 0) in kinds(lab.phones["a1"])


def test_star_0_holds_with_music_and_again_resumes() -> None:
    lab = media_lab()
    lab.do(lab.gateway, "call", "100", WITH_EVENTS)
    lab.run(0.5)
    phone = lab.phones["a1"]
    incoming = next(iter(phone.calls))
    lab.do(phone, "answer", incoming)
    lab.run(0.5)
    call = next(iter(lab.box.legs.callers))
    keys(lab, incoming, "*0")
    assert [(r.call, r.agent) for r in records(lab, CallHeld)] == [(call, "a1")]
    assert lab.box.media.playing(call) == "music"
    assert lab.box.media.calls[call].held
    keys(lab, incoming, "*0")
    assert [r.agent for r in records(lab, CallResumed)] == ["a1"]
    assert lab.box.media.playing(call) is None
    assert not lab.box.media.calls[call].held


def test_rfc4733_keys_from_the_agent_are_read_at_the_anchor() -> None:
    lab = media_lab()
    lab.do(lab.gateway, "call", "100", WITH_EVENTS)
    lab.run(0.5)
    phone = lab.phones["a1"]
    lab.do(phone, "answer", next(iter(phone.calls)))
    lab.run(0.5)
    seq = 0
    for index, digit in enumerate("*0"):
        for event in telephone_event_packets(digit, 800):
            packet = RtpPacket(101, seq, 8000 * (index + 1) + event.timestamp_offset, 0x99,
                               bytes(event.payload), marker=event.marker)
            lab.box.receive_media(AGENT_PORT, bytes(packet), PHONE_MEDIA, lab.net.now)
            seq += 1
        lab.box.media_done(lab.net.now)
        lab.run(0.2)
    digits = [(r.party, r.digit, r.via) for r in records(lab, DigitReceived)]
    assert digits == [("agent", "*", "rfc4733"), ("agent", "0", "rfc4733")]
    assert [r.agent for r in records(lab, CallHeld)] == ["a1"]


class FakeConsultations:
    """What the in-call codes call: each call recorded; active once started."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.consulting: set[Leg] = set()

    def start(self, agent_leg: Leg, target: str, now: float) -> bool:
        self.calls.append(("start", target))
        self.consulting.add(agent_leg)
        return True

    def active(self, agent_leg: Leg) -> bool:
        return agent_leg in self.consulting

    def abort(self, agent_leg: Leg, now: float) -> None:
        self.calls.append(("abort", ""))
        self.consulting.discard(agent_leg)

    def complete(self, agent_leg: Leg, now: float) -> None:
        self.calls.append(("complete", ""))

    def three_way(self, agent_leg: Leg, now: float) -> None:
        self.calls.append(("three_way", ""))

    def swap(self, agent_leg: Leg, now: float) -> None:
        self.calls.append(("swap", ""))


def test_star_2_consults_and_the_consultation_keys_go_to_it_while_it_is_active() -> None:
    lab = transfer_lab()
    _, incoming = talking(lab)
    consultations = lab.box.in_call.consultations = FakeConsultations()
    keys(lab, incoming, "*21002#*4*3*1")
    keys(lab, incoming, "*0")  # no consultation now: a hold
    assert consultations.calls == [("start", "1002"), ("swap", ""), ("three_way", ""),
                                   ("abort", "")]
    assert [r.agent for r in records(lab, CallHeld)] == ["a1"]


def test_without_consultations_star_2_changes_nothing() -> None:
    lab = transfer_lab(routes=SALES_ROUTE)
    call, incoming = talking(lab)
    keys(lab, incoming, "*2200#")
    lab.run(5)
    assert records(lab, CallTransferred) == []
    assert lab.gateway.calls[call].state == "answered"


# --- what each side hears around the keys ---------------------------------------------------

NAMES = ["parked-at", *(f"digit-{d}" for d in range(10))]


class Voices:
    """Prompts of 0.2 s, each a level of its own, so that what a party hears names them."""

    def samples(self, name: str) -> np.ndarray:
        return np.full(1600, 500 * (NAMES.index(name) + 1), dtype=np.int16)


def heard_names(payloads: list[bytes]) -> list[str]:
    """The prompts of `Voices` that 20 ms G.711 u-law payloads say, each once in a row."""
    levels = {int(ulaw_decode(ulaw_encode(Voices().samples(n)))[0]): n for n in NAMES}
    said = [levels.get(int(ulaw_decode(payload)[0]), "?") for payload in payloads]
    return [name for index, name in enumerate(said) if index == 0 or said[index - 1] != name]


def voiced_lab() -> CheckedLab:
    """`transfer_lab` with media, its prompts `Voices`."""
    lab = CheckedLab(live_site(agents=2, strategy="linear", wrap_up=30, extra_queues=[SALES],
                               agent_skills={"service": 5, "sales": 5}),
                     media_for=media_plane(prompts=Voices()))
    lab.register_all()
    return lab


def to_agent(lab: Lab, call: int) -> tuple[int, tuple[str, int]]:
    """The relay port facing the agent of `call`, and where the agent's phone receives."""
    side = lab.box.media.relay.sessions[call].sides[AGENT]
    assert side.peer is not None
    return side.local_port, side.peer


def sent_to(lab: Lab, port: int, peer: tuple[str, int]) -> list[RtpPacket]:
    return [parse_rtp(data) for at, data, to in lab.box.media.take_datagrams()
            if (at, to) == (port, peer)]


def test_hash_72_tells_the_parker_the_slot_then_hangs_up_the_phone() -> None:
    lab = voiced_lab()
    _, incoming = talking(lab)
    call = next(iter(lab.box.legs.callers))
    port, peer = to_agent(lab, call)
    lab.box.media.take_datagrams()
    keys(lab, incoming, "#72")
    assert [r.slot for r in records(lab, CallParked)] == [701]
    lab.run(0.5)
    assert kinds(lab.phones["a1"]) == []  # not hung up while it is told
    lab.run(1.0)
    assert ("ended_by_peer", 0) in kinds(lab.phones["a1"])
    told = sent_to(lab, port, peer)
    assert heard_names([packet.payload for packet in told]) == [
        "parked-at", "digit-7", "digit-0", "digit-1"]
    assert len(told) == 40  # four prompts of 0.2 s, as one stream
    assert len({packet.ssrc for packet in told}) == 1
    lab.run(1.0)
    assert sent_to(lab, port, peer) == []  # nothing after
    assert not any(isinstance(e, PromptMissing) for e in lab.box.media.take_events())


def test_a_refused_key_transfer_plays_the_error_tone_to_the_agent_who_stays() -> None:
    lab = transfer_lab(media=True)
    call, incoming = talking(lab)
    box_call = next(iter(lab.box.legs.callers))
    port, peer = to_agent(lab, box_call)
    keys(lab, incoming, "#1999")
    lab.box.media.take_datagrams()
    keys(lab, incoming, "#")
    lab.box.receive_media(30000, rtp(1), CALLER_MEDIA, lab.net.now)  # the caller speaks on
    lab.run(0.5)
    told = sent_to(lab, port, peer)
    tone = np.concatenate([ulaw_decode(p.payload) for p in told if p.payload != b"\xff" * 160])
    assert len(tone) == 2400  # 0.3 s: the three notes, and not the caller over them
    assert np.sqrt(np.mean(tone.astype(np.float64) ** 2)) > 1000
    assert lab.gateway.calls[call].state == "answered"
    assert [k for k, _ in kinds(lab.phones["a1"])] == []
    lab.box.receive_media(30000, rtp(2), CALLER_MEDIA, lab.net.now)
    lab.run(0.1)
    assert len(sent_to(lab, port, peer)) == 1  # the caller is heard again


def event_packets(digits: str, ssrc: int = 0x99) -> list[bytes]:
    packets, seq = [], 100
    for index, digit in enumerate(digits):
        for event in telephone_event_packets(digit, 800):
            packets.append(bytes(RtpPacket(101, seq, 8000 * (index + 1) + event.timestamp_offset,
                                           ssrc, bytes(event.payload), marker=event.marker)))
            seq += 1
    return packets


def test_the_agents_rfc4733_keys_never_reach_the_caller_and_its_voice_does() -> None:
    lab = media_lab()
    lab.do(lab.gateway, "call", "100", WITH_EVENTS)
    lab.run(0.5)
    phone = lab.phones["a1"]
    lab.do(phone, "answer", next(iter(phone.calls)))
    lab.run(0.5)
    lab.box.media.take_datagrams()
    box = lab.box
    box.receive_media(AGENT_PORT, rtp(1, ssrc=0x99), PHONE_MEDIA, lab.net.now)
    for packet in event_packets("#1"):
        box.receive_media(AGENT_PORT, packet, PHONE_MEDIA, lab.net.now)
    box.media_done(lab.net.now)
    to_caller = sent_to(lab, 30000, CALLER_MEDIA)
    assert [p.payload_type for p in to_caller] == [0]  # the voice, no telephone-event
    assert [r.digit for r in records(lab, DigitReceived)] == ["#", "1"]  # read all the same


def test_on_an_outside_call_the_phones_keys_reach_the_far_end() -> None:
    lab = outside_lab(media=True)
    lab.do(lab.phones["a1"], "call", "90301234567", WITH_EVENTS)
    lab.run(1)
    far = at_gateway(lab)
    lab.do(lab.gateway, "answer", far.id)
    lab.run(1)
    call = min(lab.box.media.calls)
    sides = lab.box.media.relay.sessions[call].sides
    lab.box.media.take_datagrams()
    for packet in event_packets("12"):
        lab.box.receive_media(sides[CALLER].local_port, packet, PHONE_MEDIA, lab.net.now)
    far_end = sides[AGENT]
    assert far_end.peer is not None
    relayed = sent_to(lab, far_end.local_port, far_end.peer)
    assert {p.payload_type for p in relayed} == {101}
    assert len(relayed) == len(event_packets("12"))
