"""Blind transfer of a customer's call out of the ACD by its agent's REFER, over a simulated
network: to a phone that is no agent's (user 200) and to an outside number through the
trunk's gateway (the harness's gateway is also the route out). The call ends for call control
(cause transferred_out), its caller's leg and trunk channel carried on until the caller and
the target are done; a target that fails rings the agent back, then hangs the caller up."""

from __future__ import annotations

from random import Random
from typing import Any

from appliance.events import CallEnded, CallTransferred, OutsideCallEnded, OutsideCallStarted
from appliance.kpi import KpiSettings, compute_kpis
from appliance.records.cdr import call_details
from sim.sipua import UserAgent
from tests.appliance.pbx.b2bua.harness import (
    APPLIANCE,
    GATEWAY,
    REALM,
    ha1,
    live_site,
    media_plane,
    password,
)
from tests.appliance.pbx.b2bua.test_races import CheckedLab, ringing
from tests.appliance.pbx.b2bua.test_transfer import kinds, records, talking

ROUTE = {"gateway": f"{GATEWAY[0]}:{GATEWAY[1]}", "prefix": "9", "ring_timeout": 20}
DESK = "200"  # a phone that is no agent's


def phone_entry(user: str, **more: Any) -> dict[str, Any]:
    return {"user": user, "ha1_md5": ha1(user, REALM, password(user), "MD5"),
            "ha1_sha256": ha1(user, REALM, password(user), "SHA-256"), **more}


def out_lab(media: bool = False, a1: dict[str, Any] | None = None) -> CheckedLab:
    """Agents a1, a2 (their phones), the desk phone 200 and a route out by prefix 9."""
    phones = [phone_entry("a1", **(a1 or {})), phone_entry("a2"), phone_entry(DESK)]
    site = live_site(agents=2, strategy="linear", wrap_up=30, trunk={"outbound": ROUTE},
                     sip={"phones": phones, "extension_ring_timeout": 15})
    lab = CheckedLab(site, media_for=media_plane() if media else None)
    desk = UserAgent(DESK, password(DESK), ("10.0.1.9", 5060), APPLIANCE, Random("desk"))
    lab.phones[DESK] = desk
    lab.net.attach(desk.local, desk)
    lab.register_all()
    return lab


def transferred(lab: CheckedLab, incoming: int, target: str) -> None:
    """a1 REFERs its caller to `target`: accepted, notified, let go; the call ended."""
    lab.do(lab.phones["a1"], "refer", incoming, target)
    lab.run(0.5)
    assert kinds(lab.phones["a1"]) == [("refer_accepted", 202), ("transfer_notified", 200),
                                       ("ended_by_peer", 0)]
    assert [r.cause for r in records(lab, CallEnded)] == ["transferred_out"]
    assert lab.box.cc.acd.agents["a1"].state.value == "wrap_up"
    assert lab.box.cc.trunks.busy["pstn"] >= 1  # still the caller's


def at_gateway(lab: CheckedLab) -> Any:
    """The gateway's one new incoming call (the outside target)."""
    assert [e.kind for e in lab.gateway.take_events()] == ["incoming"]
    return next(c for c in lab.gateway.calls.values() if c.state == "incoming")


def test_a_caller_transferred_to_a_desk_phone_talks_with_it_and_the_caller_ends_both() -> None:
    lab = out_lab()
    call, incoming = talking(lab)
    transferred(lab, incoming, DESK)
    assert [r.target for r in records(lab, CallTransferred)] == ["extension:200"]
    desk = lab.phones[DESK]
    rung = ringing(desk)
    # Offered the caller's own SDP (passed through), as its agent was.
    assert desk.calls[rung].remote_body == lab.gateway.calls[call].invite.body
    lab.do(desk, "answer", rung)
    lab.run(0.5)
    assert kinds(lab.gateway) == [("reinvited", 0)]  # the desk phone's SDP, in a re-INVITE
    assert b"10.0.1.9" in lab.gateway.calls[call].remote_body
    lab.run(20)
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    assert kinds(desk)[-1] == ("ended_by_peer", 0)
    assert lab.box.cc.trunks.busy["pstn"] == 0
    [detail] = call_details(lab.log)
    assert (detail.cause, detail.agent, detail.transfers) == ("transferred_out", "a1", 1)
    assert (detail.transfers_to_extension, detail.transfers_outside) == (1, 0)
    center = compute_kpis(lab.log, KpiSettings()).center
    assert (center.transferred_to_extension, center.transfer_rate_extension) == (1, 1.0)
    lab.settle()


def test_the_desk_phone_hanging_up_ends_the_callers_leg_with_media_anchored() -> None:
    lab = out_lab(media=True)
    _, incoming = talking(lab)
    transferred(lab, incoming, DESK)
    desk = lab.phones[DESK]
    rung = ringing(desk)
    assert f"c=IN IP4 {APPLIANCE[0]}".encode() in desk.calls[rung].remote_body
    lab.do(desk, "answer", rung)
    lab.run(0.5)
    relay = lab.box.media.relay.sessions[next(iter(lab.box.legs.callers))]
    assert relay.sides[1].peer[0] == "10.0.1.9"  # the agent side now faces the desk phone
    lab.do(desk, "hangup", rung)
    lab.run(1)
    assert kinds(lab.gateway)[-1] == ("ended_by_peer", 0)
    assert lab.box.cc.trunks.busy["pstn"] == 0
    assert lab.box.legs.empty
    lab.settle()


def test_a_caller_transferred_to_an_outside_number_talks_through_the_gateway() -> None:
    lab = out_lab()
    call, incoming = talking(lab)
    transferred(lab, incoming, "90301234567")
    assert [r.target for r in records(lab, CallTransferred)] == ["outside:0301234567"]
    far = at_gateway(lab)
    assert far.invite.uri == f"sip:0301234567@{GATEWAY[0]}:{GATEWAY[1]}"
    assert lab.box.cc.trunks.busy["pstn"] == 2  # the caller's channel and the far end's
    [started] = records(lab, OutsideCallStarted)
    assert (started.placed_by, started.purpose) == ("a1", "transferred")
    lab.do(lab.gateway, "answer", far.id)
    lab.run(0.5)
    assert [e.kind for e in lab.gateway.take_events()] == ["reinvited"]
    lab.run(10)
    lab.do(lab.gateway, "hangup", far.id)  # the far end hangs up: the caller is let go
    lab.run(1)
    assert lab.gateway.calls[call].state == "ended"
    assert [(r.cause, r.status) for r in records(lab, OutsideCallEnded)] == [
        ("far_hangup", 200)]
    assert lab.box.cc.trunks.busy["pstn"] == 0
    assert lab.box.legs.empty
    [detail] = call_details(lab.log)
    assert (detail.transfers_to_extension, detail.transfers_outside) == (0, 1)
    center = compute_kpis(lab.log, KpiSettings()).center
    assert (center.transferred_outside, center.transfer_rate_outside) == (1, 1.0)
    lab.settle()


def test_a_target_that_does_not_answer_rings_the_agent_back_who_takes_the_caller() -> None:
    lab = out_lab()
    call, incoming = talking(lab)
    transferred(lab, incoming, DESK)
    desk = lab.phones[DESK]
    ringing(desk)
    lab.run(16)  # past the extension ring timeout: the desk phone is CANCELled
    assert kinds(desk)[-1][0] == "cancelled"
    a1 = lab.phones["a1"]
    back = ringing(a1)
    lab.do(a1, "answer", back)
    lab.run(30)  # the wrap-up over, a1 is paused (internal_call), not offered a call
    assert lab.box.cc.acd.agents["a1"].state.value == "not_ready"
    lab.do(a1, "hangup", back)
    lab.run(1)
    assert lab.box.cc.acd.agents["a1"].state.value == "ready"
    assert lab.gateway.calls[call].state == "ended"
    assert lab.box.cc.trunks.busy["pstn"] == 0
    lab.settle()


def test_a_busy_outside_number_and_no_answer_from_the_agent_hang_the_caller_up() -> None:
    lab = out_lab()
    call, incoming = talking(lab)
    transferred(lab, incoming, "90301234567")
    far = at_gateway(lab)
    lab.do(lab.gateway, "reject", far.id)
    lab.run(0.5)
    assert lab.box.cc.trunks.busy["pstn"] == 1  # the far end's channel given back
    ringing(lab.phones["a1"])
    lab.run(16)
    assert lab.gateway.calls[call].state == "ended"
    assert [r.cause for r in records(lab, OutsideCallEnded)] == ["busy"]
    assert lab.box.cc.trunks.busy["pstn"] == 0
    assert lab.box.legs.empty
    lab.settle()


def refusal(lab: CheckedLab, incoming: int, target: str) -> int:
    lab.do(lab.phones["a1"], "refer", incoming, target)
    lab.run(0.5)
    [(kind, status)] = kinds(lab.phones["a1"])
    assert kind == "refer_failed"
    assert records(lab, CallTransferred) == []
    return status


def test_targets_that_cannot_be_rung_now_are_refused_and_the_call_stays() -> None:
    lab = out_lab(a1={"dial": "internal"})
    call, incoming = talking(lab)
    lab.do(lab.phones[DESK], "register", 0)
    lab.run(0.5)
    assert refusal(lab, incoming, DESK) == 480
    assert refusal(lab, incoming, "90301234567") == 403  # a1 may not dial out
    assert [r.cause for r in records(lab, OutsideCallEnded)] == ["barred"]
    assert refusal(lab, incoming, "12345") == 404
    assert lab.box.cc.agent_status("a1").state.value == "talking"
    assert lab.box.cc.trunks.busy["pstn"] == 1
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    assert [r.cause for r in records(lab, CallEnded)] == ["caller_hangup"]
    lab.settle()
