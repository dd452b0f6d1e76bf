"""Shift plans: from agents required per interval to the shifts that cover them with the fewest
paid hours, as an integer linear program solved by HiGHS (`scipy.optimize.milp`).

Model
-----
A day is `required[i]` agents in interval `i`, each `interval_minutes` long, the first at
`day_start`. A `ShiftTemplate` is a shift length with breaks, each break allowed to start
anywhere in its own window (minutes from the shift's start). Shifts start on interval boundaries
within the opening hours (the span of `required` unless told) and end by closing.

Break granularity. Coverage is counted on a grid of *slots* fine enough to hold every interval,
shift and break boundary: the greatest common divisor of `interval_minutes` and the templates'
minutes, 15 min for 30-minute intervals and the default 15-minute breaks. A 15-minute break
therefore takes an agent away for exactly half of a 30-minute interval, and breaks start on any
slot of their window (xx:00, xx:15, ...). The requirement of an interval must be met in *every*
slot of it, i.e. by the fewest agents present at any moment of the interval, not by the average:
an average would let two agents break together in the first quarter hour of an interval and leave
it one short for fifteen minutes. `ShiftPlan.coverage` reports the average agents present over
each interval (9.5 when one of ten takes a 15-minute break) and `ShiftPlan.min_coverage` the
fewest present; `min_coverage >= required` holds in every interval of a plan.

Variables. An integer count of shifts per (template, start) and an integer count, per (template,
start, break, break start), of those shifts taking that break there; each break's counts add up to
the number of shifts (the "implicit break" formulation of Bechtold & Jacobs and Aykin). Because a
template's break windows do not overlap, any such counts can be dealt out one break of each kind
per agent, so this is the same optimum as one variable per (start, break placement) pattern with
far fewer variables (9 starts x 23 break starts rather than 9 x 448 patterns for a 12-hour day).
Objective: the templates' paid hours. Options: at most `max_start_times` distinct start times, and
bounds on the part-time share of agents (head count).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_array

from appliance.config.schema import DAY, format_time_of_day

# --- templates -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BreakRule:
    """A break of `minutes` that starts no earlier than `earliest` and ends by `latest_end`
    (both minutes from the shift's start)."""

    minutes: int
    earliest: int
    latest_end: int
    reason: str = "break"


@dataclass(frozen=True)
class ShiftTemplate:
    """A kind of shift: `minutes` long, paid `paid_minutes` (default: all of it, breaks and lunch
    included), with breaks whose windows follow one another without overlapping."""

    name: str
    minutes: int
    breaks: tuple[BreakRule, ...] = ()
    paid_minutes: int | None = None
    part_time: bool = False

    def __post_init__(self) -> None:
        if self.minutes <= 0:
            raise ValueError(f"template {self.name!r}: expected a positive length; "
                             f"got {self.minutes} min")
        previous_end = 0
        for rule in self.breaks:
            if rule.minutes <= 0 or rule.earliest < previous_end or (
                    rule.earliest + rule.minutes > rule.latest_end) or (
                    rule.latest_end > self.minutes):
                raise ValueError(
                    f"template {self.name!r}: expected each break window to hold its break, to "
                    f"lie inside the {self.minutes}-min shift and after the window before it; "
                    f"got {rule.minutes} min in {rule.earliest}-{rule.latest_end}")
            previous_end = rule.latest_end

    @property
    def paid_hours(self) -> float:
        return (self.minutes if self.paid_minutes is None else self.paid_minutes) / 60


FULL_TIME = ShiftTemplate(
    "full-time",
    480,
    (
        BreakRule(15, 60, 180),  # in the 2nd-3rd hour
        BreakRule(30, 180, 300, "lunch"),  # in the 4th-5th hour
        BreakRule(15, 300, 420),  # in the 6th-7th hour
    ),
)
PART_TIME = ShiftTemplate("part-time", 240, (BreakRule(15, 60, 180),), part_time=True)
DEFAULT_TEMPLATES: tuple[ShiftTemplate, ...] = (FULL_TIME,)
"""Eight-hour shifts only; pass `(FULL_TIME, PART_TIME)` to allow four-hour shifts too."""


# --- the plan --------------------------------------------------------------------------------


class ShiftPlanError(ValueError):
    """No plan: a requirement no shift can cover, or none found within the time limit.
    `intervals` holds the indices of the intervals found uncoverable, if any."""

    def __init__(self, message: str, intervals: Sequence[int] = ()) -> None:
        super().__init__(message)
        self.intervals = tuple(intervals)


class PlannedBreak(NamedTuple):
    start: float  # seconds after midnight of the planned day
    duration: float  # seconds
    reason: str = "break"


@dataclass(frozen=True)
class Shift:
    """`count` agents with the same shift and breaks. Times are seconds after midnight of the
    planned day (past 86400 for a day that runs over midnight)."""

    start: float
    length: float
    breaks: tuple[PlannedBreak, ...]
    count: int
    template: str = FULL_TIME.name
    paid_hours: float = 8.0  # per agent

    @property
    def end(self) -> float:
        return self.start + self.length


@dataclass(frozen=True)
class ShiftPlan:
    shifts: tuple[Shift, ...]
    required: tuple[int, ...]
    coverage: tuple[float, ...]  # mean agents present over each interval
    min_coverage: tuple[int, ...]  # fewest agents present at any moment of each interval
    paid_hours: float
    status: str  # "optimal", or "time limit" for the best plan found in time
    gap: float  # relative gap between paid_hours and lower_bound; 0 when optimal
    lower_bound: float  # no plan pays fewer hours
    interval_minutes: int
    day_start: float
    opening: tuple[float, float]  # seconds after midnight: shifts lie inside

    @property
    def surplus(self) -> tuple[float, ...]:
        return tuple(c - r for c, r in zip(self.coverage, self.required, strict=True))

    @property
    def agents(self) -> int:
        return sum(shift.count for shift in self.shifts)

    def agent_entries(
        self, skills: Mapping[str, int], first_id: int = 1001
    ) -> list[dict[str, Any]]:
        """The plan as `agents:` entries of a site file, one per distinct shift with ids
        `"1001-1005"` (or `"1006"` alone), numbered on from `first_id` in the plan's order."""
        entries = []
        next_id = first_id
        for shift in self.shifts:
            last = next_id + shift.count - 1
            entries.append({
                "id": f"{next_id}" if last == next_id else f"{next_id}-{last}",
                "skills": dict(skills),
                "shift": {"start": _clock(shift.start), "end": _clock(shift.end)},
                "breaks": [
                    {"start": _clock(b.start), "minutes": _whole(b.duration / 60),
                     "reason": b.reason}
                    for b in shift.breaks
                ],
            })
            next_id = last + 1
        return entries


def _clock(seconds: float) -> str:
    return format_time_of_day(seconds % DAY, with_seconds=seconds % 60 != 0)


def _whole(value: float) -> int | float:
    return int(value) if value == int(value) else value


# --- the program -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Grid:
    slot: int  # minutes
    per_interval: int  # slots
    slots: int  # in the day

    def interval(self, slot: int) -> int:
        return slot // self.per_interval


@dataclass(frozen=True)
class _Start:
    template: ShiftTemplate
    slot: int  # first slot of the shift
    # per break rule: the break starts it may take, as slot offsets from the shift's start
    break_offsets: tuple[tuple[int, ...], ...]


def plan_shifts(
    required: Sequence[int],
    interval_minutes: int,
    day_start: float,
    templates: Sequence[ShiftTemplate] = DEFAULT_TEMPLATES,
    time_limit: float = 20,
    *,
    opening: tuple[float, float] | None = None,
    max_start_times: int | None = None,
    part_time_share: tuple[float, float] = (0.0, 1.0),
) -> ShiftPlan:
    """The shifts covering `required` agents per interval with the fewest paid hours.

    `opening` is (open, close) in seconds after midnight, close past 86400 for a day that runs
    over midnight; shifts lie inside it. Default: the span of `required`. `part_time_share` bounds
    the share of agents on part-time templates. Raises ShiftPlanError when an interval's
    requirement cannot be covered or no plan is found within `time_limit` seconds; a plan found
    but not proven best by then has status "time limit" and its gap.
    """
    need = _check_inputs(required, interval_minutes, templates, part_time_share)
    grid = _grid(len(need), interval_minutes, templates)
    open_, close = opening if opening is not None else (
        day_start, day_start + len(need) * interval_minutes * 60)
    starts = _starts(grid, interval_minutes, day_start, open_, close, templates)
    _check_coverable(need, grid, starts, interval_minutes, day_start)

    counts, status, gap, bound = _solve(need, grid, starts, time_limit, max_start_times,
                                        part_time_share)
    shifts = _deal_out(starts, counts, grid, day_start)
    present = _presence(shifts, grid, day_start)
    per = grid.per_interval
    return ShiftPlan(
        shifts=shifts,
        required=need,
        coverage=tuple(float(np.mean(present[i * per:(i + 1) * per])) for i in range(len(need))),
        min_coverage=tuple(int(min(present[i * per:(i + 1) * per])) for i in range(len(need))),
        paid_hours=sum(s.count * s.paid_hours for s in shifts),
        status=status,
        gap=gap,
        lower_bound=bound,
        interval_minutes=interval_minutes,
        day_start=day_start,
        opening=(open_, close),
    )


def _check_inputs(
    required: Sequence[int],
    interval_minutes: int,
    templates: Sequence[ShiftTemplate],
    part_time_share: tuple[float, float],
) -> tuple[int, ...]:
    if interval_minutes < 1 or int(interval_minutes) != interval_minutes:
        raise ValueError(f"expected a whole number of minutes per interval; got {interval_minutes}")
    if not required or len(required) * interval_minutes > 24 * 60:
        raise ValueError(f"expected between 1 interval and a day of them; got {len(required)} "
                         f"of {interval_minutes} min")
    if any(r < 0 or int(r) != r for r in required):
        raise ValueError(f"expected whole numbers of agents, none negative; got {list(required)}")
    if not templates:
        raise ValueError("expected at least one shift template")
    low, high = part_time_share
    if not 0 <= low <= high <= 1:
        raise ValueError(f"expected 0 <= low <= high <= 1 for the part-time share; "
                         f"got {part_time_share}")
    return tuple(int(r) for r in required)


def _grid(intervals: int, interval_minutes: int, templates: Sequence[ShiftTemplate]) -> _Grid:
    slot = math.gcd(interval_minutes, *(
        m for t in templates for m in (t.minutes, *(
            x for b in t.breaks for x in (b.minutes, b.earliest, b.latest_end)))))
    per = interval_minutes // slot
    return _Grid(slot, per, intervals * per)


def _starts(
    grid: _Grid,
    interval_minutes: int,
    day_start: float,
    open_: float,
    close: float,
    templates: Sequence[ShiftTemplate],
) -> list[_Start]:
    starts = []
    for template in templates:
        offsets = tuple(
            tuple(range(b.earliest // grid.slot, (b.latest_end - b.minutes) // grid.slot + 1))
            for b in template.breaks
        )
        for interval in range(grid.slots // grid.per_interval):
            begins = day_start + interval * interval_minutes * 60
            if begins >= open_ and begins + template.minutes * 60 <= close:
                starts.append(_Start(template, interval * grid.per_interval, offsets))
    return starts


def _check_coverable(
    need: Sequence[int],
    grid: _Grid,
    starts: Sequence[_Start],
    interval_minutes: int,
    day_start: float,
) -> None:
    """Name the intervals with agents required where no shift can have an agent at work."""
    workable = [False] * grid.slots
    for start in starts:
        length = start.template.minutes // grid.slot
        for offset in range(length):
            # Every break has to be taken somewhere: the slot is workable if each break can
            # be placed away from it.
            if all(any(not o <= offset < o + b.minutes // grid.slot for o in offsets)
                   for b, offsets in zip(start.template.breaks, start.break_offsets,
                                         strict=True)):
                workable[start.slot + offset] = True
    bad = sorted({grid.interval(s) for s in range(grid.slots)
                  if need[grid.interval(s)] > 0 and not workable[s]})
    if bad:
        names = ", ".join(
            f"{_clock(day_start + i * interval_minutes * 60)}-"
            f"{_clock(day_start + (i + 1) * interval_minutes * 60)} ({need[i]} agents)"
            for i in bad)
        raise ShiftPlanError(
            f"no shift template can cover the requirement at {names}: no shift fits the "
            f"opening hours there, or its breaks must fall there", bad)


def _solve(
    need: Sequence[int],
    grid: _Grid,
    starts: Sequence[_Start],
    time_limit: float,
    max_start_times: int | None,
    part_time_share: tuple[float, float],
) -> tuple[list[list[list[int]]], str, float, float]:
    """Per start, per break rule, the number of shifts taking the break at each offset (and the
    number of shifts when the template has no breaks); with status, gap and lower bound."""
    cost: list[float] = []
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    low: list[float] = []
    high: list[float] = []

    def add_row(lo: float, hi: float) -> int:
        low.append(lo)
        high.append(hi)
        return len(low) - 1

    def put(row: int, col: int, value: float) -> None:
        rows.append(row)
        cols.append(col)
        vals.append(value)

    cover = [add_row(need[grid.interval(s)], np.inf) for s in range(grid.slots)]
    shift_cols: list[int] = []
    break_cols: list[list[list[int]]] = []
    for start in starts:
        x = len(cost)
        cost.append(start.template.paid_hours)
        shift_cols.append(x)
        for offset in range(start.template.minutes // grid.slot):
            put(cover[start.slot + offset], x, 1)
        per_rule = []
        for rule, offsets in zip(start.template.breaks, start.break_offsets, strict=True):
            dealt = add_row(0, 0)  # this break's starts add up to the shifts
            put(dealt, x, -1)
            columns = []
            for offset in offsets:
                b = len(cost)
                cost.append(0.0)
                columns.append(b)
                put(dealt, b, 1)
                for s in range(offset, offset + rule.minutes // grid.slot):
                    put(cover[start.slot + s], b, -1)
            per_rule.append(columns)
        break_cols.append(per_rule)

    integrality = [1] * len(cost)
    upper = [np.inf] * len(cost)
    if max_start_times is not None:
        most = _most_agents(need, grid, starts, part_time_share)
        times = sorted({s.slot for s in starts})
        used = {slot: len(cost) + k for k, slot in enumerate(times)}
        cost.extend([0.0] * len(times))
        integrality.extend([1] * len(times))
        upper.extend([1.0] * len(times))
        for start, x, bound in zip(starts, shift_cols, most, strict=True):
            row = add_row(-np.inf, 0)
            put(row, x, 1)
            put(row, used[start.slot], -bound)
        row = add_row(-np.inf, max_start_times)
        for col in used.values():
            put(row, col, 1)
        # Implied, but it tightens the relaxation: a slot with agents required needs a start
        # in use whose shift spans it.
        for s in range(grid.slots):
            if need[grid.interval(s)] > 0:
                row = add_row(1, np.inf)
                for col in {used[start.slot] for start in starts
                            if 0 <= s - start.slot < start.template.minutes // grid.slot}:
                    put(row, col, 1)
    share_low, share_high = part_time_share
    if (share_low, share_high) != (0.0, 1.0):
        # share_low * all <= part-time <= share_high * all
        above = add_row(0, np.inf)
        below = add_row(-np.inf, 0)
        for start, x in zip(starts, shift_cols, strict=True):
            part = 1.0 if start.template.part_time else 0.0
            put(above, x, part - share_low)
            put(below, x, part - share_high)

    matrix = coo_array((vals, (rows, cols)), shape=(len(low), len(cost))).tocsr()
    result = milp(
        c=np.array(cost),
        integrality=np.array(integrality),
        bounds=Bounds(np.zeros(len(cost)), np.array(upper)),
        constraints=LinearConstraint(matrix, np.array(low), np.array(high)),
        options={"time_limit": time_limit, "disp": False},
    )
    if result.x is None:
        why = ("the requirement cannot be covered by these templates" if result.status == 2
               else f"no plan found within {time_limit:g} s")
        raise ShiftPlanError(f"no shift plan: {why} ({result.message})")
    solution = np.rint(result.x).astype(int)
    counts = []
    for x, per_rule in zip(shift_cols, break_cols, strict=True):
        counts.append([[int(solution[x])]] + [[int(solution[b]) for b in cols]
                                              for cols in per_rule])
    status = "optimal" if result.status == 0 else "time limit"
    gap = float(result.mip_gap) if result.mip_gap is not None else math.nan
    bound = float(result.mip_dual_bound) if result.mip_dual_bound is not None else math.nan
    return counts, status, gap, bound


def _most_agents(
    need: Sequence[int],
    grid: _Grid,
    starts: Sequence[_Start],
    part_time_share: tuple[float, float],
) -> list[float]:
    """Per start, a count some optimal plan does not exceed, so that a start can be switched
    off by a binary times this count.

    With R the most agents required during the shift and P the most placements one of its
    breaks has, a start with x >= P (R + 1) agents has some placement of each break taken by
    R + 1 or more of them; dropping one of those breaks from each window (one agent fewer)
    leaves more than R at work wherever presence falls, so x was not optimal. A bound on the
    part-time share can make extra agents worth paying for: then the counts are only capped
    generously."""
    bounds = []
    for start in starts:
        span = range(start.slot, start.slot + start.template.minutes // grid.slot)
        most_required = max(need[grid.interval(s)] for s in span)
        placements = max((len(offsets) for offsets in start.break_offsets), default=1)
        bounds.append(float(placements * (most_required + 1)))
    if part_time_share != (0.0, 1.0):
        return [sum(bounds) * 10.0] * len(bounds)
    return bounds


def _deal_out(
    starts: Sequence[_Start],
    counts: Sequence[Sequence[Sequence[int]]],
    grid: _Grid,
    day_start: float,
) -> tuple[Shift, ...]:
    """Give each agent one break of each kind: the k-th agent of a start takes the k-th earliest
    start of every break, so that early breaks go with an early lunch."""
    slot = grid.slot * 60
    shifts = []
    for start, (shift_count, *per_rule) in zip(starts, counts, strict=True):
        agents = shift_count[0]
        if agents == 0:
            continue
        dealt = [
            [o for o, n in zip(offsets, rule_counts, strict=True) for _ in range(n)]
            for offsets, rule_counts in zip(start.break_offsets, per_rule, strict=True)
        ]
        patterns = Counter(zip(*dealt, strict=True)) if dealt else Counter({(): agents})
        begins = day_start + start.slot * slot
        for pattern, count in sorted(patterns.items()):
            breaks = tuple(
                PlannedBreak(begins + o * slot, rule.minutes * 60.0, rule.reason)
                for o, rule in zip(pattern, start.template.breaks, strict=True))
            shifts.append(Shift(begins, start.template.minutes * 60.0, breaks, count,
                                start.template.name, start.template.paid_hours))
    return tuple(sorted(shifts, key=lambda s: (s.start, s.template, s.breaks)))


def _presence(shifts: Sequence[Shift], grid: _Grid, day_start: float) -> list[int]:
    """Agents at work (in their shift, not on a break) in each slot."""
    slot = grid.slot * 60
    present = [0] * grid.slots
    for shift in shifts:
        first = round((shift.start - day_start) / slot)
        away = {round((b.start - day_start) / slot) + k
                for b in shift.breaks for k in range(round(b.duration / slot))}
        for s in range(first, first + round(shift.length / slot)):
            if s not in away:
                present[s] += shift.count
    return present
