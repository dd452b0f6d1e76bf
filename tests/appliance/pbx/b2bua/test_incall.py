"""In-call feature codes keyed on an agent's phone during a customer's call, over the simulated
network: by SIP INFO, #1 + target + # (or the timeout) transfers the caller as a REFER would,
#72 parks it, *0 holds and resumes (music to the caller, hold counted by the ACD), *2 + target
starts a consultation whose keys then go to it; by RFC 4733 at the media anchor too. A target
refused leaves the call with its agent. The B2BUA's invariants are checked after every input."""

from __future__ import annotations

from appliance.events import (
    CallHeld,
    CallParked,
    CallResumed,
    CallTransferred,
    DigitReceived,
)
from appliance.media.dtmf import telephone_event_packets
from appliance.media.rtp import RtpPacket
from appliance.pbx.legs import Leg
from tests.appliance.pbx.b2bua.harness import Lab
from tests.appliance.pbx.b2bua.test_media import PHONE_MEDIA, WITH_EVENTS, media_lab
from tests.appliance.pbx.b2bua.test_transfer import kinds, records, talking, transfer_lab

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
