"""Attended transfer (RFC 5589 7, RFC 3891 Replaces) over the simulated network: a1 holds its
caller, calls a2's phone, talks, and REFERs the caller to a2 replacing that consultation.
The caller ends up with a2 (their call now: answered, wrap-up and figures), a1's two legs are
released, and what does not match a consultation of a1's is refused with the call as it was."""

from __future__ import annotations

from appliance.events import (
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallTransferred,
    EndCause,
    ExtensionCallEnded,
)
from appliance.media import sdp
from appliance.records.cdr import call_details
from sim.sipua import offer_sdp
from tests.appliance.pbx.b2bua.harness import APPLIANCE
from tests.appliance.pbx.b2bua.test_media import rtp
from tests.appliance.pbx.b2bua.test_races import CheckedLab, ringing
from tests.appliance.pbx.b2bua.test_transfer import (
    kinds,
    records,
    refused,
    still_talking,
    talking,
    transfer_lab,
)


def consulting(lab: CheckedLab, held: bool = True) -> tuple[int, int, int, int]:
    """a1 talks to the caller, holds them (if `held`) and talks to a2 on a call between
    phones: (the gateway's call, a1's customer call, a1's consultation, a2's side of it)."""
    call, incoming = talking(lab)
    first, second = lab.phones["a1"], lab.phones["a2"]
    if held:
        lab.do(first, "reinvite", incoming, offer_sdp("10.0.1.1", 42000, "sendonly"))
        lab.run(0.5)
    consultation = lab.do(first, "call", "a2")
    lab.run(0.5)
    answered = ringing(second)
    lab.do(second, "answer", answered)
    lab.run(0.5)
    for ua in (first, second, lab.gateway):
        ua.take_events()
    return call, incoming, consultation, answered


def test_the_caller_is_handed_to_the_consulted_agent_and_the_transferring_agent_released(
) -> None:
    lab = transfer_lab()
    call, incoming, consultation, answered = consulting(lab)
    first, second = lab.phones["a1"], lab.phones["a2"]
    lab.do(first, "refer_replacing", incoming, consultation, "a2")
    lab.run(0.5)
    # 202, "100 Trying" then "200 OK" in NOTIFYs; both of a1's calls ended by our BYEs.
    assert sorted(kinds(first)) == sorted([
        ("refer_accepted", 202), ("transfer_notified", 100), ("transfer_notified", 200),
        ("ended_by_peer", 0), ("ended_by_peer", 0)])
    assert all(c.state == "ended" for c in first.calls.values())
    # a2 keeps their call; each party is re-INVITEd with the other's SDP.
    assert kinds(second) == [("reinvited", 0)]
    assert second.calls[answered].state == "answered"
    assert second.calls[answered].remote_body == lab.gateway.calls[call].invite.body
    assert kinds(lab.gateway) == [("reinvited", 0)]
    assert not sdp.is_hold(lab.gateway.calls[call].remote_body)
    [transferred] = records(lab, CallTransferred)
    assert (transferred.agent, transferred.target) == ("a1", "agent:a2")
    assert [(r.agent, r.wait) for r in records(lab, CallAnswered)][1:] == [("a2", 0.0)]
    assert [r.cause for r in records(lab, ExtensionCallEnded)] == ["transferred"]
    status = lab.box.cc.agent_status
    assert (status("a1").state.value, status("a2").state.value) == ("wrap_up", "talking")
    lab.do(second, "hangup", answered)
    lab.run(1)
    assert [r.cause for r in records(lab, CallEnded)] == [EndCause.AGENT_HANGUP]
    [detail] = call_details(lab.log)
    assert (detail.agent, detail.transfers) == ("a2", 1)
    # a2 wraps up the call, then is ready: their pause for the consultation is over.
    lab.run(31)
    changes = [r.state.value for r in records(lab, AgentStateChanged) if r.agent == "a2"]
    assert changes[-4:] == ["not_ready", "talking", "wrap_up", "ready"]
    lab.settle()


def test_with_media_anchored_the_consulted_phone_moves_to_the_calls_relay_port() -> None:
    lab = transfer_lab(media=True)
    call, incoming, consultation, answered = consulting(lab)
    box, first, second = lab.box, lab.phones["a1"], lab.phones["a2"]
    lab.do(first, "refer_replacing", incoming, consultation, "a2")
    lab.run(0.5)
    offer = sdp.parse(second.calls[answered].remote_body)
    agent_port = box.media.relay.sessions[1].sides[1].local_port
    assert offer.media[0].port == agent_port and offer.origin.session_version == 1
    resumed = sdp.parse(lab.gateway.calls[call].remote_body)
    assert sdp.audio_direction(resumed) == "sendrecv"
    assert box.media.calls[1].bridged and -1 not in box.media.calls
    box.media.take_datagrams()
    box.receive_media(agent_port, rtp(1, ssrc=0x77), ("10.0.1.2", 42000), lab.net.now)
    relayed = [to for port, _, to in box.media.take_datagrams() if port == 30000]
    assert relayed
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    assert second.calls[answered].state == "ended"
    lab.settle()


def test_an_unheld_caller_can_be_handed_over_too() -> None:
    lab = transfer_lab()
    call, incoming, consultation, answered = consulting(lab, held=False)
    lab.do(lab.phones["a1"], "refer_replacing", incoming, consultation, "a2")
    lab.run(0.5)
    assert lab.box.cc.agent_status("a2").state.value == "talking"
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    assert lab.phones["a2"].calls[answered].state == "ended"
    lab.settle()


def test_a_replaces_that_names_no_consultation_gets_404() -> None:
    lab = transfer_lab()
    call, incoming = talking(lab)
    target = f"sip:a2@{APPLIANCE[0]}?Replaces=abc%40host%3Bto-tag%3D1%3Bfrom-tag%3D2"
    assert refused(lab, lab.phones["a1"], incoming, target) == 404
    still_talking(lab, call)
