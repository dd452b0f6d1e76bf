"""Blind transfer of a customer's call to a ring group's number, over a simulated network:
the group's members (desk phones 200 and 201, no agents') ring for the caller, the first to
answer talks with them and the other is CANCELled. The call waits in call control while they
ring, so nobody answering sends the caller to the group's `then` - a phone, a mailbox or a
queue - and with none (or a `then` that does not take it) rings the transferring agent back.
By REFER and by the in-call keys #1 600 #. The B2BUA's invariants are checked after every
input."""

from __future__ import annotations

from random import Random
from typing import Any

from appliance.events import (
    AgentRung,
    CallEnded,
    CallOffered,
    CallQueued,
    CallTransferred,
    VoicemailLeft,
)
from appliance.records.cdr import call_details
from sim.sipua import UserAgent
from tests.appliance.pbx.b2bua.harness import APPLIANCE, live_site, media_plane, password
from tests.appliance.pbx.b2bua.test_incall import keys
from tests.appliance.pbx.b2bua.test_races import CheckedLab
from tests.appliance.pbx.b2bua.test_transfer import kinds, records, talking
from tests.appliance.pbx.b2bua.test_transfer_out import phone_entry

DESKS = {"200": "10.0.1.9", "201": "10.0.1.10", "202": "10.0.1.11"}


BOX = {"voicemail": {"mailboxes": [{"name": "desk", "number": "801", "pin": "1234"}]}}


def group_lab(more: dict[str, Any] | None = None, media: bool = False,
              queue: dict[str, Any] | None = None,
              extra_queues: list[dict[str, Any]] | None = None, **group: Any) -> CheckedLab:
    """Agents a1, a2, desk phones 200-202 and ring group 600 of 200 and 201 (all at once,
    10 s); `more`: further site sections, `media`: with a media plane."""
    phones = [phone_entry(user) for user in ("a1", "a2", *DESKS)]
    groups = [{"number": "600", "members": ["200", "201"], "ring_seconds": 10, **group}]
    site = live_site(agents=2, strategy="linear", wrap_up=30, more=more, queue=queue,
                     extra_queues=extra_queues,
                     sip={"phones": phones, "extension_ring_timeout": 15,
                          "ring_groups": groups})
    lab = CheckedLab(site, media_for=media_plane() if media else None,
                     prompt_seconds=lambda names, language: 0.2 * len(names))
    for user, host in DESKS.items():
        desk = UserAgent(user, password(user), (host, 5060), APPLIANCE, Random(user))
        lab.phones[user] = desk
        lab.net.attach(desk.local, desk)
    lab.register_all()
    return lab


def rung(lab: CheckedLab, user: str) -> int | None:
    """The call ringing at `user`'s phone, if any."""
    return next((c.id for c in lab.phones[user].calls.values() if c.state == "incoming"), None)


def referred(lab: CheckedLab) -> int:
    """a1's caller REFERred to 600 and accepted: the gateway's call."""
    call, incoming = talking(lab)
    lab.do(lab.phones["a1"], "refer", incoming, "600")
    lab.run(0.5)
    assert kinds(lab.phones["a1"]) == [("refer_accepted", 202), ("transfer_notified", 200),
                                       ("ended_by_peer", 0)]
    assert [r.target for r in records(lab, CallTransferred)] == ["ring_group:600"]
    assert records(lab, CallEnded) == []  # waiting in call control while the group rings
    return call


def test_the_groups_members_ring_and_the_first_to_answer_talks_with_the_caller() -> None:
    lab = group_lab()
    call = referred(lab)
    desk = lab.phones["201"]
    first, second = rung(lab, "200"), rung(lab, "201")
    assert first is not None and second is not None
    lab.do(desk, "answer", second)
    lab.run(0.5)
    assert lab.phones["200"].calls[first].state == "ended"  # CANCELled
    assert b"10.0.1.10" in lab.gateway.calls[call].remote_body  # re-INVITEd to 201's SDP
    lab.run(30)  # past the group's and the recall's ring times: nothing else rings
    assert rung(lab, "a1") is None
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    assert desk.calls[second].state == "ended"
    assert lab.box.cc.trunks.busy["pstn"] == 0
    assert lab.box.legs.empty
    [detail] = call_details(lab.log)
    assert (detail.cause, detail.transfers_to_extension) == ("transferred_out", 1)
    lab.settle()


def test_the_member_hanging_up_ends_the_callers_leg() -> None:
    lab = group_lab(strategy="in_turn")
    call = referred(lab)
    assert rung(lab, "201") is None  # in turn: 200 first
    lab.do(lab.phones["200"], "answer", rung(lab, "200"))
    lab.run(0.5)
    [answered] = [c.id for c in lab.phones["200"].calls.values() if c.state == "answered"]
    lab.do(lab.phones["200"], "hangup", answered)
    lab.run(1)
    assert lab.gateway.calls[call].state == "ended"
    assert lab.box.cc.trunks.busy["pstn"] == 0
    lab.settle()


def test_nobody_answering_rings_the_groups_then_and_then_the_agent() -> None:
    lab = group_lab(strategy="in_turn", then="202")
    referred(lab)
    assert rung(lab, "200") is not None
    lab.run(10.5)
    assert rung(lab, "200") is None and rung(lab, "201") is not None
    lab.run(10)
    assert rung(lab, "201") is None and rung(lab, "202") is not None
    lab.run(15)
    assert rung(lab, "202") is None
    back = rung(lab, "a1")
    assert back is not None  # the transfer's recall, wrap-up cut short
    lab.do(lab.phones["a1"], "answer", back)
    lab.run(0.5)
    assert lab.phones["a1"].calls[back].state == "answered"
    lab.do(lab.phones["a1"], "hangup", back)
    lab.run(1)
    assert [r.cause for r in records(lab, CallEnded)] == ["agent_hangup"]
    [detail] = call_details(lab.log)
    assert detail.transfers_to_extension == 1
    assert lab.box.cc.trunks.busy["pstn"] == 0
    lab.settle()


def test_nobody_answering_sends_the_caller_to_the_groups_mailbox_as_one_call() -> None:
    lab = group_lab(then="voicemail:desk", more=BOX, media=True)
    call = referred(lab)
    lab.run(10.5)
    assert rung(lab, "200") is None and rung(lab, "201") is None
    assert rung(lab, "a1") is None  # no recall: the mailbox took the caller
    lab.run(3)
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    assert len(records(lab, CallOffered)) == 1
    assert [r.cause for r in records(lab, CallEnded)] == ["voicemail"]
    assert [r.mailbox for r in records(lab, VoicemailLeft)] == ["desk"]
    [detail] = call_details(lab.log)
    assert (detail.cause, detail.transfers_to_extension) == ("voicemail", 1)
    assert lab.box.cc.trunks.busy["pstn"] == 0
    assert lab.box.legs.empty
    lab.settle()


def test_nobody_answering_queues_the_caller_keeping_its_priority() -> None:
    lab = group_lab(then="queue:sales", media=True, queue={"priority": 7},
                    extra_queues=[{"name": "sales", "transfer_keeps": "wait_and_priority"}])
    call = referred(lab)
    lab.run(10.5)
    assert rung(lab, "a1") is None  # wrapping up: the queue rings a2
    assert [(r.queue, r.priority) for r in records(lab, CallQueued)] == [
        ("service", 7), ("sales", 7)]
    assert [r.agent for r in records(lab, AgentRung)][-1] == "a2"
    back = rung(lab, "a2")
    assert back is not None
    lab.do(lab.phones["a2"], "answer", back)
    lab.run(0.5)
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    assert [r.cause for r in records(lab, CallEnded)] == ["caller_hangup"]
    [detail] = call_details(lab.log)
    assert (detail.agent, detail.transfers_to_extension) == ("a2", 1)
    assert lab.box.cc.trunks.busy["pstn"] == 0
    assert lab.box.legs.empty
    lab.settle()


def test_a_member_refusing_is_out_at_once_and_the_next_in_turn_rings() -> None:
    lab = group_lab(strategy="in_turn")
    call = referred(lab)
    lab.do(lab.phones["200"], "reject", rung(lab, "200"))
    lab.run(0.5)
    second = rung(lab, "201")
    assert second is not None
    lab.do(lab.phones["201"], "answer", second)
    lab.run(0.5)
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    assert lab.box.cc.trunks.busy["pstn"] == 0
    lab.settle()


def test_with_no_then_and_nobody_answering_the_agent_is_rung_back_then_the_queue(
        ) -> None:
    lab = group_lab()
    call = referred(lab)
    lab.run(10.5)
    assert rung(lab, "200") is None and rung(lab, "201") is None
    assert rung(lab, "a1") is not None
    lab.run(15.5)  # the recall's ring timeout: back to the queue it was answered from
    assert [r.queue for r in records(lab, CallQueued)] == ["service", "agent:a1", "service"]
    back = rung(lab, "a1")  # first of the linear queue again, ready since the recall
    assert back is not None
    lab.do(lab.phones["a1"], "answer", back)
    lab.run(0.5)
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    assert [r.cause for r in records(lab, CallEnded)] == ["caller_hangup"]
    assert lab.box.cc.trunks.busy["pstn"] == 0
    lab.settle()


def test_the_caller_hanging_up_while_the_group_rings_cancels_every_member() -> None:
    lab = group_lab()
    call = referred(lab)
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    assert rung(lab, "200") is None and rung(lab, "201") is None
    assert lab.box.cc.trunks.busy["pstn"] == 0
    assert lab.box.legs.empty
    lab.settle()


def test_hash_1_the_groups_number_transfers_as_a_refer_would() -> None:
    lab = group_lab()
    call, incoming = talking(lab)
    keys(lab, incoming, "#1600#")
    lab.run(0.5)
    assert [r.target for r in records(lab, CallTransferred)] == ["ring_group:600"]
    lab.do(lab.phones["200"], "answer", rung(lab, "200"))
    lab.run(0.5)
    assert rung(lab, "201") is None
    assert b"10.0.1.9" in lab.gateway.calls[call].remote_body
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    lab.settle()
