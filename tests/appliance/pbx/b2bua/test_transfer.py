"""Blind transfer by REFER from an agent's phone (RFC 3515, RFC 5589 6.1), over the simulated
network: the REFER accepted and the outcome NOTIFYed, the transferring agent released, the
caller queued at the target and put through to the next agent (by a re-INVITE when SDP is
passed through, by the relay when media is anchored), and the refusals that leave the call
with its agent. The B2BUA's invariants are checked after every input."""

from __future__ import annotations

from typing import Any

from appliance.events import (
    AgentRung,
    CallAnswered,
    CallEnded,
    CallQueued,
    CallTransferred,
    EndCause,
    MediaQuality,
    RecordingStarted,
)
from appliance.media import sdp
from appliance.pbx.sip.message import Response, parse, parse_cseq
from appliance.records.cdr import call_details
from sim.sipua import UserAgent, offer_sdp
from tests.appliance.pbx.b2bua.harness import APPLIANCE, live_site, media_plane
from tests.appliance.pbx.b2bua.test_media import MemoryDesk, rtp
from tests.appliance.pbx.b2bua.test_races import CheckedLab, ringing

SALES = {"name": "sales", "skill": "sales", "wrap_up": 30}


def transfer_lab(media: bool = False, **site: Any) -> CheckedLab:
    """Two agents (a1 rung first) for `service` and `sales`; wrap-up keeps a1 from being
    rung again for the call it transferred."""
    desk = MemoryDesk() if media else None
    lab = CheckedLab(live_site(agents=2, strategy="linear", wrap_up=30, extra_queues=[SALES],
                               agent_skills={"service": 5, "sales": 5}, **site),
                     media_for=media_plane(desk=desk) if media else None)
    lab.desk = desk  # type: ignore[attr-defined]
    lab.register_all()
    return lab


def talking(lab: CheckedLab, agent: str = "a1") -> tuple[int, int]:
    """A caller put through to `agent`: (the gateway's call, the phone's call)."""
    call = lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    phone = lab.phones[agent]
    incoming = ringing(phone)
    lab.do(phone, "answer", incoming)
    lab.run(0.5)
    phone.take_events()
    lab.gateway.take_events()
    return call, incoming


def kinds(ua: UserAgent) -> list[tuple[str, int]]:
    return [(event.kind, event.status) for event in ua.take_events()]


def records(lab: CheckedLab, kind: type) -> list[Any]:
    return [r for r in lab.log if isinstance(r, kind)]


def test_blind_transfer_to_a_queue_puts_the_caller_through_to_the_next_agent() -> None:
    lab = transfer_lab()
    call, incoming = talking(lab)
    lab.do(lab.phones["a1"], "refer", incoming, "sales")
    lab.run(0.5)
    # 202, the NOTIFY with "SIP/2.0 200 OK", then our BYE: the phone need not hang up.
    assert kinds(lab.phones["a1"]) == [("refer_accepted", 202), ("transfer_notified", 200),
                                       ("ended_by_peer", 0)]
    [transferred] = records(lab, CallTransferred)
    assert (transferred.agent, transferred.target) == ("a1", "sales")
    assert [r.queue for r in records(lab, CallQueued)] == ["service", "sales"]
    assert [r.agent for r in records(lab, AgentRung)] == ["a1", "a2"]
    second = lab.phones["a2"]
    # The second agent is offered the caller's own SDP, as the first was.
    assert second.calls[ringing(second)].remote_body == lab.gateway.calls[call].invite.body
    lab.do(second, "answer", ringing(second))
    lab.run(0.5)
    # SDP passed through: the caller gets the new agent's in a re-INVITE.
    assert kinds(lab.gateway) == [("reinvited", 0)]
    assert b"10.0.1.2" in lab.gateway.calls[call].remote_body
    assert [r.agent for r in records(lab, CallAnswered)] == ["a1", "a2"]
    assert kinds(second) == [("incoming", 0)]
    lab.run(20)
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    assert kinds(second) == [("ended_by_peer", 0)]
    assert [r.cause for r in records(lab, CallEnded)] == [EndCause.CALLER_HANGUP]
    [detail] = call_details(lab.log)
    assert (detail.agent, detail.transfers, detail.last_queue) == ("a2", 1, "sales")
    lab.settle()


def test_transfer_by_the_number_a_route_gives_the_queue() -> None:
    lab = transfer_lab(routes=[{"trunk_group": "pstn", "dnis": "200", "queue": "sales"}])
    call, incoming = talking(lab)
    lab.do(lab.phones["a1"], "refer", incoming, "200")
    lab.run(0.5)
    assert [r.target for r in records(lab, CallTransferred)] == ["sales"]
    hang_up_queued(lab, call)


def hang_up_queued(lab: CheckedLab, call: int) -> None:
    """The transferred caller, still waiting at the target, hangs up: an abandon there."""
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    assert [r.cause for r in records(lab, CallEnded)] == [EndCause.ABANDONED]
    lab.settle()


def refused(lab: CheckedLab, ua: UserAgent, call: int, target: str) -> int:
    lab.do(ua, "refer", call, target)
    lab.run(0.5)
    [(kind, status)] = kinds(ua)
    assert kind == "refer_failed"
    return status


def still_talking(lab: CheckedLab, call: int) -> None:
    """Nothing changed: no transfer logged, the agent on the call, which ends normally."""
    assert records(lab, CallTransferred) == []
    assert lab.box.cc.agent_status("a1").state.value == "talking"
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    assert [r.cause for r in records(lab, CallEnded)] == [EndCause.CALLER_HANGUP]
    lab.settle()


def test_a_target_that_is_no_queue_gets_404_and_the_call_stays_with_the_agent() -> None:
    lab = transfer_lab()
    call, incoming = talking(lab)
    # "999": a catch-all route must not turn any digits into the default queue.
    assert refused(lab, lab.phones["a1"], incoming, "999") == 404
    still_talking(lab, call)


def test_a_caller_cannot_transfer_its_agent() -> None:
    lab = transfer_lab()
    call, _ = talking(lab)
    assert refused(lab, lab.gateway, call, "sales") == 403
    still_talking(lab, call)


def test_refer_sub_false_gets_no_notify() -> None:
    lab = transfer_lab()
    call, incoming = talking(lab)
    lab.do(lab.phones["a1"], "refer", incoming, "sales", False)
    lab.run(0.5)
    assert kinds(lab.phones["a1"]) == [("refer_accepted", 202), ("ended_by_peer", 0)]
    hang_up_queued(lab, call)


def test_the_phone_hanging_up_once_transferred_crosses_our_bye_and_gets_200() -> None:
    """A phone may end the call itself once the transfer is accepted (baresip does, on the
    NOTIFY; RFC 5589 6.1 has the transferor send BYE), crossing our BYE. Its BYE reaches a
    dialog we are ending, not an unknown one: 200, as RFC 5407 3.2.1 answers a BYE in the
    "Mortal" state, not 481."""
    lab = transfer_lab()
    call, incoming = talking(lab)
    phone = lab.phones["a1"]
    lab.net.trace = []
    lab.do(phone, "refer", incoming, "sales")
    lab.do(phone, "hangup", incoming)  # on its way before our BYE arrives
    lab.run(0.5)
    assert answers_to(lab, phone, "BYE") == [200]
    assert [r.target for r in records(lab, CallTransferred)] == ["sales"]
    hang_up_queued(lab, call)


def answers_to(lab: CheckedLab, ua: UserAgent, method: str) -> list[int]:
    """The statuses the appliance sent `ua` for its requests of `method` (a trace of
    `lab.net` must be on)."""
    assert lab.net.trace is not None
    sent = [parse(data) for _, source, destination, data in lab.net.trace
            if (source, destination) == (APPLIANCE, ua.local)]
    return [m.status for m in sent if type(m) is Response
            and parse_cseq(m.headers.get("CSeq") or "")[1] == method]


def test_a_held_caller_transferred_with_media_anchored_is_resumed_hears_music_and_is_bridged_again(
) -> None:
    lab = transfer_lab(media=True)
    call, incoming = talking(lab)
    box, first = lab.box, lab.phones["a1"]
    box.receive_media(30002, rtp(1), ("10.0.1.1", 42000), lab.net.now)
    lab.do(first, "reinvite", incoming, offer_sdp("10.0.1.1", 42000, "sendonly"))
    lab.run(0.5)
    assert sdp.is_hold(lab.gateway.calls[call].remote_body)
    lab.gateway.take_events()
    lab.do(first, "refer", incoming, "sales")
    lab.run(0.5)
    # Taken off hold: a re-INVITE offering sendrecv on the same relay port.
    assert kinds(lab.gateway) == [("reinvited", 0)]
    resumed = sdp.parse(lab.gateway.calls[call].remote_body)
    assert sdp.audio_direction(resumed) == "sendrecv" and resumed.media[0].port == 30000
    # The agent side waits for the next agent; the caller hears music meanwhile.
    agent_side = box.media.relay.sessions[1].sides[1]
    assert agent_side.peer is None and not agent_side.latched
    box.media.take_datagrams()
    lab.run(1.0)
    to_caller = [to for port, _, to in box.media.take_datagrams() if port == 30000]
    assert len(to_caller) >= 45  # 50 packets a second of music
    second = lab.phones["a2"]
    lab.do(second, "answer", ringing(second))
    lab.run(0.5)
    assert box.media.calls[1].bridged
    box.receive_media(30002, rtp(1, ssrc=0x77), ("10.0.1.2", 42000), lab.net.now)
    lab.run(0.1)
    relayed = [to for port, _, to in box.media.take_datagrams() if port == 30000]
    assert relayed and box.media.relay.sessions[1].sides[1].peer == ("10.0.1.2", 42000)
    # One recording for the whole call; the first conversation's media figures logged.
    assert len(records(lab, RecordingStarted)) == 1
    assert [r.party for r in records(lab, MediaQuality)] == ["caller", "agent"]
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    assert [r.party for r in records(lab, MediaQuality)] == ["caller", "agent"] * 2
    lab.settle()


def test_the_transferring_phones_late_rtp_does_not_take_the_next_agents_place() -> None:
    """A phone sends RTP until it has hung up (baresip: until the NOTIFY): a packet of its
    arriving once the agent side is released must not latch it, or the next agent and the
    caller would not hear each other."""
    lab = transfer_lab(media=True)
    call, incoming = talking(lab)
    box, first, second = lab.box, lab.phones["a1"], lab.phones["a2"]
    box.receive_media(30002, rtp(1), ("10.0.1.1", 42000), lab.net.now)
    lab.do(first, "refer", incoming, "sales")
    lab.run(0.5)
    box.receive_media(30002, rtp(2), ("10.0.1.1", 42000), lab.net.now)
    lab.do(second, "answer", ringing(second))
    lab.run(0.5)
    box.media.take_datagrams()
    box.receive_media(30002, rtp(1, ssrc=0x77), ("10.0.1.2", 42000), lab.net.now)
    relayed = [to for port, _, to in box.media.take_datagrams() if port == 30000]
    assert relayed and box.media.relay.sessions[1].sides[1].peer == ("10.0.1.2", 42000)
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    lab.settle()
