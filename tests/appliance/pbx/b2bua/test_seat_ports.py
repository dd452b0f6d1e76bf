"""Agent seats on an FXS gateway's station ports: the seat's port is the agent's phone, rung
through the gateway with no registration; its answer and hang-up drive the port; a gateway
silent to OPTIONS makes the agent unreachable; a hook flash then digits are the in-call
codes' hold and consultation."""

from __future__ import annotations

from random import Random

from appliance.events import CallHeld, CallResumed
from appliance.hw import PortState
from sim.sipua import UserAgent
from tests.appliance.pbx.b2bua.harness import APPLIANCE, Lab, live_site
from tests.appliance.pbx.b2bua.test_incall import FakeConsultations
from tests.appliance.pbx.b2bua.test_races import ringing
from tests.appliance.pbx.b2bua.test_transfer import records

FXS_AT = ("10.0.0.3", 5060)
FXS = [{"name": "fxs1", "profile": "fxs-8", "address": "10.0.0.3:5060",
        "ports": [{"ports": "2", "seats": "a1"}]}]


def seat_lab() -> tuple[Lab, UserAgent]:
    lab = Lab(live_site(agents=1, more={"gateways": FXS}, sip={"probe_interval": 10}))
    fxs = UserAgent("fxs", "", FXS_AT, APPLIANCE, Random("fxs"))
    lab.net.attach(FXS_AT, fxs)
    lab.run(1)
    return lab, fxs


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
