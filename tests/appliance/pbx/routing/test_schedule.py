"""Schedules at their edges, holidays and swapped working days, and a hypothesis check that
`opening_at` agrees with a plain re-statement of the rules over absolute date-times."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from appliance.config.routing import DAY_NAMES, WorkingDay, parse_week
from appliance.pbx.routing import Calendar, Opening, opening_at

OPEN, CLOSED, HOLIDAY = Opening.OPEN, Opening.CLOSED, Opening.HOLIDAY
OFFICE = parse_week({"mon-fri": "08:30-12:00, 13:30-18:00", "sat": "09:00-12:00"})
NIGHTS = parse_week({"fri-sat": "22:00-06:00", "sun": "07:00-09:00"})
NO_DAYS_OFF = Calendar([])


def dt(day: int, hms: str, month: int = 9) -> datetime:
    return datetime.combine(date(2026, month, day), time.fromisoformat(hms))


@pytest.mark.parametrize(("when", "expected"), [
    (dt(28, "08:29:59"), CLOSED),  # Monday
    (dt(28, "08:30:00"), OPEN),
    (dt(28, "11:59:59.999"), OPEN),
    (dt(28, "12:00:00"), CLOSED),  # a span's end is not part of it: lunch
    (dt(28, "13:30:00"), OPEN),
    (dt(28, "17:59:59"), OPEN),
    (dt(28, "18:00:00"), CLOSED),
    (dt(28, "00:00:00"), CLOSED),
    (dt(3, "10:00:00", month=10), OPEN),  # Saturday hours
    (dt(3, "12:00:00", month=10), CLOSED),
    (dt(4, "10:00:00", month=10), CLOSED),  # Sunday: not named, closed
])
def test_office_hours_at_their_edges(when: datetime, expected: Opening) -> None:
    assert opening_at(OFFICE, NO_DAYS_OFF, when) is expected


@pytest.mark.parametrize(("when", "expected"), [
    (dt(2, "21:59:59", month=10), CLOSED),  # Friday
    (dt(2, "22:00:00", month=10), OPEN),
    (dt(2, "23:59:59", month=10), OPEN),
    (dt(3, "00:00:00", month=10), OPEN),  # Friday's night, on Saturday's date
    (dt(3, "05:59:59", month=10), OPEN),
    (dt(3, "06:00:00", month=10), CLOSED),
    (dt(4, "03:00:00", month=10), OPEN),  # Saturday's night, on Sunday
    (dt(4, "07:00:00", month=10), OPEN),  # then Sunday's own span
    (dt(5, "03:00:00", month=10), CLOSED),  # Sunday has no night span
])
def test_a_span_past_midnight_belongs_to_the_day_it_starts(when, expected) -> None:
    assert opening_at(NIGHTS, NO_DAYS_OFF, when) is expected


def test_holidays_close_the_whole_date_and_the_night_that_starts_on_it() -> None:
    national_day = Calendar([(date(2026, 10, 1), date(2026, 10, 1))])
    assert opening_at(OFFICE, national_day, dt(1, "10:00", month=10)) is HOLIDAY
    assert opening_at(OFFICE, national_day, dt(1, "00:00", month=10)) is HOLIDAY
    assert opening_at(OFFICE, national_day, dt(2, "10:00", month=10)) is OPEN
    friday_off = Calendar([(date(2026, 10, 2), date(2026, 10, 2))])
    assert opening_at(NIGHTS, friday_off, dt(2, "23:00", month=10)) is HOLIDAY
    assert opening_at(NIGHTS, friday_off, dt(3, "01:00", month=10)) is CLOSED
    saturday_off = Calendar([(date(2026, 10, 3), date(2026, 10, 3))])
    # Friday night's span reaches into a holiday date: the holiday wins.
    assert opening_at(NIGHTS, saturday_off, dt(3, "01:00", month=10)) is HOLIDAY


def test_a_run_of_holidays_covers_each_date_in_it() -> None:
    golden_week = Calendar([(date(2026, 10, 1), date(2026, 10, 7))])
    for day in range(1, 8):
        assert golden_week.is_holiday(date(2026, 10, day))
    assert not golden_week.is_holiday(date(2026, 9, 30))
    assert not golden_week.is_holiday(date(2026, 10, 8))


def test_a_swapped_saturday_keeps_monday_hours_or_its_own() -> None:
    swapped = Calendar([], [WorkingDay(date=date(2026, 10, 10)),
                            WorkingDay(date=date(2026, 10, 11), hours="09:00-11:00")])
    assert opening_at(OFFICE, swapped, dt(10, "08:30", month=10)) is OPEN  # Saturday
    assert opening_at(OFFICE, swapped, dt(10, "13:00", month=10)) is CLOSED  # lunch
    assert opening_at(OFFICE, swapped, dt(10, "17:00", month=10)) is OPEN
    assert opening_at(OFFICE, swapped, dt(11, "10:59:59", month=10)) is OPEN  # Sunday
    assert opening_at(OFFICE, swapped, dt(11, "11:00", month=10)) is CLOSED
    as_friday = Calendar([], [WorkingDay(date=date(2026, 10, 10), like="fri")])
    assert opening_at(NIGHTS, as_friday, dt(10, "23:00", month=10)) is OPEN


# --- against a reference --------------------------------------------------------------------

FIRST = date(2026, 9, 21)
DAYS = 21
minutes = st.integers(min_value=0, max_value=24 * 60)


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@st.composite
def day_hours(draw: st.DrawFn) -> str | None:
    """A day's hours as written: spans from sorted distinct minutes, the last one maybe
    running past midnight."""
    points = sorted(draw(st.sets(st.integers(1, 24 * 60 - 1), max_size=6)))
    if len(points) % 2:
        points = points[:-1]
    spans = [(points[i], points[i + 1]) for i in range(0, len(points), 2)]
    if spans and draw(st.booleans()):
        start = spans[-1][0]
        spans[-1] = (start, draw(st.integers(0, start - 1)))  # ends the next day
    return ", ".join(f"{_hhmm(a)}-{_hhmm(b)}" for a, b in spans) or None


@st.composite
def weeks(draw: st.DrawFn) -> dict[str, str]:
    hours = [draw(day_hours()) for _ in DAY_NAMES]
    return {name: text for name, text in zip(DAY_NAMES, hours, strict=True) if text}


def _reference(days: dict[str, str], holidays: set[date], working: dict[date, WorkingDay],
               when: datetime) -> Opening:
    """The rules of schedule.py said plainly: build each relevant day's spans as absolute
    date-times and look for one holding `when`."""
    if when.date() in holidays:
        return HOLIDAY
    for day in (when.date() - timedelta(days=1), when.date()):
        if day in holidays:
            continue
        for start, end in _spans_written(days, working, day):
            if start <= when < end:
                return OPEN
    return CLOSED


def _spans_written(days: dict[str, str], working: dict[date, WorkingDay],
                   day: date) -> list[tuple[datetime, datetime]]:
    extra = working.get(day)
    text = days.get(DAY_NAMES[day.weekday()] if extra is None else extra.like)
    if extra is not None and extra.hours is not None:
        text = extra.hours
    out = []
    for part in (text or "").split(","):
        if not part.strip():
            continue
        first, last = (part.strip().split("-"))
        start = datetime.combine(day, time()) + _offset(first)
        end = datetime.combine(day, time()) + _offset(last)
        out.append((start, end if end > start else end + timedelta(days=1)))
    return out


def _offset(text: str) -> timedelta:
    hours, mins = text.split(":")
    return timedelta(hours=int(hours), minutes=int(mins))


@st.composite
def calendars(draw: st.DrawFn) -> tuple[set[date], dict[date, WorkingDay]]:
    dates = [FIRST + timedelta(days=n) for n in range(DAYS)]
    holidays = draw(st.sets(st.sampled_from(dates), max_size=5))
    others = [d for d in dates if d not in holidays]
    extra = draw(st.sets(st.sampled_from(others), max_size=3))
    working = {}
    for day in extra:
        hours = draw(st.one_of(st.none(), day_hours()))
        working[day] = WorkingDay(date=day, like=draw(st.sampled_from(DAY_NAMES)), hours=hours)
    return holidays, working


@st.composite
def moments(draw: st.DrawFn, days: dict[str, str]) -> datetime:
    """Any second of the window, or one on either side of a span's edge."""
    day = FIRST + timedelta(days=draw(st.integers(0, DAYS - 1)))
    edges = [0] + [int(_offset(t).total_seconds()) % 86400 for text in days.values()
                   for part in text.split(",") for t in part.strip().split("-")]
    second = draw(st.one_of(st.integers(0, 86399),
                            st.sampled_from(edges).map(lambda s: max(0, s - 1)),
                            st.sampled_from(edges)))
    return datetime.combine(day, time()) + timedelta(seconds=second)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), days=weeks(), calendar=calendars())
def test_opening_agrees_with_the_plain_reading_of_the_rules(data, days, calendar) -> None:
    try:
        week = parse_week(days)
    except ValueError:
        assume(False)  # a night span running into the next day's first: refused at load
    holidays, working = calendar
    when = data.draw(moments(days))
    runs = [(d, d) for d in holidays]
    assert opening_at(week, Calendar(runs, working.values()), when) == _reference(
        days, holidays, working, when)



def test_a_whole_day_is_written_00_00_to_24_00() -> None:
    always = parse_week({"mon-sun": "00:00-24:00"})
    assert always == ((((0.0, 86400.0),),) * 7)
    for hms in ("00:00:00", "12:00:00", "23:59:59.999"):
        assert opening_at(always, NO_DAYS_OFF, dt(28, hms)) is OPEN
