"""A call's hunt through a ring group on its own: who rings when, and that whatever the members
and the caller do, a hunt ends exactly once - in one answer, the fallback or given up."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from appliance.pbx.features.ringgroup import Fallback, Hunt, Ring, StopRinging

MEMBERS = ["1001", "1002", "1003"]


def hunt(strategy="all", away=()):
    return Hunt(MEMBERS, strategy, 20.0, lambda member, now: member not in away)


def test_all_rings_everyone_who_can_and_the_first_answer_stops_the_others() -> None:
    h = hunt("all", away={"1002"})
    assert h.start(0.0) == [Ring("1001"), Ring("1003")]
    assert h.deadline == 20.0
    assert h.answer("1003") == [StopRinging("1001")]
    assert (h.answered, h.over, h.deadline) == ("1003", True, None)
    assert h.answer("1001") is None  # too late: hang it up


def test_all_falls_back_when_time_is_up_or_everyone_refused() -> None:
    h = hunt("all")
    h.start(0.0)
    assert h.time_up(19.0) == []
    assert h.time_up(20.0) == [StopRinging(m) for m in MEMBERS] + [Fallback()]
    h = hunt("all")
    h.start(0.0)
    assert h.refuse("1001", 1.0) == [] and h.refuse("1002", 2.0) == []
    assert h.refuse("1003", 3.0) == [Fallback()]
    assert h.over and h.answered is None


def test_in_turn_rings_one_after_another_skipping_those_who_cannot() -> None:
    h = hunt("in_turn", away={"1002"})
    assert h.start(0.0) == [Ring("1001")]
    assert h.time_up(20.0) == [StopRinging("1001"), Ring("1003")]
    assert h.deadline == 40.0
    assert h.refuse("1003", 25.0) == [Fallback()]


def test_nobody_who_can_take_a_call_is_the_fallback_at_once() -> None:
    assert hunt("in_turn", away=set(MEMBERS)).start(0.0) == [Fallback()]
    assert hunt("all", away=set(MEMBERS)).start(0.0) == [Fallback()]


def test_the_caller_giving_up_stops_whoever_rings() -> None:
    h = hunt("in_turn")
    h.start(0.0)
    assert h.give_up() == [StopRinging("1001")]
    assert h.time_up(20.0) == [] and h.refuse("1001", 21.0) == []


ACTIONS = st.lists(st.tuples(st.sampled_from(["answer", "refuse", "time_up", "give_up"]),
                             st.sampled_from(MEMBERS)), max_size=20)


def act(h: Hunt, action: str, member: str, now: float) -> tuple[list, bool]:
    """Carry out one action: its effects, and whether an answer was taken."""
    if action == "answer":
        taken = h.answer(member)
        return taken or [], taken is not None
    if action == "refuse":
        return h.refuse(member, now), False
    return (h.time_up(now) if action == "time_up" else h.give_up()), False


@given(st.sampled_from(["all", "in_turn"]), st.sets(st.sampled_from(MEMBERS)), ACTIONS)
def test_a_hunt_ends_exactly_once_and_only_rung_members_are_stopped_or_answer(
        strategy, away, actions) -> None:
    h = hunt(strategy, away)
    now, rung, done, ends = 0.0, set(), set(), 0
    effects = h.start(now)
    for action, member in [("", ""), *actions]:
        if action:
            now = h.deadline if action == "time_up" and h.deadline is not None else now + 1.0
            was_ringing = member in h.ringing
            effects, taken = act(h, action, member, now)
            ends += taken
            if was_ringing and action in ("answer", "refuse"):
                done.add(member)
        for effect in effects:
            if isinstance(effect, Ring):
                assert effect.member not in away and effect.member not in rung
                rung.add(effect.member)
            elif isinstance(effect, StopRinging):
                assert effect.member in rung and effect.member not in done
                done.add(effect.member)
            else:
                ends += 1
        assert ends <= 1  # one answer or one fallback, never both, never twice
        assert set(h.ringing) == rung - done
        assert h.over == (h.deadline is None) == (not h.ringing)
        assert strategy == "all" or len(h.ringing) <= 1
    assert h.over or ends == 0
