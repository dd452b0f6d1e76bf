"""Shift plans: coverage, minimal paid hours, options, errors, and site agents from a plan."""

from __future__ import annotations

import itertools
import math
import random

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from appliance.config import parse_site
from sim.agents.schedule import plan_agent
from sim.sizing.schedule import (
    DEFAULT_TEMPLATES,
    FULL_TIME,
    PART_TIME,
    BreakRule,
    ShiftPlan,
    ShiftPlanError,
    ShiftTemplate,
    plan_shifts,
)
from tests.factories import site_dict

HOUR = 3600
TWO_PEAKS = [4, 8, 14, 22, 30, 34, 32, 26, 20, 18, 22, 30, 38, 44, 40, 32, 26, 20, 16, 12,
             10, 8, 6, 4]  # 07:00-19:00 in half hours


def check_coverage(plan: ShiftPlan) -> None:
    assert plan.status == "optimal"
    assert all(low >= need for low, need in zip(plan.min_coverage, plan.required, strict=True))
    assert all(mean >= low for mean, low in zip(plan.coverage, plan.min_coverage, strict=True))
    assert all(s >= 0 for s in plan.surplus)
    assert plan.paid_hours == sum(s.count * s.paid_hours for s in plan.shifts)


# --- minimal paid hours ----------------------------------------------------------------------


@pytest.mark.parametrize("agents", [1, 3, 10, 25])
def test_flat_day_pays_the_lower_bound(agents: int) -> None:
    # Eight hours open, so every shift starts at opening. In each 2-hour window every agent is
    # away for one 15-min slot (breaks) or two (lunch) of the window's 8, and at most
    # (shifts - agents) may be away at once: 8 (shifts - agents) >= 2 shifts.
    plan = plan_shifts([agents] * 16, 30, 8 * HOUR)
    check_coverage(plan)
    shifts = math.ceil(4 * agents / 3)
    assert plan.agents == shifts
    assert plan.paid_hours == 8 * shifts
    assert plan.lower_bound == pytest.approx(plan.paid_hours)
    assert plan.gap == pytest.approx(0)
    assert {s.start for s in plan.shifts} == {8 * HOUR}


def explicit_patterns_optimum(required: list[int], templates: tuple[ShiftTemplate, ...]) -> float:
    """The set-covering model spelt out: one integer per (start, break placement) pattern,
    coverage on 15-minute slots of 30-minute intervals."""
    slots = 2 * len(required)
    columns, cost = [], []
    for template in templates:
        length = template.minutes // 15
        choices = [range(b.earliest // 15, (b.latest_end - b.minutes) // 15 + 1)
                   for b in template.breaks]
        for start in range(0, slots - length + 1, 2):
            for placement in itertools.product(*choices):
                column = np.zeros(slots)
                column[start:start + length] = 1
                for offset, rule in zip(placement, template.breaks, strict=True):
                    column[start + offset:start + offset + rule.minutes // 15] = 0
                columns.append(column)
                cost.append(template.paid_hours)
    need = np.repeat(required, 2)
    result = milp(c=cost, integrality=np.ones(len(cost)), bounds=Bounds(0, np.inf),
                  constraints=LinearConstraint(np.array(columns).T, need, np.inf))
    assert result.status == 0
    return float(result.fun)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("templates", [DEFAULT_TEMPLATES, (FULL_TIME, PART_TIME)],
                         ids=["full-time", "with-part-time"])
def test_same_optimum_as_one_variable_per_pattern(
    seed: int, templates: tuple[ShiftTemplate, ...]
) -> None:
    rng = random.Random(seed)
    required = [rng.randint(0, 9) for _ in range(20)]  # 10 hours
    plan = plan_shifts(required, 30, 8 * HOUR, templates)
    check_coverage(plan)
    assert plan.paid_hours == pytest.approx(explicit_patterns_optimum(required, templates))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 15), min_size=16, max_size=24),
       st.sampled_from([DEFAULT_TEMPLATES, (FULL_TIME, PART_TIME)]))
def test_every_interval_is_covered(required: list[int], templates: tuple[ShiftTemplate, ...]
                                   ) -> None:
    plan = plan_shifts(required, 30, 7 * HOUR, templates)
    check_coverage(plan)
    for shift in plan.shifts:
        assert shift.start >= 7 * HOUR and shift.end <= 7 * HOUR + len(required) * 1800
        assert (shift.start - 7 * HOUR) % 1800 == 0


def test_a_15_minute_break_is_half_an_interval_away() -> None:
    plan = plan_shifts([1] * 16, 30, 8 * HOUR)
    assert plan.agents == 2
    breaks = [b for s in plan.shifts for b in s.breaks for _ in range(s.count)]
    assert sorted(b.duration for b in breaks) == [900] * 4 + [1800] * 2
    # 16 intervals x 2 agents, less 4 quarter-hour breaks and 2 half-hour lunches
    assert sum(plan.coverage) == pytest.approx(32 - 4 * 0.5 - 2 * 1)


def test_breaks_fall_in_their_windows() -> None:
    plan = plan_shifts(TWO_PEAKS, 30, 7 * HOUR)
    for shift in plan.shifts:
        assert len(shift.breaks) == 3
        for taken, rule in zip(shift.breaks, FULL_TIME.breaks, strict=True):
            offset = (taken.start - shift.start) / 60
            assert rule.earliest <= offset <= rule.latest_end - rule.minutes
            assert taken.duration == rule.minutes * 60
            assert taken.reason == rule.reason


# --- shapes of the day -----------------------------------------------------------------------


def test_a_peaked_day_gets_staggered_starts() -> None:
    plan = plan_shifts(TWO_PEAKS, 30, 7 * HOUR)
    check_coverage(plan)
    starts = sorted({s.start for s in plan.shifts})
    assert len(starts) >= 4
    assert starts[0] == 7 * HOUR and starts[-1] == 11 * HOUR  # someone must open and close
    two_starts = plan_shifts(TWO_PEAKS, 30, 7 * HOUR, max_start_times=2)
    check_coverage(two_starts)
    assert len({s.start for s in two_starts.shifts}) == 2
    assert two_starts.paid_hours > plan.paid_hours


def test_part_time_shifts_cost_their_own_hours() -> None:
    full = plan_shifts(TWO_PEAKS, 30, 7 * HOUR)
    mixed = plan_shifts(TWO_PEAKS, 30, 7 * HOUR, (FULL_TIME, PART_TIME))
    check_coverage(mixed)
    assert mixed.paid_hours < full.paid_hours
    assert {s.template for s in mixed.shifts} == {"full-time", "part-time"}
    for shift in mixed.shifts:
        if shift.template == "part-time":
            assert (shift.length, shift.paid_hours, len(shift.breaks)) == (4 * HOUR, 4, 1)


def test_the_part_time_share_is_bounded() -> None:
    none = plan_shifts(TWO_PEAKS, 30, 7 * HOUR, (FULL_TIME, PART_TIME), part_time_share=(0, 0))
    assert none.paid_hours == plan_shifts(TWO_PEAKS, 30, 7 * HOUR).paid_hours
    capped = plan_shifts(TWO_PEAKS, 30, 7 * HOUR, (FULL_TIME, PART_TIME),
                         part_time_share=(0, 0.25))
    check_coverage(capped)
    part = sum(s.count for s in capped.shifts if s.template == "part-time")
    assert 0 < part <= 0.25 * capped.agents


def test_unpaid_lunch_is_not_paid() -> None:
    unpaid = ShiftTemplate("unpaid-lunch", 480, FULL_TIME.breaks, paid_minutes=450)
    plan = plan_shifts([4] * 16, 30, 8 * HOUR, (unpaid,))
    assert plan.paid_hours == plan.agents * 7.5


def test_a_twelve_hour_day_up_to_60_agents_is_solved_to_optimality() -> None:
    required = [round(8 + 52 * math.exp(-(((i - 9) / 6) ** 2))) for i in range(24)]
    assert max(required) == 60
    plan = plan_shifts(required, 30, 7 * HOUR, (FULL_TIME, PART_TIME))
    check_coverage(plan)
    assert plan.gap == pytest.approx(0)


# --- errors ----------------------------------------------------------------------------------


def test_a_requirement_outside_opening_hours_is_an_error() -> None:
    required = [3] + [10] * 20 + [0] * 3  # 07:00-19:00; open 07:30-18:00
    with pytest.raises(ShiftPlanError, match=r"07:00-07:30 \(3 agents\)") as caught:
        plan_shifts(required, 30, 7 * HOUR, opening=(7.5 * HOUR, 18 * HOUR))
    assert caught.value.intervals == (0,)


def test_a_day_shorter_than_every_shift_is_an_error() -> None:
    with pytest.raises(ShiftPlanError, match="no shift template can cover") as caught:
        plan_shifts([5] * 12, 30, 9 * HOUR)  # six hours
    assert caught.value.intervals == tuple(range(12))


def test_a_slot_every_shift_must_spend_on_a_break_is_an_error() -> None:
    fixed = ShiftTemplate("fixed", 480, (BreakRule(60, 0, 60),))
    with pytest.raises(ShiftPlanError, match=r"08:00-08:30 .*08:30-09:00") as caught:
        plan_shifts([2] * 16, 30, 8 * HOUR, (fixed,))
    assert caught.value.intervals == (0, 1)


@pytest.mark.parametrize("template", [
    dict(name="late", minutes=480, breaks=(BreakRule(15, 470, 490),)),
    dict(name="overlap", minutes=480, breaks=(BreakRule(15, 60, 180), BreakRule(15, 170, 240))),
    dict(name="tight", minutes=480, breaks=(BreakRule(30, 60, 80),)),
])
def test_break_windows_must_fit(template: dict) -> None:
    with pytest.raises(ValueError, match="break window"):
        ShiftTemplate(**template)


@pytest.mark.parametrize("required", [[], [1, -1], [1.5], [1] * 49])
def test_requirements_are_checked(required: list) -> None:
    with pytest.raises(ValueError, match="expected"):
        plan_shifts(required, 30, 8 * HOUR)


# --- site agents -----------------------------------------------------------------------------


def plan_site(plan: ShiftPlan):
    data = site_dict()
    data["agents"] = plan.agent_entries({"service": 5}, first_id=1001)
    data["traffic"] = {
        "start": "07:00",
        "calls_per_hour": 60,
        "call_types": [{"name": "general", "trunk_group": "pstn",
                        "talk_time": {"dist": "exponential", "mean": 120}}],
    }
    return parse_site(yaml.safe_dump(data), source="<plan>")


def test_agent_entries_validate_and_say_what_the_plan_says() -> None:
    plan = plan_shifts(TWO_PEAKS, 30, 7 * HOUR, (FULL_TIME, PART_TIME))
    site = plan_site(plan)
    agents = site.expanded_agents()
    assert [a.id for a in agents] == [str(n) for n in range(1001, 1001 + plan.agents)]
    assert len(site.agents) == len(plan.shifts)
    planned = [shift for shift in plan.shifts for _ in range(shift.count)]
    for agent, shift in zip(agents, planned, strict=True):
        assert (agent.shift.start, agent.shift.end) == (shift.start, shift.end)
        assert [(b.start, b.duration, b.reason) for b in agent.breaks] == list(shift.breaks)
        assert dict(agent.skills) == {"service": 5}


def test_single_seats_get_a_single_id() -> None:
    plan = plan_shifts([1] * 16, 30, 8 * HOUR)
    entries = plan.agent_entries({"service": 3}, first_id=7)
    assert [e["id"] for e in entries] == (["7", "8"] if len(entries) == 2 else ["7-8"])
    assert entries[0]["shift"] == {"start": "08:00", "end": "16:00"}
    assert {b["reason"] for e in entries for b in e["breaks"]} == {"break", "lunch"}


def test_the_simulator_staffs_the_day_as_planned() -> None:
    plan = plan_shifts(TWO_PEAKS, 30, 7 * HOUR, (FULL_TIME, PART_TIME))
    agents = plan_site(plan).expanded_agents()
    day = 12 * HOUR
    at_work = np.zeros(48)  # quarter hours from 07:00
    for agent in agents:
        state = np.zeros(48)
        logged_in, paused = False, False
        steps = plan_agent(agent, 7 * HOUR, day)
        for step, following in zip(steps, [*steps[1:], None], strict=True):
            logged_in = {"login": True, "logout": False}.get(step.kind, logged_in)
            paused = {"pause": True, "unpause": False}.get(step.kind, paused)
            until = day if following is None else following.at
            state[int(step.at // 900):int(until // 900)] = logged_in and not paused
        at_work += state
    halves = at_work.reshape(24, 2)
    assert tuple(halves.mean(axis=1)) == pytest.approx(plan.coverage)
    assert tuple(halves.min(axis=1)) == plan.min_coverage
