"""A trunk caller a route sends to a ring group, over a simulated network: the group's
phones ring, the first to answer takes the call out of call control (its trunk channel held
until either party hangs up), and nobody answering sends it on to the group's mailbox or
queue as one call."""

from __future__ import annotations

from typing import Any

from appliance.events import CallEnded, CallOffered, RingGroupCallEnded, VoicemailLeft
from appliance.records.cdr import call_details
from tests.appliance.pbx.b2bua.harness import live_site, media_plane
from tests.appliance.pbx.b2bua.test_races import CheckedLab
from tests.appliance.pbx.b2bua.test_ring_groups import incoming, ringing_at
from tests.appliance.pbx.b2bua.test_transfer import records

BOX = {"voicemail": {"mailboxes": [{"name": "desk", "number": "801", "pin": "1234"}]}}


def group_lab(then: str | None = None, media: bool = True, **more: Any) -> CheckedLab:
    group: dict[str, Any] = {"number": "600", "members": ["a2", "a3"], "ring_seconds": 5}
    if then is not None:
        group["then"] = then
    site = live_site(agents=3, sip={"ring_groups": [group]},
                     routes=[{"trunk_group": "pstn", "dnis": "600", "ring_group": "600"}],
                     more=more)
    lab = CheckedLab(site, media_for=media_plane() if media else None,
                     prompt_seconds=lambda names, language: 0.2 * len(names))
    lab.register_all()
    return lab


def causes(lab: CheckedLab) -> list[str]:
    return [r.cause for r in records(lab, CallEnded)]


def test_a_routed_caller_rings_the_group_and_the_first_to_answer_takes_it() -> None:
    lab = group_lab()
    call = lab.do(lab.gateway, "call", "600")
    lab.run(1)
    assert ringing_at(lab) == ["a2", "a3"]
    assert causes(lab) == [] and lab.box.cc.trunks.busy["pstn"] == 1
    lab.do(lab.phones["a3"], "answer", incoming(lab, "a3").id)
    lab.run(1)
    assert ringing_at(lab) == []
    assert causes(lab) == ["ring_group"]
    assert lab.box.cc.trunks.busy["pstn"] == 1  # held by the group's call
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    assert [r.cause for r in records(lab, RingGroupCallEnded)] == ["caller_hangup"]
    assert lab.box.cc.trunks.busy["pstn"] == 0
    [detail] = call_details(lab.log)
    assert (detail.cause, detail.agent) == ("ring_group", None)


def test_the_member_hanging_up_gives_the_channel_back_too() -> None:
    lab = group_lab(media=False)
    lab.do(lab.gateway, "call", "600")
    lab.run(1)
    member = incoming(lab, "a2").id
    lab.do(lab.phones["a2"], "answer", member)
    lab.run(1)
    lab.do(lab.phones["a2"], "hangup", member)
    lab.run(1)
    assert [r.cause for r in records(lab, RingGroupCallEnded)] == ["callee_hangup"]
    assert lab.box.cc.trunks.busy["pstn"] == 0


def test_a_caller_who_hangs_up_while_the_group_rings_abandons() -> None:
    lab = group_lab(then="voicemail:desk", **BOX)
    call = lab.do(lab.gateway, "call", "600")
    lab.run(1)
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    assert ringing_at(lab) == []
    assert causes(lab) == ["abandoned"]
    assert lab.box.cc.trunks.busy["pstn"] == 0


def test_nobody_answering_sends_the_caller_to_the_groups_mailbox_as_one_call() -> None:
    lab = group_lab(then="voicemail:desk", **BOX)
    call = lab.do(lab.gateway, "call", "600")
    lab.run(7)
    assert ringing_at(lab) == []
    assert [r.cause for r in records(lab, RingGroupCallEnded)] == ["forwarded"]
    lab.run(3)
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    assert len(records(lab, CallOffered)) == 1
    assert causes(lab) == ["voicemail"]
    assert [r.mailbox for r in records(lab, VoicemailLeft)] == ["desk"]
    assert lab.box.cc.trunks.busy["pstn"] == 0


def test_nobody_answering_queues_the_caller_for_the_groups_queue() -> None:
    lab = group_lab(then="queue:service")
    for agent in ("a2", "a3"):
        lab.box.cc.agent_logout(lab.net.now, agent)
    call = lab.do(lab.gateway, "call", "600")
    lab.run(1)
    assert ringing_at(lab) == ["a2", "a3"]  # phones of a group ring though logged out
    lab.run(6)
    assert ringing_at(lab) == []
    assert incoming(lab, "a1") is not None  # the queue's agent
    lab.do(lab.phones["a1"], "answer", incoming(lab, "a1").id)
    lab.run(1)
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    assert causes(lab) == ["caller_hangup"]
    [detail] = call_details(lab.log)
    assert detail.agent == "a1"
    assert lab.box.cc.trunks.busy["pstn"] == 0


def test_without_then_nobody_answering_hangs_the_caller_up() -> None:
    lab = group_lab(media=False)
    lab.do(lab.gateway, "call", "600")
    lab.run(7)
    assert causes(lab) == ["agent_unreachable"]
    assert lab.box.cc.trunks.busy["pstn"] == 0
