"""Inbound routing: where a call goes, from its trunk group, line, called and calling number
and the local time.

The blacklist is asked first, on every trunk group; then routes in file order, the first that
matches winning. A route with a schedule sends the call to its own destination in open hours,
to `after_hours` or `holiday` otherwise; without a destination for the moment it does not
match. Clock-free: the time comes with each call, and a `WallClock` turns it into a local date
and time only when a route with a schedule is reached.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, NamedTuple

from appliance.pbx.routing.schedule import Calendar, Opening, opening_at

if TYPE_CHECKING:
    from appliance.config import Route, Site
    from appliance.config.routing import Destination, Week
    from appliance.wallclock import WallClock


class Kind(StrEnum):
    """What a call is sent to. A new kind of destination (an IVR flow) is one more member,
    one more field of `Destination` and one more case in call control."""

    QUEUE = "queue"
    FLOW = "flow"  # an IVR flow, from its start node
    PROMPT = "prompt"  # play the prompt named, then hang up (closed)
    AGENT = "agent"  # ring the agent named (the duty agent)
    VOICEMAIL = "voicemail"  # leave a message in the mailbox named
    RING_GROUP = "ring_group"  # ring the ring group numbered so (the B2BUA rings its phones)
    BLACKLISTED = "blacklisted"  # the caller is on the blacklist: busy


class Target(NamedTuple):
    kind: Kind
    name: str  # the queue, prompt, agent id, mailbox or ring group; "" when blacklisted


class Decision(NamedTuple):
    """A call's routing: where it goes, the priority it queues with (None: the queue's own)
    and the index of the route that decided (-1: the blacklist)."""

    target: Target
    priority: int | None
    route: int


BLACKLISTED = Target(Kind.BLACKLISTED, "")
_BLACKLISTED = Decision(BLACKLISTED, None, -1)


class Numbers:
    """A set of numbers and prefixes (written ending in '*'), for quick membership tests."""

    __slots__ = ("_exact", "_prefixes")

    def __init__(self, patterns: Iterable[str]) -> None:
        patterns = list(patterns)
        self._exact = frozenset(p for p in patterns if not p.endswith("*"))
        self._prefixes = tuple(p[:-1] for p in patterns if p.endswith("*"))

    def __contains__(self, number: object) -> bool:
        return number in self._exact or (
            isinstance(number, str) and number.startswith(self._prefixes))

    def __bool__(self) -> bool:
        return bool(self._exact or self._prefixes)


def _target(destination: Destination | None) -> Target | None:
    if destination is None:
        return None
    kind, name = destination.target
    return Target(Kind(kind), name)


class _Rule:
    """One route, compiled: its conditions, its destinations by opening, its priorities."""

    __slots__ = ("ani_prefix", "callers", "conditional", "decisions", "dnis", "index", "line",
                 "priorities", "priority", "targets", "week")

    def __init__(self, index: int, route: Route, site: Site) -> None:
        self.index = index
        self.line = route.line
        self.dnis = Numbers([route.dnis]) if route.dnis is not None else None
        self.ani_prefix = route.ani_prefix
        self.callers = None if route.caller_list is None else Numbers(
            site.caller_lists[route.caller_list])
        self.week: Week | None = None if route.schedule is None else (
            site.schedules[route.schedule].week)
        after_hours = _target(route.after_hours)
        self.targets = {Opening.OPEN: _target(route), Opening.CLOSED: after_hours,
                        Opening.HOLIDAY: _target(route.holiday) or after_hours}
        self.priority = route.priority
        self.priorities = [(Numbers(site.caller_lists[name]), priority)
                           for name, priority in route.caller_priority.items()]
        # Most routes have no condition beyond the trunk group and no caller priorities:
        # their decision is made once here, not per call.
        self.conditional = any(condition is not None for condition in (
            self.line, self.dnis, self.ani_prefix, self.callers))
        self.decisions = {opening: None if target is None or self.priorities else
                          Decision(target, self.priority, index)
                          for opening, target in self.targets.items()}

    def matches(self, ani: str, dnis: str, line: str) -> bool:
        return ((self.line is None or line == self.line)
                and (self.dnis is None or dnis in self.dnis)
                and (self.ani_prefix is None or ani.startswith(self.ani_prefix))
                and (self.callers is None or ani in self.callers))

    def decision(self, opening: Opening, ani: str) -> Decision | None:
        """Where the route sends a call from `ani` at `opening`; None if nowhere then."""
        made = self.decisions[opening]
        if made is not None:
            return made
        target = self.targets[opening]
        if target is None:
            return None
        priority = next((p for members, p in self.priorities if ani in members), self.priority)
        return Decision(target, priority, self.index)


class Router:
    """Routes calls for one loaded site. `wallclock` (core time -> local date and time) is
    required when a route has a schedule; a ValueError says so otherwise."""

    def __init__(self, site: Site, wallclock: WallClock | None = None) -> None:
        if wallclock is None and any(route.schedule for route in site.routes):
            raise ValueError("the site's routes follow schedules: give the router a wall clock")
        self._wallclock = wallclock
        self._blacklist = Numbers(site.blacklist) if site.blacklist else None
        self._calendar = Calendar(((h.first, h.last) for h in site.holidays), site.working_days)
        self._by_group: dict[str, list[_Rule]] = {}
        for index, route in enumerate(site.routes):
            self._by_group.setdefault(route.trunk_group, []).append(_Rule(index, route, site))

    def route(self, now: float, trunk_group: str, ani: str, dnis: str,
              line: str = "") -> Decision | None:
        """Where a call offered at core time `now` goes, or None if no route takes it."""
        if self._blacklist is not None and ani in self._blacklist:
            return _BLACKLISTED
        when: datetime | None = None
        for rule in self._by_group.get(trunk_group, ()):
            if rule.conditional and not rule.matches(ani, dnis, line):
                continue
            opening = Opening.OPEN
            if rule.week is not None:
                when = when or self._wallclock(now)  # type: ignore[misc]
                opening = opening_at(rule.week, self._calendar, when)
            decision = rule.decision(opening, ani)
            if decision is not None:
                return decision
        return None
