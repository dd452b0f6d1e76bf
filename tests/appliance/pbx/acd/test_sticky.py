"""Sticky agent: a repeat caller is offered first to the agent who served them last."""

from __future__ import annotations

from random import Random

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.config import parse_site
from appliance.events import (
    AgentRung,
    AgentState,
    AgentStateChanged,
    CallAbandoned,
    StickyOffered,
)
from appliance.pbx.acd.sticky import HOUR, StickyMemory
from appliance.pbx.actions import RingAgent
from appliance.records.cdr import CdrBuilder
from tests.appliance.pbx.test_callcontrol import Harness
from tests.factories import site_dict

ANI = "5550001"
STICKY = {"remember_hours": 1, "wait": 15}


def center(sticky: dict | None = STICKY, **site) -> Harness:
    """Three agents of queue `service` (longest idle, ring timeout 10 s, no wrap-up)."""
    queue = {"sticky": sticky} if sticky is not None else {}
    return Harness(agents=3, ring_timeout=10, queue=queue, **site)


def served_by(h: Harness, agent: str, t: float, ani: str = ANI, talk: float = 60.0) -> int:
    """``agent`` (the others paused meanwhile) answers a call from ``ani`` at ``t``."""
    others = [a for a in ("a1", "a2", "a3") if a != agent]
    for other in others:
        h.cc.agent_not_ready(t, other, "hold_off")
    call = h.cc.offer_call(t, "pstn", ani)
    assert h.cc.agent_answer(t, agent, call)
    h.cc.agent_hangup(t + talk, agent)
    for other in others:
        h.cc.agent_ready(t + talk, other)
    h.at(t + talk)
    h.actions()
    return call


def rung(h: Harness, call: int) -> list[str]:
    return [r.agent for r in h.records(AgentRung) if r.call == call]


def test_a_ready_last_agent_is_rung_first_not_the_longest_idle() -> None:
    h = center()
    served_by(h, "a2", 0.0)
    call = h.cc.offer_call(100.0, "pstn", ANI)
    assert h.actions() == [RingAgent(call, "a2", "service")]
    assert h.records(StickyOffered) == [StickyOffered(100.0, call, "service", "a2", 0.0)]


def test_a_busy_last_agent_gets_the_call_when_free_within_the_wait() -> None:
    h = center()
    served_by(h, "a2", 0.0)
    h.cc.agent_not_ready(100.0, "a1", "x")
    h.cc.agent_not_ready(100.0, "a3", "x")
    other = h.cc.offer_call(100.0, "pstn", "5559999")
    assert h.cc.agent_answer(100.0, "a2", other)
    h.cc.agent_ready(100.0, "a1")
    h.cc.agent_ready(100.0, "a3")
    h.actions()
    call = h.cc.offer_call(110.0, "pstn", ANI)  # a1 and a3 are free, a2 talks
    assert h.actions() == []
    assert h.records(StickyOffered)[-1] == StickyOffered(110.0, call, "service", "a2", 15.0)
    h.at(120.0)
    assert h.cc.agent_hangup(120.0, "a2")
    assert h.actions()[-1] == RingAgent(call, "a2", "service")
    assert rung(h, call) == ["a2"]
    h.at(200.0)  # the wait's end passed long ago: nothing more happens to it


def test_after_the_wait_the_call_goes_to_everyone() -> None:
    h = center()
    served_by(h, "a2", 0.0)
    h.cc.agent_not_ready(100.0, "a2", "lunch")
    h.cc.offer_call(100.0, "pstn", ANI)
    assert h.actions() == []
    h.at(114.9)
    assert h.actions() == []
    h.at(115.0)
    assert [a.agent for a in h.actions()] in (["a1"], ["a3"])


def test_a_ring_not_taken_by_the_last_agent_goes_to_the_others() -> None:
    h = center()
    served_by(h, "a2", 0.0)
    call = h.cc.offer_call(100.0, "pstn", ANI)
    h.actions()
    h.at(110.0)  # ring timeout: a2 is paused (autopause on no answer)
    assert rung(h, call)[0] == "a2" and rung(h, call)[1] in ("a1", "a3")
    assert h.state("a2") is AgentState.NOT_READY


def test_no_offer_when_the_agent_is_logged_out_or_forgotten_or_unskilled_or_off() -> None:
    cases = {
        "logged_out": lambda h: h.cc.agent_logout(100.0, "a2"),
        "forgotten": lambda h: h.at(HOUR + 1.0),
        "no_wait": lambda h: h.cc.agent_not_ready(100.0, "a2", "lunch"),
    }
    for name, change in cases.items():
        h = center({"remember_hours": 1, "wait": 0})
        served_by(h, "a2", 0.0)
        change(h)
        h.actions()
        t = max(h.now, 100.0)
        call = h.cc.offer_call(t, "pstn", ANI)
        assert h.records(StickyOffered) == [], name
        assert rung(h, call) and rung(h, call)[0] != "a2", name
    h = center(sticky=None)
    served_by(h, "a2", 0.0)
    call = h.cc.offer_call(100.0, "pstn", ANI)
    assert h.records(StickyOffered) == [] and rung(h, call) == ["a1"]


def test_an_agent_without_the_queue_s_skill_is_not_waited_for() -> None:
    billing = {"name": "billing", "ring_timeout": 10, "sticky": STICKY}
    routes = [{"trunk_group": "pstn", "dnis": "2", "queue": "billing"}]
    h = center(extra_queues=[billing], routes=routes)
    served_by(h, "a2", 0.0)
    data = site_dict(agents=3, ring_timeout=10, queue={"sticky": STICKY},
                     extra_queues=[billing], routes=routes)
    data["agents"][1]["skills"] = {"service": 5}  # a2 no longer serves billing
    h.cc.reload(parse_site(yaml.safe_dump(data), source="<test>"), 50.0)
    call = h.cc.offer_call(100.0, "pstn", ANI, "2")
    assert h.records(StickyOffered) == [] and rung(h, call) == ["a1"]


def test_an_abandon_while_waiting_frees_nobody_s_phone() -> None:
    h = center()
    served_by(h, "a2", 0.0)
    h.cc.agent_not_ready(100.0, "a2", "lunch")
    call = h.cc.offer_call(100.0, "pstn", ANI)
    h.cc.caller_hangup(105.0, call)
    assert [r.call for r in h.records(CallAbandoned)] == [call]
    h.cc.agent_ready(106.0, "a2")
    h.at(200.0)
    assert h.actions() == [] and rung(h, call) == []


def test_a_log_out_while_the_call_waits_sends_it_to_the_others_at_once() -> None:
    h = center()
    served_by(h, "a2", 0.0)
    h.cc.agent_not_ready(100.0, "a2", "lunch")
    call = h.cc.offer_call(100.0, "pstn", ANI)
    h.actions()
    h.cc.agent_logout(103.0, "a2")
    assert rung(h, call) in (["a1"], ["a3"])
    assert h.records(AgentRung)[-1].t == 103.0


def test_a_transfer_into_a_sticky_queue_does_not_wait_for_the_transferring_agent() -> None:
    h = center()
    call = h.cc.offer_call(0.0, "pstn", ANI)
    first = rung(h, call)[0]
    assert h.cc.agent_answer(0.0, first, call)
    assert h.cc.agent_transfer(30.0, first, "service")
    assert h.records(StickyOffered) == []
    assert len(rung(h, call)) == 2 and rung(h, call)[1] != first


def test_the_memory_survives_a_reload() -> None:
    h = center()
    served_by(h, "a2", 0.0)
    data = site_dict(agents=3, ring_timeout=10, queue={"sticky": {"wait": 5}})
    h.cc.reload(parse_site(yaml.safe_dump(data), source="<test>"), 50.0)
    call = h.cc.offer_call(100.0, "pstn", ANI)
    assert rung(h, call) == ["a2"]


def test_the_detail_record_names_the_agent_offered_first() -> None:
    h = center()
    served_by(h, "a2", 0.0)
    call = h.cc.offer_call(100.0, "pstn", ANI)
    h.cc.agent_answer(101.0, "a2", call)
    h.cc.agent_hangup(150.0, "a2")
    builder = CdrBuilder()
    details = {d.call: d for d in map(builder.feed, h.log.records) if d is not None}
    assert details[call].sticky_agent == "a2" and details[call].agent == "a2"
    assert details[1].sticky_agent is None


# --- the memory -------------------------------------------------------------------


def test_the_memory_forgets_by_age_and_beyond_its_capacity() -> None:
    memory = StickyMemory(keep=100.0, capacity=2)
    memory.remember("1", "a1", 0.0)
    memory.remember("2", "a2", 10.0)
    memory.remember("1", "a3", 20.0)  # refreshed: now the newest
    memory.remember("3", "a1", 30.0)  # over capacity: "2", the oldest, goes
    assert memory.last_agent("2", 30.0, 100.0) is None
    assert memory.last_agent("1", 30.0, 100.0) == "a3"
    assert memory.last_agent("1", 30.0, 5.0) is None  # older than this queue remembers
    memory.remember("4", "a1", 125.0)  # "1" (20) is beyond keep
    assert len(memory) == 2 and memory.last_agent("1", 125.0, 1e9) is None


def test_withheld_numbers_are_not_remembered_and_off_remembers_nothing() -> None:
    memory = StickyMemory(keep=100.0)
    memory.remember("anonymous", "a1", 0.0)
    memory.remember("", "a1", 0.0)
    assert len(memory) == 0
    off = StickyMemory()
    off.remember("1", "a1", 0.0)
    assert len(off) == 0


# --- properties ---------------------------------------------------------------------

# Calls, answers and hang-ups weigh most: a caller must be served before they can stick.
OPS = st.lists(
    st.tuples(
        st.sampled_from(["call", "call", "answer", "answer", "answer", "hangup", "hangup",
                         "pause", "ready", "ready", "logout", "login", "abandon", "wait"]),
        st.integers(0, 2),  # agent / caller index
        st.floats(0.0, 8.0),  # time step
    ),
    min_size=10,
    max_size=80,
)


@settings(max_examples=150, deadline=None)
@given(ops=OPS, ring_all=st.booleans(), wait=st.sampled_from([0.0, 5.0, 15.0]))
def test_no_call_waits_for_its_agent_beyond_the_wait_nor_rings_two_agents(
    ops, ring_all, wait
) -> None:
    h = center({"remember_hours": 1, "wait": wait},
               strategy="ring_all" if ring_all else "longest_idle")
    agents, rng, calls = ["a1", "a2", "a3"], Random(1), []
    t = 0.0
    for op, index, step in ops:
        t += step
        h.at(t)
        agent = agents[index]
        if op == "call":
            calls.append(h.cc.offer_call(t, "pstn", f"555000{index}"))
        elif op == "answer" and h.cc.acd.agents[agent].call:
            h.cc.agent_answer(t, agent, h.cc.acd.agents[agent].call)
        elif op == "hangup":
            h.cc.agent_hangup(t, agent)
        elif op == "pause":
            h.cc.agent_not_ready(t, agent, "break")
        elif op == "ready":
            h.cc.agent_ready(t, agent)
        elif op == "logout":
            h.cc.agent_logout(t, agent)
        elif op == "login":
            h.cc.agent_login(t, agent)
        elif op == "abandon" and calls:
            h.cc.caller_hangup(t, rng.choice(calls))
        h.actions()
        _check(h, t, wait)


def _check(h: Harness, t: float, wait: float) -> None:
    offered = {r.call: r for r in h.records(StickyOffered)}
    for call in h.cc.calls.values():
        offer = offered.get(call.id)
        if call.sticky_timer is not None:  # waits for its agent alone
            assert offer is not None and t <= offer.t + offer.wait == offer.t + wait
            assert not call.ringing
        if call.sticky is not None and call.ringing:
            assert [m.agent.id for m in call.ringing] == [offer.agent]
        if not h.cc.acd.queues["service"].ring_all:
            assert len(call.ringing) <= 1
    for offer in offered.values():
        others = [r for r in h.records(AgentRung)
                  if r.call == offer.call and r.agent != offer.agent and r.t < offer.t + offer.wait]
        first_own = next((r.t for r in h.records(AgentRung)
                          if r.call == offer.call and r.agent == offer.agent), None)
        # Others are rung within the wait only after the agent's own ring failed or they
        # logged out (a log-out ends the wait at once).
        assert all(first_own is not None or _logged_out(h, offer.agent, r.t) for r in others)


def _logged_out(h: Harness, agent: str, t: float) -> bool:
    return any(r.agent == agent and r.state is AgentState.LOGGED_OUT and r.t <= t
               for r in h.records(AgentStateChanged))
