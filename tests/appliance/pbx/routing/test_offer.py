"""Routing through call control: each destination's records and the caller's hang-up."""

from __future__ import annotations

from datetime import datetime
from random import Random

import pytest

from appliance.eventlog import EventLog
from appliance.events import (
    AgentState,
    CallAnswered,
    CallBlocked,
    CallEnded,
    CallOffered,
    CallQueued,
    EndCause,
)
from appliance.pbx.acd.core import direct_target
from appliance.pbx.actions import AnswerCaller, Connect, HangUpCaller, PlayPrompts, RingAgent
from appliance.pbx.b2bua.wire import REFUSALS
from appliance.pbx.callcontrol import CallControl
from appliance.reduce import CallState, Outcome, outcome_of
from tests.appliance.pbx.routing.sites import at, build, clock, site_data, tenants

TUESDAY = datetime(2026, 9, 29)


def control(site=None) -> tuple[CallControl, EventLog]:
    log = EventLog()
    cc = CallControl(site or tenants(), log, Random(1), wallclock=clock())
    for agent in cc.site.expanded_agents():
        cc.agent_login(0.0, agent.id)
    cc.take_actions()
    log.records.clear()
    return cc, log


@pytest.mark.parametrize(("ani", "dnis", "hour", "cause"), [
    ("4001234567", "4008001000", 10, EndCause.BLACKLISTED),
    ("02155556666", "4008001001", 20, EndCause.VOICEMAIL),
    ("02155556666", "4008002001", 22, EndCause.AGENT_UNREACHABLE),  # the nurse logged out
    ("02155556666", "4008003000", 10, EndCause.NO_ROUTE),
])
def test_a_call_routed_away_ends_at_once_with_its_cause(ani, dnis, hour, cause) -> None:
    cc, log = control()
    cc.agent_logout(0.0, "2009")
    log.records.clear()
    now = at(TUESDAY.replace(hour=hour))
    call = cc.offer_call(now, "carrier", ani, dnis)
    assert cc.take_actions() == [HangUpCaller(call, cause)]
    assert log.records == [CallOffered(now, call, "carrier", ani, dnis, 1),
                           CallEnded(now, call, cause)]
    assert cc.calls == {} and cc.trunks.busy["carrier"] == 0  # its channel is free again
    assert cause in REFUSALS  # the B2BUA has a SIP status for it


def test_after_hours_the_nurse_on_duty_is_rung_and_answers_like_a_queue_call() -> None:
    cc, log = control()
    now = at(TUESDAY.replace(hour=22))  # after_hours: {agent: "2009"}
    call = cc.offer_call(now, "carrier", "02155556666", "4008002001")
    assert cc.take_actions() == [RingAgent(call, "2009", direct_target("2009"))]
    assert cc.agent_answer(now + 5, "2009", call)
    assert cc.take_actions() == [Connect(call, "2009")]
    assert log.records[-2] == CallAnswered(now + 5, call, direct_target("2009"), "2009", 5.0)
    cc.caller_hangup(now + 65, call)
    assert log.records[-1] == CallEnded(now + 65, call, EndCause.CALLER_HANGUP)
    assert cc.agent_status("2009").state in (AgentState.WRAP_UP, AgentState.READY)


def test_a_closed_call_hears_its_prompt_then_is_hung_up() -> None:
    cc, log = control()
    now = at(TUESDAY.replace(hour=20))  # travel sales is closed: after_hours {prompt: closed}
    call = cc.offer_call(now, "carrier", "02155556666", "4008001000")
    assert cc.take_actions() == [AnswerCaller(call), PlayPrompts(call, ("closed",), "en", False)]
    assert cc.next_deadline() == now + 1.0  # the prompt's length: a second, by default
    cc.caller_digit(now + 0.5, call, "1")  # keys do not cut it short
    cc.on_deadline(now + 1.0)
    assert cc.take_actions() == [HangUpCaller(call, EndCause.CLOSED)]
    assert log.records == [CallOffered(now, call, "carrier", "02155556666", "4008001000", 1),
                           CallEnded(now + 1.0, call, EndCause.CLOSED)]
    assert cc.calls == {} and cc.trunks.busy["carrier"] == 0
    assert cc.next_deadline() is None


def test_a_closed_prompt_lasts_as_long_as_the_prompt_plays() -> None:
    log = EventLog()
    cc = CallControl(tenants(), log, Random(1), wallclock=clock(),
                     prompt_seconds=lambda names, language: 4.5 * len(names))
    now = at(TUESDAY.replace(hour=20))
    cc.offer_call(now, "carrier", "02155556666", "4008001000")
    assert cc.next_deadline() == now + 4.5


def test_a_caller_who_hangs_up_during_the_closed_prompt_ends_the_call_closed() -> None:
    cc, log = control()
    now = at(TUESDAY.replace(hour=20))
    call = cc.offer_call(now, "carrier", "02155556666", "4008001000")
    cc.take_actions()
    assert cc.caller_hangup(now + 0.5, call)
    assert cc.take_actions() == []  # the caller is gone already: no HangUpCaller
    assert log.records[-1] == CallEnded(now + 0.5, call, EndCause.CLOSED)
    assert cc.calls == {} and cc.trunks.busy["carrier"] == 0
    assert cc.next_deadline() is None  # the prompt's timer went with it
    assert not cc.caller_hangup(now + 0.6, call)


def test_blacklisted_calls_are_not_trunk_blocking() -> None:
    cc, log = control()
    cc.offer_call(0.0, "carrier", "0085299123", "4008001000")
    assert not [r for r in log.records if isinstance(r, CallBlocked)]
    assert REFUSALS[EndCause.BLACKLISTED] == (486, "Busy Here")


def test_routed_away_causes_have_outcomes_of_their_own_in_the_figures() -> None:
    offered = CallOffered(0.0, 1, "carrier", "", "", 1)
    for cause in (EndCause.BLACKLISTED, EndCause.CLOSED, EndCause.AGENT_UNREACHABLE):
        assert outcome_of(CallState(offered), cause) is Outcome(cause.value)


def test_a_routed_queue_call_queues_with_the_caller_list_priority() -> None:
    cc, log = control()
    now = at(TUESDAY.replace(hour=10))
    gold = cc.offer_call(now, "carrier", "13800138000", "4008001000")
    plain = cc.offer_call(now, "carrier", "02155556666", "4008001000")
    queued = [r for r in log.records if isinstance(r, CallQueued)]
    assert [(r.call, r.queue, r.priority) for r in queued] == [
        (gold, "travel-sales", 10), (plain, "travel-sales", 0)]
    assert any(isinstance(a, RingAgent) and a.call == gold for a in cc.take_actions())


def test_analog_line_reaches_its_tenant_and_old_callers_still_work() -> None:
    cc, log = control()
    first = cc.offer_call(0.0, "lines", "02155556666", "", line="1")
    second = cc.offer_call(0.0, "lines", "02155556666")  # no line: the catch-all route
    queued = {r.call: r.queue for r in log.records if isinstance(r, CallQueued)}
    assert queued == {first: "clinic-desk", second: "travel-care"}


def test_a_schedule_changes_its_answer_during_the_day_and_on_reload() -> None:
    routes = [{"trunk_group": "carrier", "schedule": "office", "queue": "sales",
               "after_hours": {"prompt": "closed"}}]
    cc, log = control(build(routes, schedules={"office": {"mon-fri": "08:30-12:00"}}))
    cc.offer_call(at(TUESDAY.replace(hour=11)), "carrier")
    cc.offer_call(at(TUESDAY.replace(hour=13)), "carrier")
    cc.on_deadline(at(TUESDAY.replace(hour=13)) + 1.0)  # the closed prompt has played
    longer = site_data(routes, schedules={"office": {"mon-fri": "08:30-18:00"}})
    cc.reload(build(longer["routes"], schedules=longer["schedules"]), 0.0)
    cc.offer_call(at(TUESDAY.replace(hour=13)), "carrier")
    ends = [r.cause for r in log.records if isinstance(r, CallEnded)]
    queued = [r.call for r in log.records if isinstance(r, CallQueued)]
    assert ends == [EndCause.CLOSED] and queued == [1, 3]


def test_a_site_with_schedules_needs_a_wall_clock() -> None:
    with pytest.raises(ValueError, match="wall clock"):
        CallControl(tenants(), EventLog(), Random(1))
