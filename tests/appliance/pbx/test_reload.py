"""A new configuration applied to call control while calls are up: each section in turn."""

from __future__ import annotations

from typing import Any

import yaml

from appliance.config import Site, parse_site
from appliance.events import AgentState, CallEnded, EndCause, RingNoAnswer
from appliance.pbx.actions import HangUpCaller, RingAgent
from tests.appliance.pbx.test_callcontrol import Harness
from tests.factories import site_dict

READY, NOT_READY, LOGGED_OUT = AgentState.READY, AgentState.NOT_READY, AgentState.LOGGED_OUT


def site(data: dict[str, Any]) -> Site:
    return parse_site(yaml.safe_dump(data), source="<test>")


def with_agents(data: dict[str, Any], skills: dict[str, dict[str, int]]) -> dict[str, Any]:
    data["agents"] = [{"id": agent, "skills": levels} for agent, levels in skills.items()]
    return data


# --- queues ---------------------------------------------------------------------------------


def test_a_new_ring_timeout_applies_to_rings_started_after_the_reload() -> None:
    h = Harness(agents=2, strategy="linear", ring_timeout=10)
    first = h.cc.offer_call(0.0, "pstn")
    h.cc.reload(site(site_dict(agents=2, strategy="linear", ring_timeout=30)), 1.0)
    second = h.cc.offer_call(2.0, "pstn")
    h.at(10.0)  # the first ring keeps its 10 s
    assert [r.call for r in h.records(RingNoAnswer)] == [first]
    h.at(31.9)
    assert [r.call for r in h.records(RingNoAnswer)] == [first]
    h.at(32.0)  # the second rang from t=2 for the new 30 s
    assert [r.call for r in h.records(RingNoAnswer)] == [first, second]


def test_a_new_strategy_picks_the_agent_of_the_next_call() -> None:
    h = Harness(agents=3, strategy="linear")
    first = h.cc.offer_call(0.0, "pstn")
    h.cc.agent_answer(1.0, "a1", first)
    h.cc.agent_hangup(5.0, "a1")
    h.actions()
    h.cc.reload(site(site_dict(agents=3, strategy="longest_idle")), 6.0)
    second = h.cc.offer_call(7.0, "pstn")  # linear would ring a1 again
    assert h.actions() == [RingAgent(second, "a2", "service")]


def test_a_queue_switched_to_ring_all_lets_free_agents_join_a_call_ringing_in_it() -> None:
    h = Harness(agents=2, strategy="linear")
    h.cc.agent_not_ready(0.0, "a2", "break")
    call = h.cc.offer_call(0.0, "pstn")
    h.actions()
    h.cc.reload(site(site_dict(agents=2, strategy="ring_all")), 1.0)
    h.cc.agent_ready(2.0, "a2")
    assert h.actions() == [RingAgent(call, "a2", "service")]


def test_a_queue_switched_from_ring_all_keeps_the_rings_going_and_takes_the_call_back() -> None:
    h = Harness(agents=2, strategy="ring_all", ring_timeout=10)
    call = h.cc.offer_call(0.0, "pstn")
    h.cc.reload(site(site_dict(agents=2, strategy="linear", ring_timeout=10)), 1.0)
    assert {m.agent.id for m in h.cc.calls[call].ringing} == {"a1", "a2"}
    assert h.cc.agent_answer(3.0, "a2", call)
    assert h.state("a1") is READY


def test_max_wait_and_capacity_apply_to_calls_queued_after_the_reload() -> None:
    h = Harness(agents=1)
    h.cc.agent_not_ready(0.0, "a1", "break")
    before = h.cc.offer_call(0.0, "pstn")
    h.cc.reload(site(site_dict(agents=1, queue={
        "max_wait": 30, "on_max_wait": {"action": "voicemail"}, "capacity": 2})), 1.0)
    after = h.cc.offer_call(2.0, "pstn")
    full = h.cc.offer_call(3.0, "pstn")  # the third caller: over the new capacity
    assert HangUpCaller(full, EndCause.BUSY) in h.actions()
    h.at(100.0)
    ended = {r.call: r.cause for r in h.records(CallEnded)}
    assert ended == {full: EndCause.BUSY, after: EndCause.VOICEMAIL}
    assert before in h.cc.calls


def test_a_new_queue_takes_calls_routed_to_it() -> None:
    h = Harness(agents=1)
    data = site_dict(agents=1, extra_queues=[{"name": "sales"}],
                     routes=[{"trunk_group": "pstn", "dnis": "200", "queue": "sales"}])
    h.cc.reload(site(data), 1.0)
    call = h.cc.offer_call(2.0, "pstn", dnis="200")
    assert h.actions() == [RingAgent(call, "a1", "sales")]


def test_a_queue_removed_from_the_file_serves_the_calls_still_in_it() -> None:
    data = site_dict(agents=1, extra_queues=[{"name": "sales"}],
                     routes=[{"trunk_group": "pstn", "dnis": "200", "queue": "sales"}])
    h = Harness(agents=1, extra_queues=[{"name": "sales"}],
                routes=[{"trunk_group": "pstn", "dnis": "200", "queue": "sales"}])
    h.cc.agent_not_ready(0.0, "a1", "break")
    waiting = h.cc.offer_call(0.0, "pstn", dnis="200")
    data["queues"] = data["queues"][:1]
    data["routes"] = data["routes"][1:]
    data["agents"][0]["skills"] = {"service": 5}
    h.cc.reload(site(data), 1.0)
    assert not h.cc.acd.live_queue("sales")
    h.cc.agent_ready(2.0, "a1")
    assert h.actions()[-1] == RingAgent(waiting, "a1", "sales")
    assert h.cc.agent_answer(3.0, "a1", waiting)
    assert not h.cc.agent_transfer(4.0, "a1", "sales")  # no new call goes there
    assert h.cc.agent_hangup(5.0, "a1")
    routed = h.cc.offer_call(6.0, "pstn", dnis="200")  # now takes the default route
    assert h.actions()[-1] == RingAgent(routed, "a1", "service")


def test_autopause_changes_apply_to_the_next_failure() -> None:
    h = Harness(agents=2, strategy="linear")
    call = h.cc.offer_call(0.0, "pstn")
    h.cc.reload(site(site_dict(agents=2, strategy="linear",
                               queue={"autopause": "on_any_failure"})), 0.5)
    h.cc.agent_decline(1.0, "a1", call, "busy")
    assert h.state("a1") is NOT_READY


# --- agents and skills --------------------------------------------------------------------


def test_an_agent_added_to_the_file_can_log_in_and_take_calls() -> None:
    h = Harness(agents=1)
    h.cc.reload(site(site_dict(agents=2)), 1.0)
    assert h.cc.agent_login(2.0, "a2")
    h.cc.agent_not_ready(2.0, "a1", "break")
    call = h.cc.offer_call(3.0, "pstn")
    assert h.actions()[-1] == RingAgent(call, "a2", "service")


def test_an_agent_removed_while_idle_is_logged_out_and_forgotten() -> None:
    h = Harness(agents=2)
    h.cc.reload(site(site_dict(agents=1)), 1.0)
    assert "a2" not in h.cc.acd.agents
    assert not h.cc.agent_login(2.0, "a2")
    assert not h.cc.agent_hangup(2.0, "a2")
    call = h.cc.offer_call(3.0, "pstn")
    assert h.actions()[-1] == RingAgent(call, "a1", "service")


def test_the_call_of_a_removed_ringing_agent_is_not_offered_to_another_leaving_one() -> None:
    """A reload removing a2 (ringing call 2) and a3 (free) gives call 2 back to the queue:
    it waits for a1, and is never rung on a3, who is leaving too (found by the ACD's
    property test)."""
    h = Harness(agents=3, strategy="cyclic")
    first, second = h.cc.offer_call(0.0, "pstn"), h.cc.offer_call(0.0, "pstn")
    assert [(a.call, a.agent) for a in h.actions() if isinstance(a, RingAgent)] == [
        (first, "a1"), (second, "a2")]
    h.cc.reload(site(site_dict(agents=1, strategy="ring_all")), 0.0)
    assert not [a for a in h.actions() if isinstance(a, RingAgent)]
    assert "a2" not in h.cc.acd.agents and "a3" not in h.cc.acd.agents
    assert h.state("a1") is AgentState.RINGING


def test_an_agent_removed_during_a_call_finishes_it_then_is_logged_out() -> None:
    h = Harness(agents=2, strategy="linear", wrap_up=10)
    call = h.cc.offer_call(0.0, "pstn")
    h.cc.agent_answer(1.0, "a1", call)
    h.cc.reload(site(with_agents(site_dict(agents=1, wrap_up=10), {"a2": {"service": 5}})), 2.0)
    assert h.state("a1") is AgentState.TALKING
    assert not h.cc.agent_ready(3.0, "a1")  # the log-out after the call stands
    assert h.cc.agent_hold(3.0, "a1") and h.cc.agent_resume(4.0, "a1")
    assert h.cc.agent_hangup(5.0, "a1")
    assert h.state("a1") is AgentState.WRAP_UP
    h.at(15.0)
    assert "a1" not in h.cc.acd.agents
    assert [q.name for q in h.cc.acd.queues.values()
            if any(m.agent.id == "a1" for m in q.members)] == []


def test_an_agent_removed_while_ringing_sends_the_call_to_another() -> None:
    h = Harness(agents=2, strategy="linear")
    call = h.cc.offer_call(0.0, "pstn")
    h.actions()
    h.cc.reload(site(with_agents(site_dict(agents=1), {"a2": {"service": 5}})), 1.0)
    assert "a1" not in h.cc.acd.agents
    assert RingAgent(call, "a2", "service") in h.actions()


def test_a_skill_gained_takes_a_waiting_call_at_once() -> None:
    queues = {"extra_queues": [{"name": "sales"}],
              "routes": [{"trunk_group": "pstn", "dnis": "200", "queue": "sales"}]}
    start = with_agents(site_dict(agents=2, **queues),
                        {"a1": {"service": 5, "sales": 5}, "a2": {"service": 5}})
    h = Harness(agents=2, **queues)
    h.cc.reload(site(start), 0.0)
    h.cc.agent_not_ready(0.0, "a1", "break")
    call = h.cc.offer_call(0.0, "pstn", dnis="200")
    assert h.actions() == []  # a2 does not serve sales yet
    data = with_agents(site_dict(agents=2, **queues),
                       {"a1": {"service": 5, "sales": 5}, "a2": {"service": 5, "sales": 3}})
    h.cc.reload(site(data), 1.0)
    assert h.actions() == [RingAgent(call, "a2", "sales")]


def test_a_skill_lost_is_not_rung_for_that_queue_any_more() -> None:
    queues = {"extra_queues": [{"name": "sales"}],
              "routes": [{"trunk_group": "pstn", "dnis": "200", "queue": "sales"}]}
    h = Harness(agents=2, **queues)
    data = with_agents(site_dict(agents=2, **queues),
                       {"a1": {"service": 5}, "a2": {"service": 5, "sales": 3}})
    h.cc.reload(site(data), 1.0)
    call = h.cc.offer_call(2.0, "pstn", dnis="200")
    assert h.actions() == [RingAgent(call, "a2", "sales")]
    assert [m.level for m in h.cc.acd.queues["sales"].members] == [3]


# --- routes and trunk groups ----------------------------------------------------------------


def test_a_new_route_sends_new_calls_elsewhere() -> None:
    h = Harness(agents=1, extra_queues=[{"name": "sales"}])
    data = site_dict(agents=1, extra_queues=[{"name": "sales"}])
    data["routes"] = [{"trunk_group": "pstn", "queue": "sales"}]
    h.cc.reload(site(data), 1.0)
    call = h.cc.offer_call(2.0, "pstn")
    assert h.actions() == [RingAgent(call, "a1", "sales")]


def test_fewer_trunk_channels_block_new_calls_and_leave_calls_up() -> None:
    h = Harness(agents=2, trunks=3)
    up = [h.cc.offer_call(0.0, "pstn") for _ in range(2)]
    h.cc.reload(site(site_dict(agents=2, trunks=1)), 1.0)
    blocked = h.cc.offer_call(2.0, "pstn")
    assert HangUpCaller(blocked, EndCause.BLOCKED) in h.actions()
    assert all(call in h.cc.calls for call in up)
    h.cc.caller_hangup(3.0, up[0])
    h.cc.caller_hangup(3.0, up[1])
    assert h.cc.offer_call(4.0, "pstn") in h.cc.calls


def test_a_trunk_group_removed_keeps_its_calls_and_takes_no_new_one() -> None:
    h = Harness(agents=1)
    data = site_dict(agents=1)
    data["trunk_groups"].append({"name": "isdn", "kind": "sip", "channels": 4})
    data["routes"].append({"trunk_group": "isdn", "queue": "service"})
    h.cc.reload(site(data), 0.0)
    call = h.cc.offer_call(1.0, "isdn")
    h.cc.reload(site(site_dict(agents=1)), 2.0)
    assert call in h.cc.calls
    refused = h.cc.offer_call(3.0, "isdn")
    assert HangUpCaller(refused, EndCause.BLOCKED) in h.actions()
    assert h.cc.caller_hangup(4.0, call)
    assert "isdn" not in h.cc.trunks.busy
