"""Whether a schedule is open at a local date and time, given the site's calendar.

The rules, which `tests/appliance/pbx/routing/` check against a plain re-statement:

* on a holiday date the answer is HOLIDAY all day, whatever the hours say;
* otherwise a date keeps the hours of its weekday, or, if it is an extra working day, the
  hours of the weekday it is worked like (or its own hours);
* a span belongs to the date it starts on: 22:00-06:00 on a Friday is open until 06:00 on
  Saturday, unless that Friday was a holiday; a span's end is not part of it (08:30-12:00 is
  closed at 12:00:00).

Nothing is cached per day: every call is judged at its own time, so a lunch break, a span
running past midnight or a reloaded schedule takes effect at once.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from enum import StrEnum

from appliance.config.routing import DAY, DAY_NAMES, Span, Week, WorkingDay, parse_hours

ONE_DAY = timedelta(days=1)


class Opening(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    HOLIDAY = "holiday"


class Calendar:
    """Holidays (inclusive runs of dates that do not overlap, as a loaded site's are) and
    extra working days, looked up by date."""

    def __init__(self, holidays: Iterable[tuple[date, date]],
                 working_days: Iterable[WorkingDay] = ()) -> None:
        runs = sorted(holidays)
        self._firsts = [first for first, _ in runs]
        self._lasts = [last for _, last in runs]
        self._working: Mapping[date, WorkingDay] = {day.date: day for day in working_days}
        # Parsed once: a working day with its own hours is asked for them on every call.
        self._own_hours = {day.date: parse_hours(day.hours)
                           for day in self._working.values() if day.hours is not None}

    def is_holiday(self, day: date) -> bool:
        index = bisect.bisect_right(self._firsts, day) - 1
        return index >= 0 and day <= self._lasts[index]

    def spans(self, week: Week, day: date) -> tuple[Span, ...]:
        """The spans that start on `day`: its weekday's, or a working day's own."""
        working = self._working.get(day)
        if working is None:
            return week[day.weekday()]
        if working.hours is not None:
            return self._own_hours[day]
        return week[DAY_NAMES.index(working.like)]


def opening_at(week: Week, calendar: Calendar, when: datetime) -> Opening:
    """OPEN, CLOSED or HOLIDAY for a schedule's `week` at the local time `when`."""
    today = when.date()
    if calendar.is_holiday(today):
        return Opening.HOLIDAY
    second = when.hour * 3600 + when.minute * 60 + when.second + when.microsecond / 1e6
    if any(_covers(span, second) for span in calendar.spans(week, today)):
        return Opening.OPEN
    yesterday = today - ONE_DAY
    if not calendar.is_holiday(yesterday) and any(
            end <= start and second < end for start, end in calendar.spans(week, yesterday)):
        return Opening.OPEN
    return Opening.CLOSED


def _covers(span: Span, second: float) -> bool:
    start, end = span
    return start <= second < (end if end > start else DAY)
