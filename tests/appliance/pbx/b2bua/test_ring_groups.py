"""Ring groups over a simulated network: a phone dials a group's number, its members ring all
at once or in turn, the first to answer takes the call, and nobody answering leads to the
group's `then` or 480."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.events import (
    CallForwarded,
    RingGroupCallAnswered,
    RingGroupCallEnded,
    RingGroupCallStarted,
)
from tests.appliance.pbx.b2bua.harness import Lab, live_site, media_plane


def kinds(events):
    return [event.kind for event in events]


def lab_of(strategy="all", agents=4, media=False, **group):
    members = [f"a{i}" for i in range(2, agents + 1)]
    site = live_site(agents=agents, sip={"extension_ring_timeout": 20, "ring_groups": [
        {"number": "600", "members": members, "strategy": strategy, "ring_seconds": 15,
         **group}]})
    lab = Lab(site, media_for=media_plane() if media else None)
    lab.register_all()
    return lab


def incoming(lab, user):
    """The call ringing at `user`'s phone, or None."""
    phone = lab.phones[user]
    phone.take_events()
    return next((c for c in phone.calls.values() if c.state == "incoming"), None)


def ringing_at(lab):
    return sorted(user for user in lab.phones
                  if user != "a1" and incoming(lab, user) is not None)


def ended(lab):
    return [r.cause for r in lab.log if isinstance(r, RingGroupCallEnded)]


def state(lab, agent):
    return lab.box.cc.acd.agents[agent].state.value


def test_all_rings_every_member_and_the_first_answer_cancels_the_others():
    lab = lab_of("all")
    a1 = lab.phones["a1"]
    call = lab.do(a1, "call", "600")
    lab.run(1)
    assert ringing_at(lab) == ["a2", "a3", "a4"]
    assert [state(lab, a) for a in ("a1", "a2", "a3", "a4")] == ["not_ready"] * 4
    lab.do(lab.phones["a3"], "answer", incoming(lab, "a3").id)
    lab.run(1)
    assert kinds(a1.take_events()) == ["ringing", "answered"]
    assert ringing_at(lab) == []  # CANCELled
    assert lab.phones["a2"].calls[1].status == 0 and lab.phones["a2"].calls[1].state == "ended"
    assert [state(lab, a) for a in ("a2", "a4")] == ["ready", "ready"]
    lab.run(30)
    lab.do(a1, "hangup", call)
    lab.run(1)
    assert kinds(lab.phones["a3"].take_events()) == ["ended_by_peer"]
    assert ended(lab) == ["caller_hangup"]
    started = next(r for r in lab.log if isinstance(r, RingGroupCallStarted))
    assert (started.caller, started.group) == ("a1", "600")
    assert [r.member for r in lab.log if isinstance(r, RingGroupCallAnswered)] == ["a3"]
    assert [state(lab, a) for a in ("a1", "a2", "a3", "a4")] == ["ready"] * 4
    assert lab.box.legs.empty


def test_in_turn_rings_each_member_for_its_seconds_then_480():
    lab = lab_of("in_turn")
    call = lab.do(lab.phones["a1"], "call", "600")
    lab.run(1)
    assert ringing_at(lab) == ["a2"]
    lab.run(15)
    assert ringing_at(lab) == ["a3"]
    lab.do(lab.phones["a3"], "reject", incoming(lab, "a3").id, 486, "Busy Here")
    lab.run(1)
    assert ringing_at(lab) == ["a4"]  # a refusal is the next turn at once
    lab.run(15)
    assert ringing_at(lab) == []
    assert lab.phones["a1"].calls[call].status == 480
    assert ended(lab) == ["no_answer"]
    lab.run(40)
    assert lab.box.legs.empty
    assert [state(lab, a) for a in ("a1", "a2", "a3", "a4")] == ["ready"] * 4


def test_members_on_a_call_are_skipped_and_nobody_free_is_480_at_once():
    lab = lab_of("all", agents=3)
    lab.do(lab.phones["a2"], "call", "a3")
    lab.run(1)
    call = lab.do(lab.phones["a1"], "call", "600")
    lab.run(1)
    assert lab.phones["a1"].calls[call].status == 480
    assert ended(lab) == ["no_answer"]


def test_the_caller_cancelling_stops_every_member():
    lab = lab_of("all")
    call = lab.do(lab.phones["a1"], "call", "600")
    lab.run(1)
    lab.do(lab.phones["a1"], "hangup", call)
    lab.run(2)
    assert ringing_at(lab) == []
    assert lab.phones["a1"].calls[call].status == 487
    assert ended(lab) == ["cancelled"]
    assert lab.box.legs.empty


def test_nobody_answering_rings_the_groups_then_phone():
    lab = lab_of("all", agents=4, members=["a2", "a3"], then="a4")
    lab.do(lab.phones["a1"], "call", "600")
    lab.run(1)
    assert ringing_at(lab) == ["a2", "a3"]
    lab.run(15)
    assert ringing_at(lab) == ["a4"]
    (forwarded,) = [r for r in lab.log if isinstance(r, CallForwarded)]
    assert (forwarded.phone, forwarded.target, forwarded.condition) == ("600", "a4",
                                                                        "no_answer")
    lab.do(lab.phones["a4"], "answer", incoming(lab, "a4").id)
    lab.run(1)
    assert kinds(lab.phones["a1"].take_events()) == ["ringing", "answered"]
    assert [r.member for r in lab.log if isinstance(r, RingGroupCallAnswered)] == ["a4"]


def test_members_hear_the_caller_through_the_media_plane():
    lab = lab_of("in_turn", media=True)
    lab.do(lab.phones["a1"], "call", "600")
    lab.run(1)
    lab.do(lab.phones["a2"], "answer", incoming(lab, "a2").id)
    lab.run(1)
    assert kinds(lab.phones["a1"].take_events()) == ["ringing", "answered"]
    assert lab.box.anchor is not None


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(["all", "in_turn"]),
       st.lists(st.tuples(st.sampled_from(["a2", "a3", "a4"]),
                          st.sampled_from(["answer", "reject", "wait"])), max_size=6))
def test_a_ring_group_call_ends_in_one_answer_or_480_and_leaves_nothing_behind(
        strategy, moves):
    lab = lab_of(strategy)
    call = lab.do(lab.phones["a1"], "call", "600")
    lab.run(1)
    for member, move in moves:
        ringing = incoming(lab, member)
        if ringing is not None and move == "answer":
            lab.do(lab.phones[member], "answer", ringing.id)
        elif ringing is not None and move == "reject":
            lab.do(lab.phones[member], "reject", ringing.id, 486, "Busy Here")
        lab.run(5)
    lab.run(60)
    answers = [r for r in lab.log if isinstance(r, RingGroupCallAnswered)]
    status = lab.phones["a1"].calls[call].status
    assert len(answers) + (status == 480) == 1
    talking = [u for u in ("a2", "a3", "a4")
               if any(c.state == "answered" for c in lab.phones[u].calls.values())]
    assert talking == [a.member for a in answers]
    lab.do(lab.phones["a1"], "hangup", call)
    lab.run(40)
    assert lab.box.legs.empty
    assert len(ended(lab)) == 1
    assert [state(lab, a) for a in ("a1", "a2", "a3", "a4")] == ["ready"] * 4
