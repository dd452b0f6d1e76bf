"""Call park as call control carries it out, driven by inputs alone."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.events import (
    CallAnswered,
    CallEnded,
    CallParked,
    CallQueued,
    EndCause,
    ParkPickedUp,
    ParkTimedOut,
)
from appliance.pbx.actions import Connect, HangUpAgent, RingAgent
from tests.appliance.pbx.test_callcontrol import Harness


def talking(h: Harness, agent: str = "a1") -> int:
    """A call answered by `agent` (the only one ready) at t=0."""
    for other in h.cc.acd.agents:
        if other != agent:
            h.cc.agent_not_ready(h.now, other, "lunch")
    call = h.cc.offer_call(h.now, "pstn", "5551234")
    assert h.cc.agent_answer(h.now, agent, call)
    for other in h.cc.acd.agents:
        if other != agent:
            h.cc.agent_ready(h.now, other)
    h.actions()
    return call


def test_a_parked_call_waits_in_the_first_slot_and_another_phone_picks_it_up() -> None:
    h = Harness(agents=2)
    call = talking(h)
    assert h.cc.agent_park(1.0, "a1") == 701
    assert h.actions() == [HangUpAgent(call, "a1")]
    assert h.records(CallParked) == [CallParked(1.0, call, "a1", 701, "service")]
    assert h.cc.park_pick_up(5.0, 702, "a2") is None  # an empty slot
    assert h.cc.park_pick_up(5.0, 701, "a2") == call
    assert h.actions() == [RingAgent(call, "a2", "agent:a2"), Connect(call, "a2")]
    assert h.records(ParkPickedUp) == [ParkPickedUp(5.0, call, 701, "a2")]
    assert h.records(CallAnswered)[-1].agent == "a2"
    h.at(100.0)  # the park timeout was stopped by the pickup
    assert h.records(ParkTimedOut) == []


def test_nobody_picks_up_the_parker_is_rung_back_then_the_queue_takes_it() -> None:
    h = Harness(agents=2, ring_timeout=15)
    call = talking(h)
    h.cc.agent_park(0.0, "a1")
    h.cc.agent_not_ready(0.0, "a2", "lunch")
    h.actions()
    h.at(45.0)
    assert h.records(ParkTimedOut) == [ParkTimedOut(45.0, call, 701, "parker", "service")]
    assert h.actions() == [RingAgent(call, "a1", "agent:a1")]
    h.at(60.0)  # the parker's ring times out: back to the queue it came from, which may
    # offer it to anyone ready (the parker too)
    assert h.records(CallQueued)[-1].queue == "service"
    assert h.actions()[-1] == RingAgent(call, "a1", "service")
    assert h.cc.agent_answer(62.0, "a1", call)
    assert h.records(CallEnded) == []


def test_the_parker_answers_the_ring_back() -> None:
    h = Harness(agents=1)
    call = talking(h)
    h.cc.agent_park(0.0, "a1")
    h.at(45.0)
    assert h.cc.agent_answer(46.0, "a1", call)
    assert h.cc.calls[call].parked is None


def test_a_busy_parker_is_not_rung_back_the_call_goes_to_its_queue() -> None:
    h = Harness(agents=2)
    call = talking(h)
    h.cc.agent_park(0.0, "a1")
    talking(h, "a1")  # a1 busy with a new call at 45 s
    h.at(45.0)
    assert h.records(ParkTimedOut)[-1] == ParkTimedOut(45.0, call, 701, "queue", "service")


def test_the_caller_hanging_up_frees_the_slot() -> None:
    h = Harness(agents=2)
    call = talking(h)
    h.cc.agent_park(0.0, "a1")
    assert h.cc.caller_hangup(3.0, call)
    assert h.records(CallEnded) == [CallEnded(3.0, call, EndCause.CALLER_HANGUP)]
    assert h.cc.parking.lot.parked(701) is None
    h.at(100.0)
    assert h.records(ParkTimedOut) == []


def test_an_agent_without_a_call_parks_nothing() -> None:
    h = Harness(agents=1)
    assert h.cc.agent_park(0.0, "a1") is None
    assert h.records(CallParked) == []


_STEP = st.one_of(
    st.tuples(st.just("call"), st.sampled_from(["a1", "a2", "a3"])),
    st.tuples(st.just("park"), st.sampled_from(["a1", "a2", "a3"])),
    st.tuples(st.just("pick"), st.integers(701, 703), st.sampled_from(["a1", "a2", "a3"])),
    st.tuples(st.just("hang_up"), st.integers(1, 12)),
    st.tuples(st.just("answer"), st.sampled_from(["a1", "a2", "a3"])),
    st.tuples(st.just("wait"), st.floats(0.0, 50.0)),
)


@settings(max_examples=150, deadline=None)
@given(steps=st.lists(_STEP, max_size=40))
def test_no_parked_call_is_lost(steps: list[tuple]) -> None:
    """Whatever the parks, pickups, hang-ups, answers and timeouts, a parked call is picked
    up, rung back or queued again, or hung up by its caller; never ended unserved, and no
    slot ever holds two calls."""
    h = Harness(agents=3, ring_timeout=10)
    for step in steps:
        if step[0] == "call":
            h.cc.offer_call(h.now, "pstn", "1")
        elif step[0] == "park":
            h.cc.agent_park(h.now, step[1])
        elif step[0] == "pick":
            h.cc.park_pick_up(h.now, step[1], step[2])
        elif step[0] == "hang_up":
            h.cc.caller_hangup(h.now, step[1])
        elif step[0] == "answer":
            status = h.cc.agent_status(step[1])
            h.cc.agent_answer(h.now, step[1], status.call)
        else:
            h.at(h.now + step[1])
        h.actions()
        slots = [c.parked.slot for c in h.cc.calls.values() if c.parked is not None
                 and c.state.name == "PARKED"]
        assert len(slots) == len(set(slots)) == len(h.cc.parking.lot)
    h.at(h.now + 10_000.0)
    parked = {r.call for r in h.records(CallParked)}
    ended = {r.call: r.cause for r in h.records(CallEnded)}
    assert all(ended.get(c) is not EndCause.AGENT_UNREACHABLE for c in parked)
    for call in parked - set(ended):
        assert h.cc.calls[call].state.name in {"QUEUED", "TALKING", "HELD"}
    assert len(h.cc.parking.lot) == 0
