"""Find-me/follow-me over a simulated network: a phone that does not answer has its
follow-me numbers rung in turn (phones, then an outside number through the gateway)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.events import ExtensionCallAnswered, OutsideCallStarted
from tests.appliance.pbx.b2bua.harness import Lab, live_site
from tests.appliance.pbx.b2bua.test_forwarding import (
    ROUTE,
    dial,
    ended,
    forwarded,
    incoming,
    kinds,
    state,
)


def lab_of(numbers, agents=4, register=True, **phone):
    """Phone a2 follows `numbers` (each rung 5 s, after a2's own 5 s)."""
    phones = {f"a{i}": {} for i in range(1, agents + 1)}
    phones["a2"] = {"follow_me": {"numbers": numbers, "ring_seconds": 5}, **phone}
    lab = Lab(live_site(agents=agents, sip={"extension_ring_timeout": 30},
                        trunk={"outbound": ROUTE}, phone=phones))
    lab.register_all()
    return lab


def ringing(lab, user):
    ua = lab.phones[user]
    return [c for c in ua.calls.values() if c.state == "incoming"]


def test_the_numbers_ring_in_turn_each_for_its_seconds_and_the_first_answer_takes_it():
    lab = lab_of(["a3", "a4"])
    call = dial(lab, "a2")
    incoming(lab.phones["a2"])
    lab.run(5)  # a2's own ring time is over: a3 rings, a2 no more
    assert not ringing(lab, "a2") and ringing(lab, "a3") and not ringing(lab, "a4")
    assert state(lab, "a2") == "ready" and state(lab, "a3") == "not_ready"
    lab.run(5)
    assert not ringing(lab, "a3") and ringing(lab, "a4")
    assert state(lab, "a3") == "ready"
    far = incoming(lab.phones["a4"])
    lab.do(lab.phones["a4"], "answer", far.id)
    lab.run(1)
    assert kinds(lab.phones["a1"].take_events()) == ["ringing", "answered"]
    assert forwarded(lab) == [("a2", "a3", "follow_me"), ("a2", "a4", "follow_me")]
    assert sum(isinstance(r, ExtensionCallAnswered) for r in lab.log) == 1
    lab.do(lab.phones["a1"], "hangup", call)
    lab.run(1)
    assert ended(lab) == ["caller_hangup"]
    assert {state(lab, a) for a in ("a1", "a2", "a3", "a4")} == {"ready"}
    assert lab.box.legs.empty


def test_a_number_that_refuses_is_out_at_once_and_nobody_answering_gives_480():
    lab = lab_of(["a3", "a4"])
    call = dial(lab, "a2")
    lab.run(5)
    lab.do(lab.phones["a3"], "reject", incoming(lab.phones["a3"]).id, 603, "Decline")
    lab.run(1)
    assert ringing(lab, "a4")
    lab.run(5)
    assert lab.phones["a1"].calls[call].status == 480
    assert ended(lab) == ["no_answer"]
    assert {state(lab, a) for a in ("a1", "a2", "a3", "a4")} == {"ready"}
    assert lab.box.legs.empty


def test_a_phone_not_registered_is_followed_at_once_and_the_outside_number_comes_last():
    lab = lab_of(["a3", "90301234567"])
    lab.phones["a2"].register(lab.net.now, expires=0)
    lab.net.poke(lab.phones["a2"].local)
    lab.run(1)
    dial(lab, "a2")
    assert ringing(lab, "a3")
    lab.run(5)
    far = next(c for c in lab.gateway.calls.values() if c.state == "incoming")
    assert far.invite.uri.startswith("sip:0301234567@")
    lab.do(lab.gateway, "answer", far.id)
    lab.run(1)
    assert "answered" in kinds(lab.phones["a1"].take_events())
    assert forwarded(lab) == [("a2", "a3", "follow_me"), ("a2", "90301234567", "follow_me")]
    started = next(r for r in lab.log if isinstance(r, OutsideCallStarted))
    assert (started.placed_by, started.purpose) == ("a2", "forwarded")
    assert ended(lab) == ["forwarded"]


def test_the_phones_own_no_answer_forwarding_wins_over_follow_me():
    lab = lab_of(["a3"], forward={"no_answer": "a4", "no_answer_after": 5})
    dial(lab, "a2")
    lab.run(5)
    assert ringing(lab, "a4") and not ringing(lab, "a3")
    assert forwarded(lab) == [("a2", "a4", "no_answer")]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(["wait", "answer", "refuse", "caller_hangup"]), max_size=6),
       st.booleans())
def test_whatever_the_numbers_do_one_answer_at_most_and_everyone_is_given_back(
        steps, outside):
    """Over random answers, refusals, waits and hang-ups, a followed call is answered once
    at most, nobody rings once it is over, and every phone's pause is given back."""
    lab = lab_of(["a3", "a4", *(["90301234567"] if outside else [])])
    call = dial(lab, "a2")
    for step in steps:
        rung = [(user, c) for user in ("a2", "a3", "a4") for c in ringing(lab, user)]
        if step == "caller_hangup":
            lab.do(lab.phones["a1"], "hangup", call)
        elif step in ("answer", "refuse") and rung:
            user, far = rung[0]
            lab.do(lab.phones[user], *(("answer", far.id) if step == "answer"
                                       else ("reject", far.id, 603, "Decline")))
        lab.run(1 if step != "wait" else 5)
    lab.do(lab.phones["a1"], "hangup", call)
    for far in lab.gateway.calls.values():
        if far.state == "incoming":
            lab.do(lab.gateway, "reject", far.id, 486, "Busy Here")
    lab.run(40)
    assert sum(isinstance(r, ExtensionCallAnswered) for r in lab.log) <= 1
    assert not any(ringing(lab, user) for user in ("a2", "a3", "a4"))
    assert {state(lab, a) for a in ("a1", "a2", "a3", "a4")} == {"ready"}
    assert lab.box.legs.empty and lab.box.extensions.calls == {}
