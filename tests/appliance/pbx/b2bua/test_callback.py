"""Callbacks over a simulated network with the media anchored: the harness's gateway brings
the caller in and is the trunk's route out that calls them back (`GATEWAY`)."""

from __future__ import annotations

from appliance.events import CallbackFailed, CallbackRequested, CallEnded, OutsideCallEnded
from tests.appliance.pbx.b2bua.harness import GATEWAY, Lab, live_site, media_plane

ROUTE = {"gateway": f"{GATEWAY[0]}:{GATEWAY[1]}", "prefix": "9", "ring_timeout": 20}
NUMBER = "13800000001"


def booked(mode: str = "agent_first") -> tuple[Lab, int]:
    """A lab whose one agent is on a break, and a caller who booked a callback (INFO keys);
    the caller's call id at the gateway."""
    site = live_site(agents=1, trunk={"outbound": ROUTE},
                     queue={"callback": {"key": "1", "mode": mode, "retry_after": 60}})
    lab = Lab(site, media_for=media_plane())
    lab.register_all()
    dial(lab, "*44")  # not ready
    call = lab.do(lab.gateway, "call", "100", None, None, NUMBER)
    lab.run(1)
    lab.do(lab.gateway, "press", call, "1")
    lab.run(0.5)
    lab.do(lab.gateway, "press", call, "1")
    lab.run(0.5)
    assert [r.number for r in lab.log if isinstance(r, CallbackRequested)] == [NUMBER]
    return lab, call


def dial(lab: Lab, code: str) -> None:
    lab.do(lab.phones["a1"], "call", code)
    lab.run(1)


def incoming(ua):
    return next((c for c in ua.calls.values() if c.state == "incoming"), None)


def agent_answers(lab: Lab):
    """The agent gets ready once the caller's place comes up, is rung for the callback and
    answers (agent first); the agent's phone, its call and the customer's ringing call."""
    lab.run(10)
    dial(lab, "*43")  # ready
    phone = lab.phones["a1"]
    ringing = incoming(phone)
    assert ringing is not None
    lab.do(phone, "answer", ringing.id)
    lab.run(1)
    far = incoming(lab.gateway)
    assert far is not None
    return phone, ringing, far


def customer_answers(lab: Lab):
    """The agent gets ready, and the customer is called back first and answers (caller
    first); the customer's call and the agent's ringing call."""
    lab.run(10)
    dial(lab, "*43")  # ready
    far = incoming(lab.gateway)
    assert far is not None
    lab.do(lab.gateway, "answer", far.id)
    lab.run(1)
    ringing = incoming(lab.phones["a1"])
    assert ringing is not None
    return far, ringing


def test_the_booked_caller_hears_the_goodbye_then_a_bye_and_the_call_keeps_its_place() -> None:
    lab, call = booked()
    assert lab.gateway.calls[call].state == "answered"  # the goodbye plays
    lab.run(10)
    assert lab.gateway.calls[call].state == "ended"
    assert not lab.box.media.calls  # no ports held while the call waits
    assert not [r for r in lab.log if isinstance(r, CallEnded)]


def test_a_caller_hanging_up_during_the_goodbye_leaves_the_call_in_its_place() -> None:
    lab, call = booked()
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    assert not [r for r in lab.log if isinstance(r, CallEnded)]
    assert not lab.box.media.calls


def test_a_busy_customer_frees_the_agent_on_the_line_with_a_bye() -> None:
    lab, _ = booked()
    phone, ringing, far = agent_answers(lab)
    assert far.invite.uri == f"sip:{NUMBER}@{GATEWAY[0]}:{GATEWAY[1]}"
    lab.do(lab.gateway, "reject", far.id, 486, "Busy Here")
    lab.run(1)
    assert [r.reason for r in lab.log if isinstance(r, CallbackFailed)] == ["busy"]
    assert phone.calls[ringing.id].state == "ended"  # the appliance's BYE
    assert lab.box.cc.acd.agents["a1"].state.value == "ready"
    assert [r.cause for r in lab.log if isinstance(r, OutsideCallEnded)] == ["busy"]
    assert not lab.box.media.calls
    assert lab.box.cc.trunks.busy["pstn"] == 0  # given back until the retry


def test_caller_first_calls_the_customer_who_hears_music_until_the_agent_answers() -> None:
    lab, _ = booked("caller_first")
    far, ringing = customer_answers(lab)
    assert lab.box.media.playing(1) == "music"
    phone = lab.phones["a1"]
    lab.do(phone, "answer", ringing.id)
    lab.run(1)
    assert lab.box.cc.acd.agents["a1"].state.value == "talking"
    lab.do(lab.gateway, "hangup", far.id)
    lab.run(1)
    assert [r.cause for r in lab.log if isinstance(r, OutsideCallEnded)] == ["far_hangup"]
    assert [r.cause.value for r in lab.log if isinstance(r, CallEnded)] == ["caller_hangup"]
