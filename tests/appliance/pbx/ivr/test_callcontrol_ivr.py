"""Call control with an IVR stage: a route sends the call to a flow, the caller is answered
and walks it with digits, and the flow's exit queues the call (with its variables and
priority) or ends it with the cause that says how."""

from __future__ import annotations

from datetime import datetime
from random import Random
from typing import Any

import pytest
import yaml

from appliance.config import parse_site
from appliance.eventlog import EventLog
from appliance.events import CallEnded, CallQueued, EndCause, IvrExited, IvrExitKind
from appliance.pbx.acd.core import direct_target
from appliance.pbx.actions import (
    AnswerCaller,
    Connect,
    HangUpCaller,
    LeaveIvr,
    LookUp,
    PlayPrompts,
    RingAgent,
)
from appliance.pbx.callcontrol import CallControl
from appliance.wallclock import from_origin
from tests.factories import site_dict

PROMPTS = {"menu": {"en": "For sales press 1, for your balance press 2."},
           "bye": {"en": "Goodbye."}}
FLOW = {
    "name": "main", "start": "menu", "nodes": [
        {"name": "menu", "kind": "play_option", "prompts": "menu", "timeout": 5, "retries": 1,
         "options": {"1": "sales", "2": "find", "3": "closed", "4": "nurse"}, "default": "service"},
        {"name": "find", "kind": "access_db", "lookup": "crm", "key": "${ANI}",
         "into": {"balance": "balance"}, "found": "done", "not_found": "service",
         "failed": "service"},
        {"name": "done", "kind": "stop_flow", "prompts": "bye"},
        {"name": "closed", "kind": "hang_up", "prompts": "bye"},
        {"name": "sales", "kind": "to_queue", "queue": "sales", "priority": 7},
        {"name": "service", "kind": "to_queue", "queue": "service"},
        {"name": "nurse", "kind": "to_agent", "agent": "a1"},
    ],
}


def ivr_site() -> Any:
    data = site_dict(agents=1, extra_queues=[{"name": "sales", "skill": "sales"}],
                     agent_skills={"service": 5, "sales": 5})
    data["routes"] = [{"trunk_group": "pstn", "flow": "main"}]
    data["ivr"] = {"variables": ["balance"], "prompts": PROMPTS,
                   "lookups": {"crm": {"kind": "sqlite", "database": "crm.db",
                                       "table": "customers", "key": "phone",
                                       "fields": ["balance"]}},
                   "flows": [FLOW]}
    return parse_site(yaml.safe_dump(data), source="<test>")


def control() -> tuple[CallControl, EventLog]:
    log = EventLog()
    cc = CallControl(ivr_site(), log, Random(1),
                     wallclock=from_origin(datetime(2026, 12, 7, 10, 0)),
                     prompt_seconds=lambda names, language: 2.0 * len(names))
    cc.agent_login(0.0, "a1")
    cc.take_actions()
    return cc, log


def test_the_caller_is_answered_hears_the_menu_and_a_key_queues_them_with_priority() -> None:
    cc, log = control()
    call = cc.offer_call(1.0, "pstn", "13800000000", "100")
    assert cc.take_actions() == [AnswerCaller(call), PlayPrompts(call, ("menu",), "en", True)]
    cc.caller_digit(2.0, call, "1")  # barge-in: the menu is cut short
    actions = cc.take_actions()
    # Drivers hear that the caller now waits in a queue (its welcome and music), then the ring.
    assert [type(a).__name__ for a in actions] == ["StopPrompts", "LeaveIvr", "RingAgent"]
    assert actions[1] == LeaveIvr(call, IvrExitKind.QUEUE, "sales", 7, "en", {"balance": ""})
    assert actions[2] == RingAgent(call, "a1", "sales")
    [queued] = [r for r in log if isinstance(r, CallQueued)]
    assert (queued.queue, cc.calls[call].priority) == ("sales", 7)


def test_an_exit_to_an_agent_rings_them_and_the_caller_waits_as_if_queued() -> None:
    cc, log = control()
    call = cc.offer_call(1.0, "pstn", "13800000000", "100")
    cc.take_actions()
    cc.caller_digit(2.0, call, "4")
    actions = cc.take_actions()
    assert [type(a).__name__ for a in actions] == ["StopPrompts", "RingAgent", "LeaveIvr"]
    assert actions[1] == RingAgent(call, "a1", direct_target("a1"))
    assert actions[2].kind is IvrExitKind.AGENT and actions[2].target == "a1"
    assert cc.agent_answer(3.0, "a1", call)
    assert cc.take_actions() == [Connect(call, "a1")]
    assert [r.queue for r in log if isinstance(r, CallQueued)] == [direct_target("a1")]


def test_an_exit_to_an_agent_who_is_not_ready_ends_the_call_unreachable() -> None:
    cc, log = control()
    cc.agent_not_ready(0.5, "a1", "break")
    call = cc.offer_call(1.0, "pstn", "13800000000", "100")
    cc.take_actions()
    cc.caller_digit(2.0, call, "4")
    assert cc.take_actions()[1:] == [HangUpCaller(call, EndCause.AGENT_UNREACHABLE)]
    assert [r.cause for r in log if isinstance(r, CallEnded)] == [EndCause.AGENT_UNREACHABLE]
    assert call not in cc.calls and cc.trunks.busy["pstn"] == 0


def test_self_service_ends_the_call_in_the_ivr_after_the_goodbye() -> None:
    cc, log = control()
    call = cc.offer_call(1.0, "pstn", "13800000000", "100")
    cc.take_actions()
    cc.caller_digit(2.0, call, "2")
    assert LookUp(call, "crm", "13800000000") in cc.take_actions()
    cc.lookup_done(2.5, call, {"balance": "12.30"})
    assert cc.take_actions() == [PlayPrompts(call, ("bye",), "en", False)]  # heard out
    cc.on_deadline(4.5)
    assert cc.take_actions() == [HangUpCaller(call, EndCause.IVR_COMPLETED)]
    [exited] = [r for r in log if isinstance(r, IvrExited)]
    assert exited.variables == {"balance": "12.30"}
    assert [r.cause for r in log if isinstance(r, CallEnded)] == [EndCause.IVR_COMPLETED]
    assert call not in cc.calls


@pytest.mark.parametrize(("key", "cause"), [("3", EndCause.IVR_HANG_UP)])
def test_a_flow_that_hangs_up_ends_the_call_with_its_own_cause(key: str,
                                                               cause: EndCause) -> None:
    cc, _ = control()
    call = cc.offer_call(1.0, "pstn", "13800000000", "100")
    cc.caller_digit(2.0, call, key)
    cc.on_deadline(10.0)
    assert HangUpCaller(call, cause) in cc.take_actions()


def test_hanging_up_in_the_ivr_is_an_ivr_abandon_and_frees_the_trunk() -> None:
    cc, log = control()
    call = cc.offer_call(1.0, "pstn", "13800000000", "100")
    assert cc.caller_hangup(1.5, call)
    assert [r.cause for r in log if isinstance(r, CallEnded)] == [EndCause.IVR_ABANDONED]
    assert cc.trunks.busy["pstn"] == 0
    cc.on_deadline(100.0)  # the menu's timers are gone with the call
    assert [a for a in cc.take_actions() if not isinstance(a, AnswerCaller | PlayPrompts)] == []


def test_silence_takes_the_default_branch_after_the_retries() -> None:
    cc, log = control()
    cc.offer_call(1.0, "pstn", "13800000000", "100")
    for t in range(2, 40):
        cc.on_deadline(float(t))
    assert [r.queue for r in log if isinstance(r, CallQueued)] == ["service"]


def test_a_site_with_flows_needs_a_wall_clock() -> None:
    with pytest.raises(ValueError, match="wall clock"):
        CallControl(ivr_site(), EventLog(), Random(1))
