"""The shift plan a report shows: its shape, its checks, and the plan from `sim.sizing.schedule`.

A plan is JSON-ready data::

    {
      "labels": ["08:00-08:30", ...],   # one per interval, "HH:MM-HH:MM" (as sizing labels them)
      "required": [3, 4, ...],          # agents the plan had to cover, per interval
      "planned": [3.5, 4.0, ...],       # mean agents present per interval (breaks taken out)
      "min_planned": [3, 4, ...],       # optional: fewest present at any moment of the interval
      "paid_hours": 96.0,               # paid hours of all shifts
      "status": "optimal",              # optional: how the solver ended
      "shifts": [                       # `count` agents on the same shift and breaks
        {"start": "08:00", "end": "16:00", "count": 3,
         "template": "full-time",       # optional
         "paid_hours": 8.0,             # optional: per agent
         "breaks": [{"start": "10:00", "minutes": 15, "reason": "break"}, ...]},
        ...
      ]
    }

Times are "HH:MM" of the planned day; labels and breaks as in a site file's `agents:` entries.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from appliance.config.schema import format_time_of_day

if TYPE_CHECKING:
    from sim.sizing.schedule import ShiftPlan

_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")


class PlanError(ValueError):
    """A plan dict of the wrong shape; the message names the field."""


def clock_minutes(text: str) -> int:
    """`"08:30"` -> 510."""
    match = _CLOCK.fullmatch(text.strip())
    if match is None or int(match[1]) > 24 or int(match[2]) > 59:
        raise PlanError(f"expected a time of day like 08:00; got {text!r}")
    return int(match[1]) * 60 + int(match[2])


def label_edges(labels: list[str]) -> list[float]:
    """Interval edges in hours from "HH:MM-HH:MM" labels, rising past 24 over midnight:
    len(labels) + 1 values."""
    edges: list[float] = []
    for label in labels:
        start, sep, end = label.partition("-")
        if not sep:
            raise PlanError(f"labels: expected intervals like 08:00-08:30; got {label!r}")
        first, last = clock_minutes(start), clock_minutes(end)
        while edges and first / 60 < edges[-1] - 1e-9:
            first += 1440
        while last <= first:
            last += 1440
        if edges and abs(edges[-1] - first / 60) > 1e-9:
            raise PlanError(f"labels: expected each interval to start where the one before "
                            f"ends; got {label!r} after {edges[-1]:g} h")
        if not edges:
            edges.append(first / 60)
        edges.append(last / 60)
    return edges


def check_plan(plan: dict[str, Any]) -> dict[str, Any]:
    """The plan, checked: raises PlanError naming the first field that is wrong."""
    for field in ("labels", "required", "planned", "paid_hours", "shifts"):
        if field not in plan:
            raise PlanError(f"plan: expected a {field!r} field")
    count = len(plan["labels"])
    for field in ("required", "planned", "min_planned"):
        if field in plan and len(plan[field]) != count:
            raise PlanError(f"plan.{field}: expected one value per label ({count}); got "
                            f"{len(plan[field])}")
    label_edges(plan["labels"])
    for number, shift in enumerate(plan["shifts"]):
        missing = [f for f in ("start", "end", "count") if f not in shift]
        if missing:
            raise PlanError(f"plan.shifts[{number}]: expected fields {', '.join(missing)}")
        clock_minutes(shift["start"])
        clock_minutes(shift["end"])
    return plan


def plan_document(plan: ShiftPlan) -> dict[str, Any]:
    """A `sim.sizing.schedule.ShiftPlan` as a report's plan dict."""
    step = plan.interval_minutes * 60.0
    labels = [f"{format_time_of_day(plan.day_start + i * step)}-"
              f"{format_time_of_day(plan.day_start + (i + 1) * step)}"
              for i in range(len(plan.required))]
    return {
        "labels": labels,
        "required": list(plan.required),
        "planned": list(plan.coverage),
        "min_planned": list(plan.min_coverage),
        "paid_hours": plan.paid_hours,
        "status": plan.status,
        "shifts": [
            {"start": format_time_of_day(shift.start), "end": format_time_of_day(shift.end),
             "count": shift.count, "template": shift.template, "paid_hours": shift.paid_hours,
             "breaks": [{"start": format_time_of_day(b.start), "minutes": b.duration / 60,
                         "reason": b.reason} for b in shift.breaks]}
            for shift in plan.shifts
        ],
    }
