"""What a site's configuration says about inbound routing: routes and where they send a call,
named caller lists, the blacklist, weekly schedules, holidays and extra working days.

Stored as written (numbers and hours as text, dates as dates), so that a site dumped and read
back is equal to itself; `Schedule.week` gives the parsed hours. Checks that need the whole site
(a route naming a schedule, a list, a queue or an agent) are `routing_problems`, run by the
site's own validation. No I/O here.
"""

import datetime as dt
import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Annotated, Any, Literal, NamedTuple, Protocol

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    RootModel,
    model_validator,
)

from appliance.config.values import DAY, Identifier, Problem, Whole
from appliance.config.values import Frozen as _Frozen

# --- numbers ----------------------------------------------------------------------------------


def _check_pattern(value: str) -> str:
    if "*" in value[:-1] or value == "*":
        raise ValueError("expected a number, or a prefix ending in '*' like '400800*'; "
                         f"got {value!r}")
    return value


Pattern = Annotated[str, Field(min_length=1), AfterValidator(_check_pattern)]
"""A number written as it arrives ("4008001234"), or a prefix of one ending in '*'
("138*": any number that starts with 138)."""


def pattern_matches(pattern: str, number: str) -> bool:
    """Whether `number` is `pattern`, or starts with it for a prefix ending in '*'."""
    if pattern.endswith("*"):
        return number.startswith(pattern[:-1])
    return number == pattern


# --- weekly hours -----------------------------------------------------------------------------

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Weekday names in `datetime.weekday()` order."""

Span = tuple[float, float]
"""Open from `start` to `end`, seconds since midnight; an `end` not above `start` is on the
next day (22:00-06:00 is open through the night)."""

Week = tuple[tuple[Span, ...], ...]
"""Seven days' spans, Monday first, each day's in order of their start."""

_HOUR = re.compile(r"\s*([0-9]{1,2}):([0-9]{2})\s*")
_HOURS_EXPECTED = ("expected hours like '08:30-12:00, 13:30-18:00' (24 h; an end at or before "
                   "its start runs past midnight; '24:00' ends a day)")


def _clock(text: str, whole: str, allow_24: bool) -> float:
    match = _HOUR.fullmatch(text)
    if match is None:
        raise ValueError(f"{_HOURS_EXPECTED}; got {whole!r}")
    hours, minutes = int(match[1]), int(match[2])
    if minutes > 59 or hours > 24 or (hours == 24 and (minutes or not allow_24)):
        raise ValueError(f"{_HOURS_EXPECTED}; got {whole!r}")
    return float(hours * 3600 + minutes * 60)


def parse_hours(text: str) -> tuple[Span, ...]:
    """`"08:30-12:00, 13:30-18:00"` -> ((30600, 43200), (48600, 64800)), in order of start.
    Raises ValueError on a malformed, empty or overlapping span."""
    spans = []
    for part in text.split(","):
        start, dash, end = part.partition("-")
        if not dash:
            raise ValueError(f"{_HOURS_EXPECTED}; got {text!r}")
        span = (_clock(start, text, False), _clock(end, text, True))
        if span[0] == span[1]:
            raise ValueError(f"expected a span that is open for some time; got {part.strip()!r}"
                             " (write 00:00-24:00 for a whole day)")
        spans.append(span)
    spans.sort()
    _check_disjoint(spans, text)
    return tuple(spans)


def _length(span: Span) -> float:
    return (span[1] - span[0]) % DAY or DAY


def _check_disjoint(spans: Sequence[Span], text: str) -> None:
    for earlier, later in itertools.pairwise(spans):
        if earlier[0] + _length(earlier) > later[0]:
            raise ValueError(f"spans overlap in {text!r}: expected each to end before the "
                             "next begins")


def _days(key: str) -> list[int]:
    """`"mon-fri"` -> [0, 1, 2, 3, 4]; `"sat"` -> [5]; `"fri-mon"` wraps over the weekend."""
    first, dash, last = key.strip().lower().partition("-")
    if first not in DAY_NAMES or (dash and last not in DAY_NAMES):
        raise ValueError(f"expected a day like 'mon' or days like 'mon-fri' "
                         f"({', '.join(DAY_NAMES)}); got {key!r}")
    start = DAY_NAMES.index(first)
    count = (DAY_NAMES.index(last) - start) % 7 + 1 if dash else 1
    return [(start + offset) % 7 for offset in range(count)]


def parse_week(days: Mapping[str, str]) -> Week:
    """`{"mon-fri": "08:30-18:00", "sat": "09:00-12:00"}` -> seven days' spans; days not
    named are closed. Raises ValueError naming the key at fault."""
    week: list[tuple[Span, ...] | None] = [None] * 7
    for key, text in days.items():
        spans = parse_hours(text)
        for day in _days(key):
            if week[day] is not None:
                raise ValueError(f"{DAY_NAMES[day]} is given twice (again in {key!r})")
            week[day] = spans
    full = tuple(spans or () for spans in week)
    _check_nights(full)
    return full


def _check_nights(week: Week) -> None:
    """A span running past midnight must be over before the next day's first opens."""
    for day, spans in enumerate(week):
        following = week[(day + 1) % 7]
        for start, end in spans:
            if end <= start and following and following[0][0] < end:
                raise ValueError(f"{DAY_NAMES[day]}'s span running past midnight overlaps "
                                 f"{DAY_NAMES[(day + 1) % 7]}'s first span")


class Schedule(RootModel[dict[str, str]]):
    """Opening hours by day of week, as written: `{mon-fri: "08:30-12:00, 13:30-18:00"}`."""

    model_config = ConfigDict(frozen=True)
    _week: Week = PrivateAttr(default=())

    @model_validator(mode="after")
    def _parse(self) -> "Schedule":
        self._week = parse_week(self.root)
        return self

    @property
    def week(self) -> Week:
        return self._week


# --- calendar ---------------------------------------------------------------------------------

_DATE_EXPECTED = "expected a date written YYYY-MM-DD"


def _date(value: object) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{_DATE_EXPECTED}; got {value!r}")


Date = Annotated[dt.date, BeforeValidator(_date)]


class Holiday(_Frozen):
    """A day (`date`) or an inclusive run of days (`from` .. `to`) the site is closed."""

    model_config = ConfigDict(populate_by_name=True)
    date: Date | None = None
    from_: Date | None = Field(default=None, alias="from")
    to: Date | None = None
    name: str = ""

    @model_validator(mode="after")
    def _check_form(self) -> "Holiday":
        ranged = self.from_ is not None or self.to is not None
        if self.date is None and not ranged:
            raise ValueError("expected either 'date' or both 'from' and 'to'; got neither")
        if self.date is not None and ranged:
            raise ValueError("expected either 'date' or both 'from' and 'to'; got both forms")
        if ranged and (self.from_ is None or self.to is None):
            raise ValueError("expected both 'from' and 'to' for a run of days")
        if ranged and self.to < self.from_:  # type: ignore[operator]
            raise ValueError(f"expected 'to' on or after 'from'; got {self.from_} to {self.to}")
        return self

    @property
    def first(self) -> dt.date:
        return self.date or self.from_  # type: ignore[return-value]

    @property
    def last(self) -> dt.date:
        return self.date or self.to  # type: ignore[return-value]


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class WorkingDay(_Frozen):
    """A date worked although the calendar says otherwise (a weekend day swapped for a
    holiday). It keeps the hours of the weekday `like` (Monday unless said), or its own
    `hours`."""

    date: Date
    like: Weekday = "mon"
    hours: str | None = None
    name: str = ""

    @model_validator(mode="after")
    def _check_hours(self) -> "WorkingDay":
        if self.hours is not None:
            parse_hours(self.hours)
        return self


# --- routes -----------------------------------------------------------------------------------

DESTINATIONS = ("queue", "flow", "prompt", "agent", "voicemail", "ring_group")


class Destination(_Frozen):
    """Where a call goes: exactly one of a queue, an IVR flow, a prompt played before hanging
    up (`prompt: closed`), an agent (the duty agent, by id), a voicemail box (by name) or a
    ring group (by its number in `sip.ring_groups`)."""

    queue: str | None = None
    flow: str | None = None
    prompt: Identifier | None = None
    agent: str | None = None
    voicemail: Identifier | None = None
    ring_group: Annotated[str, Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _check_one(self) -> "Destination":
        given = [field for field in DESTINATIONS if getattr(self, field) is not None]
        if len(given) != 1:
            got = ", ".join(given) if given else "none"
            raise ValueError(f"expected exactly one destination of {', '.join(DESTINATIONS)}; "
                             f"got {got}")
        return self

    @property
    def target(self) -> tuple[str, str]:
        """(kind, name): `("queue", "sales")`, `("prompt", "closed")` ..."""
        kind = next(field for field in DESTINATIONS if getattr(self, field) is not None)
        return kind, getattr(self, kind)


class Route(Destination):
    """Sends calls arriving on `trunk_group` to its destination. Routes are tried in file order
    and the first that matches wins; a condition left out matches any call.

    Conditions: `line` (the line that rang, on a group without called numbers), `dnis` (a
    number or a prefix ending in '*'), `ani_prefix`, `caller_list` (a member of that list).
    With a `schedule`, the route's own destination serves the open hours, `after_hours` the
    rest and `holiday` the site's holidays (after_hours when left out); a route whose schedule
    is closed and that has no destination for it does not match, so the next route is tried.

    `priority` overrides the queue's for calls it sends to a queue; `caller_priority` gives
    members of the lists it names their own (the first list that has the caller wins)."""

    trunk_group: str
    line: Annotated[str, Field(min_length=1)] | None = None
    dnis: Pattern | None = None
    ani_prefix: Annotated[str, Field(min_length=1)] | None = None
    caller_list: Identifier | None = None
    schedule: Identifier | None = None
    after_hours: Destination | None = None
    holiday: Destination | None = None
    priority: Whole | None = None
    caller_priority: dict[Identifier, Whole] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_schedule(self) -> "Route":
        if self.schedule is None and (self.after_hours or self.holiday):
            field = "after_hours" if self.after_hours else "holiday"
            raise ValueError(f"{field} needs a schedule saying when the route is open; got none")
        return self

    def destinations(self) -> Iterator[tuple[tuple[str, ...], Destination]]:
        """(field path, destination) for the route's own and its out-of-hours ones."""
        yield (), self
        for field in ("after_hours", "holiday"):
            if (other := getattr(self, field)) is not None:
                yield (field,), other


# --- checks across the site -------------------------------------------------------------------


class RoutingSite(Protocol):
    """What `routing_problems` reads of a site."""

    routes: Sequence[Route]
    caller_lists: Mapping[str, Sequence[str]]
    schedules: Mapping[str, Schedule]
    holidays: Sequence[Holiday]
    working_days: Sequence[WorkingDay]


class Known(NamedTuple):
    """The site's names a route may refer to, beyond the routing part itself."""

    queues: Sequence[str]
    flows: Sequence[str]
    agents: Sequence[str]
    lineless_groups: Sequence[str]  # trunk groups whose calls bring no called number
    prompts: Sequence[str] = ()  # prompts a `prompt:` destination may play: built-in or own
    ring_groups: Sequence[str] = ()  # the numbers of `sip.ring_groups`


def routing_problems(site: RoutingSite, known: Known) -> Iterator[Problem]:
    """Every dangling reference and contradiction in the routing part, at its own field."""
    for index, route in enumerate(site.routes):
        yield from _route_references(site, known, route, ("routes", index))
    yield from _calendar_problems(site)


def _route_references(site: RoutingSite, known: Known, route: Route,
                      loc: tuple[str | int, ...]) -> Iterator[Problem]:
    if route.line is not None and route.trunk_group not in known.lineless_groups:
        yield ((*loc, "line"), f"lines tell calls apart on analog groups only (calls without a "
                               f"called number); trunk group {route.trunk_group!r} is not one: "
                               "use dnis")
    if route.caller_list is not None:
        yield from _unknown((*loc, "caller_list"), route.caller_list, site.caller_lists,
                            "caller list")
    for name in route.caller_priority:
        yield from _unknown((*loc, "caller_priority", name), name, site.caller_lists,
                            "caller list")
    if route.schedule is not None:
        yield from _unknown((*loc, "schedule"), route.schedule, site.schedules, "schedule")
    for path, destination in route.destinations():
        yield from _destination_problems(known, destination, (*loc, *path))


def _destination_problems(known: Known, destination: Destination,
                          loc: tuple[str | int, ...]) -> Iterator[Problem]:
    kind, name = destination.target
    if kind == "queue":
        yield from _unknown((*loc, "queue"), name, known.queues, "queue")
    elif kind == "flow":
        yield from _unknown((*loc, "flow"), name, known.flows, "flow")
    elif kind == "agent":
        yield from _unknown((*loc, "agent"), name, known.agents, "agent")
    elif kind == "ring_group":
        yield from _unknown((*loc, "ring_group"), name, known.ring_groups, "ring group")
    elif kind == "prompt" and name not in known.prompts:
        yield ((*loc, "prompt"), f"no prompt named {name!r} (a built-in one such as 'closed', "
                                 "or one of ivr.prompts with a text in media.language)")


def _unknown(loc: tuple[str | int, ...], name: str, names: Any, what: str) -> Iterator[Problem]:
    if name not in names:
        have = ", ".join(names) if len(names) <= 20 else f"{len(names)} of them"
        yield (loc, f"no {what} named {name!r} ({what}s: {have or 'none'})")


def _calendar_problems(site: RoutingSite) -> Iterator[Problem]:
    holidays = sorted((h.first, h.last, i) for i, h in enumerate(site.holidays))
    reach: tuple[dt.date, int] | None = None  # the latest last day so far, and whose
    for first, last, index in holidays:
        if reach is not None and first <= reach[0]:
            yield (("holidays", index), f"overlaps holidays[{reach[1]}]: expected each day in "
                                        "one entry only")
        if reach is None or last > reach[0]:
            reach = (last, index)
    seen: dict[dt.date, int] = {}
    for index, day in enumerate(site.working_days):
        if day.date in seen:
            yield (("working_days", index, "date"),
                   f"{day.date} is also working_days[{seen[day.date]}]")
        seen.setdefault(day.date, index)
        clash = next((i for first, last, i in holidays if first <= day.date <= last), None)
        if clash is not None:
            yield (("working_days", index, "date"),
                   f"{day.date} is also a holiday (holidays[{clash}]): expected a day that is "
                   "one or the other")
