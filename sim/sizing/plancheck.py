"""A shift plan for the sized day, and the simulation that checks it: the day's traffic
against the plan's agents, who come and go, take breaks and lunch as planned. The check says
for each interval whether the simulated service level meets the target, and where not."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from appliance.config import Site, parse_site
from appliance.config.schema import format_time_of_day
from appliance.kpi.replications import FigureSummary, summarize_values
from sim.experiment import Experiment, run_replications
from sim.sizing.inputs import SizingInputs
from sim.sizing.schedule import FULL_TIME, PART_TIME, ShiftPlan, ShiftPlanError, plan_shifts
from sim.sizing.simulate import QUEUE, interval_site


@dataclass(frozen=True)
class IntervalCheck:
    label: str
    required: int
    planned: int  # the fewest agents at work at any moment of the interval
    service_level: FigureSummary

    def meets(self, target: float) -> bool:
        return self.service_level.mean is not None and self.service_level.mean >= target


def plan_day(inputs: SizingInputs, required: Sequence[int]) -> ShiftPlan:
    """Eight-hour shifts where they can cover the day; where they cannot (a day shorter than
    a shift, say), four-hour shifts as well. Raises ShiftPlanError if neither can."""
    try:
        return plan_shifts(list(required), inputs.interval_minutes, inputs.day_start)
    except ShiftPlanError:
        return plan_shifts(list(required), inputs.interval_minutes, inputs.day_start,
                           (FULL_TIME, PART_TIME))


def day_site(inputs: SizingInputs, plan: ShiftPlan) -> Site:
    """The sized day's traffic (the agents' share of it) with the plan's agents."""
    one = interval_site(inputs, inputs.calls_per_hour[0], 1).model_dump(mode="json")
    one["traffic"].update(
        start=format_time_of_day(inputs.day_start), interval_minutes=inputs.interval_minutes,
        calls_per_hour=[rate * (1.0 - inputs.ivr_share) for rate in inputs.calls_per_hour])
    one["agents"] = plan.agent_entries({QUEUE: 5})
    return parse_site(yaml.safe_dump(one), source="<shift plan>")


def check_plan(inputs: SizingInputs, plan: ShiftPlan, replications: int = 10, seed: int = 1,
               workers: int | None = None) -> list[IntervalCheck]:
    """Simulate the day `replications` times; each interval's service level with its 95 %
    interval, for the calls offered in it."""
    site = day_site(inputs, plan)
    hours = len(inputs.calls_per_hour) * inputs.interval_minutes / 60.0
    reports = run_replications(Experiment(site, hours, seed), replications, workers)
    checks = []
    for index, required in enumerate(plan.required):
        levels = [report.intervals[index].queues[QUEUE].service_level for report in reports
                  if index < len(report.intervals)]
        checks.append(IntervalCheck(
            label=inputs.interval_label(index), required=required,
            planned=plan.min_coverage[index],
            service_level=summarize_values([v for v in levels if v is not None])))
    return checks


def plan_dict(inputs: SizingInputs, plan: ShiftPlan,
              checks: Sequence[IntervalCheck] | None) -> dict[str, Any]:
    """The plan as the report and `--json` show it."""
    return {
        "labels": [inputs.interval_label(i) for i in range(len(plan.required))],
        "required": list(plan.required),
        "planned": [round(c, 3) for c in plan.coverage],  # mean agents present
        "min_planned": list(plan.min_coverage),  # fewest present at any moment
        "agents": plan.agents,
        "paid_hours": plan.paid_hours,
        "paid_hours_with_shrinkage": plan.paid_hours / (1.0 - inputs.shrinkage),
        "status": plan.status,
        "shifts": [{"start": format_time_of_day(s.start), "end": format_time_of_day(s.end),
                    "count": s.count, "template": s.template,
                    "breaks": [{"start": format_time_of_day(b.start), "minutes": b.duration / 60,
                                "reason": b.reason} for b in s.breaks]}
                   for s in plan.shifts],
        "check": None if checks is None else [
            {"interval": c.label, "required": c.required, "planned": c.planned,
             "service_level": c.service_level.to_dict(), "meets": c.meets(inputs.sl_target)}
            for c in checks],
    }
