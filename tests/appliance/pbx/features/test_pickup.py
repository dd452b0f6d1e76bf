"""Call pickup as call control carries it out: which call a pickup code means, and how the
picker takes it from the agents it rings."""

from __future__ import annotations

from random import Random

import yaml

from appliance.config import parse_site
from appliance.eventlog import EventLog
from appliance.events import AgentState, CallAnswered, CallPickedUp, RingNoAnswer
from appliance.pbx.actions import Connect, RingAgent, StopRinging
from appliance.pbx.callcontrol import CallControl
from tests.appliance.pbx.test_callcontrol import Harness
from tests.factories import site_dict


def test_group_pickup_takes_the_oldest_ringing_call_and_stops_its_ring() -> None:
    h = Harness(agents=3, strategy="linear")
    first = h.cc.offer_call(0.0, "pstn", "5551234")
    second = h.cc.offer_call(1.0, "pstn", "5551235")
    h.actions()
    assert h.cc.pickup_target("a3", None) == first
    assert h.cc.agent_pick_up(2.0, "a3", first, directed=False)
    assert h.actions() == [RingAgent(first, "a3", "service"), Connect(first, "a3"),
                           StopRinging(first, "a1")]
    assert h.records(CallPickedUp) == [CallPickedUp(2.0, first, "a3", "a1", False)]
    assert h.records(CallAnswered)[-1].agent == "a3"
    assert h.records(RingNoAnswer) == []
    assert h.state("a1") is AgentState.READY
    assert h.cc.pickup_target("a1", "a2") == second  # directed: the call ringing a2


def test_a_ring_all_call_picked_up_by_an_agent_in_wrap_up_stops_every_ring() -> None:
    h = Harness(agents=3, strategy="ring_all", wrap_up=30)
    earlier = h.cc.offer_call(0.0, "pstn", "5551234")
    assert h.cc.agent_answer(0.0, "a3", earlier)
    assert h.cc.agent_hangup(1.0, "a3")  # a3 wraps up until t=31
    call = h.cc.offer_call(2.0, "pstn", "5551235")
    h.actions()
    assert h.cc.pickup_target("a3", None) == call
    assert h.cc.agent_pick_up(3.0, "a3", call, directed=False)  # the wrap-up ends
    assert h.actions() == [RingAgent(call, "a3", "service"), Connect(call, "a3"),
                           StopRinging(call, "a1"), StopRinging(call, "a2")]
    assert h.records(CallPickedUp)[-1].ringing == "a1,a2"
    assert h.state("a3") is AgentState.TALKING
    assert not h.cc.agent_pick_up(4.0, "a1", call, directed=False)  # rung no more


def test_nobody_else_ringing_or_a_picker_not_free_changes_nothing() -> None:
    h = Harness(agents=2, strategy="linear")
    assert h.cc.pickup_target("a2", None) is None
    call = h.cc.offer_call(0.0, "pstn", "5551234")
    h.cc.agent_not_ready(0.0, "a2", "lunch")
    h.actions()
    assert not h.cc.agent_pick_up(1.0, "a2", call, directed=True)
    assert h.actions() == [] and h.records(CallPickedUp) == []
    assert h.state("a1") is AgentState.RINGING


def test_group_pickup_is_limited_to_the_pickers_queues() -> None:
    data = site_dict(agents=2, extra_queues=[{"name": "sales", "strategy": "linear"}])
    data["agents"] = [{"id": "a1", "skills": {"service": 5}},
                      {"id": "a2", "skills": {"sales": 5}}]
    cc = CallControl(parse_site(yaml.safe_dump(data), source="<test>"), EventLog(), Random(7))
    for agent in ("a1", "a2"):
        cc.agent_login(0.0, agent)
    call = cc.offer_call(0.0, "pstn", "5551234")  # rings a1, of service
    assert cc.pickup_target("a2", None) is None
    assert cc.pickup_target("a2", "a1") == call  # a directed pickup names the phone
