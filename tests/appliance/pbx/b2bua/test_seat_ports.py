"""Agent seats on an FXS gateway's station ports: the seat's port is the agent's phone, rung
through the gateway with no registration; its answer and hang-up drive the port; a gateway
silent to OPTIONS makes the agent unreachable and ends a call up on its seat; a seat has one
line, so a second call is never rung at a port already busy, and an agent who also has a SIP
phone is rung at the seat alone, that phone's calls counting against the seat's line; a hook
flash then digits are the in-call codes' hold and consultation, and the seat hanging up
while consulting hands the caller to the colleague, the relay's agent side with them."""

from __future__ import annotations

from random import Random

from appliance.events import (
    AgentStateChanged,
    CallEnded,
    CallHeld,
    CallQueued,
    CallResumed,
    CallTransferred,
)
from appliance.hw import PortState
from appliance.media.relay import AGENT, CALLER
from appliance.media.rtp import RtpPacket
from sim.sipua import UserAgent
from tests.appliance.pbx.b2bua.harness import APPLIANCE, Lab, live_site, media_plane
from tests.appliance.pbx.b2bua.test_incall import FakeConsultations
from tests.appliance.pbx.b2bua.test_races import ringing
from tests.appliance.pbx.b2bua.test_transfer import records

FXS_AT = ("10.0.0.3", 5060)
FXS = [{"name": "fxs1", "profile": "fxs-8", "address": "10.0.0.3:5060",
        "ports": [{"ports": "2", "seats": "a1"}]}]


def seat_lab(agents: int = 1, media: bool = False, **sip: object) -> tuple[Lab, UserAgent]:
    """Agent a1 on the FXS gateway's port 2; agents a2... (and a1's own SIP phone) registered;
    with `media`, the box anchors the calls' media."""
    lab = Lab(live_site(agents=agents, more={"gateways": FXS},
                        sip={"probe_interval": 10, "extension_ring_timeout": 20, **sip}),
              media_for=media_plane(timeout=600) if media else None)
    fxs = UserAgent("fxs", "", FXS_AT, APPLIANCE, Random("fxs"))
    lab.net.attach(FXS_AT, fxs)
    if agents > 1:
        lab.register_all()
    lab.run(1)
    return lab, fxs


def state(lab: Lab, agent: str) -> str:
    return lab.box.cc.acd.agents[agent].state.value


def port(lab: Lab) -> PortState:
    return lab.box.seats.state("a1")


def answered_at_port(lab: Lab, fxs: UserAgent) -> int:
    lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    incoming = ringing(fxs)
    assert fxs.calls[incoming].invite.uri == "sip:2@10.0.0.3:5060"
    assert port(lab) is PortState.ALERTING
    lab.do(fxs, "answer", incoming)
    lab.run(0.5)
    return incoming


def test_a_seat_is_rung_at_its_port_with_no_registration_and_drives_the_port() -> None:
    lab, fxs = seat_lab()
    incoming = answered_at_port(lab, fxs)
    assert port(lab) is PortState.CONNECTED
    lab.do(fxs, "hangup", incoming)
    lab.run(0.5)
    assert port(lab) is PortState.IDLE


def test_a_gateway_silent_to_options_makes_its_seats_unreachable() -> None:
    lab, fxs = seat_lab()
    fxs.ignore_all = True
    lab.run(10 + 33)
    assert port(lab) is PortState.OUT_OF_SERVICE
    assert lab.box.phones.target("a1", lab.net.now) is None


def test_a_seat_call_up_when_its_gateway_dies_ends_on_record() -> None:
    lab, fxs = seat_lab()
    answered_at_port(lab, fxs)
    lab.gateway.take_events()
    fxs.ignore_all = True
    lab.run(10 + 33)
    assert port(lab) is PortState.OUT_OF_SERVICE
    assert [r.call for r in records(lab, CallEnded)] == [1]
    assert "ended_by_peer" in [e.kind for e in lab.gateway.take_events()]  # the caller: BYE
    wrap_up = [r for r in records(lab, AgentStateChanged) if str(r.state) == "wrap_up"]
    assert [(r.agent, r.call) for r in wrap_up] == [("a1", 1)]  # the talk ended on record
    assert lab.box.legs.lines_in_use["a1"] == 0


def test_a_second_call_is_not_rung_at_a_seat_whose_port_is_busy() -> None:
    lab, fxs = seat_lab()
    answered_at_port(lab, fxs)
    fxs.take_events()
    lab.do(lab.gateway, "call", "100")
    lab.run(30)
    assert fxs.take_events() == []  # no second ring: an analog phone has no call waiting
    assert [r.call for r in records(lab, CallQueued)] == [1, 2]
    assert port(lab) is PortState.CONNECTED


def test_a_seat_rung_by_a_colleague_is_not_rung_by_the_queue() -> None:
    lab, fxs = seat_lab(agents=2)
    lab.do(lab.phones["a2"], "call", "a1")
    lab.run(1)
    assert [e.kind for e in fxs.take_events()] == ["incoming"]
    assert port(lab) is PortState.ALERTING and state(lab, "a1") == "not_ready"
    lab.do(lab.gateway, "call", "100")
    lab.run(5)
    assert fxs.take_events() == []
    assert lab.phones["a1"].take_events() == []  # a1's SIP phone is never rung either


def test_an_agent_with_a_seat_and_a_sip_phone_has_the_seats_one_line() -> None:
    lab, fxs = seat_lab(agents=2)
    answered_at_port(lab, fxs)
    assert lab.box.phones.lines("a1") == 1
    lab.do(lab.phones["a1"], "call", "a2")  # from a1's SIP phone, during the seat's call
    lab.run(1)
    assert [(e.kind, e.status) for e in lab.phones["a1"].take_events()] == [("failed", 486)]
    assert lab.phones["a2"].take_events() == []


def test_flash_alone_holds_and_resumes_and_flash_then_a_number_consults() -> None:
    lab, fxs = seat_lab()
    incoming = answered_at_port(lab, fxs)
    consultations = lab.box.in_call.consultations = FakeConsultations()
    for key in ["hf", "#", "hf"]:
        lab.do(fxs, "press", incoming, key)
        lab.run(0.2)
    lab.run(5)  # the second flash alone: taken at the pause
    assert [r.agent for r in records(lab, CallHeld)] == ["a1"]
    assert [r.agent for r in records(lab, CallResumed)] == ["a1"]
    for key in ["hf", "1", "0", "0", "2", "#", "hf"]:
        lab.do(fxs, "press", incoming, key)
        lab.run(0.2)
    assert consultations.calls == [("start", "1002"), ("abort", "")]


def relayed(lab: Lab, call: int, side: int, source: tuple[str, int]) -> list[tuple[str, int]]:
    """Where one RTP packet from `source` to `side` of `call`'s relay goes."""
    media = lab.box.media
    media.take_datagrams()
    port = media.relay.sessions[call].sides[side].local_port
    lab.box.receive_media(port, bytes(RtpPacket(0, 1, 160, 0x5EA7, bytes(160))), source,
                          lab.net.now)
    return [to for _, _, to in media.take_datagrams()]


def test_a_seat_hanging_up_while_consulting_hands_its_caller_and_media_over() -> None:
    lab, fxs = seat_lab(agents=2, media=True)
    incoming = answered_at_port(lab, fxs)
    sides = lab.box.media.relay.sessions[1].sides
    caller, seat = sides[CALLER].peer, sides[AGENT].peer
    assert relayed(lab, 1, AGENT, seat) == [caller]  # the relay latches to the seat's RTP
    assert lab.box.consultations.start(lab.box.legs.rings[(1, "a1")], "a2", lab.net.now)
    lab.run(0.5)
    lab.do(lab.phones["a2"], "answer", ringing(lab.phones["a2"]))
    lab.run(0.5)
    lab.do(fxs, "hangup", incoming)
    lab.run(0.5)
    assert [(r.agent, r.target) for r in records(lab, CallTransferred)] == [("a1", "agent:a2")]
    colleague = lab.box.media.relay.sessions[1].sides[AGENT].peer
    assert colleague is not None and colleague[0] == lab.phones["a2"].local[0]
    assert relayed(lab, 1, AGENT, colleague) == [caller]
    assert relayed(lab, 1, CALLER, caller) == [colleague]
