"""Outside numbers dialled from a phone: which trunk group's route out a number takes (by the
prefix dialled before it), the number sent to the gateway, and whether the phone may dial it.
Pure functions of the site's settings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from appliance.config.live import DialPermission, DialPlan
from appliance.config.schema import TrunkGroup

# Each permission allows the classes before it (and itself).
_RANKS: dict[str, int] = {"internal": 0, "local": 1, "national": 2, "international": 3}


class RouteOut(NamedTuple):
    """Where a dialled outside number goes: the trunk group, the number without the route's
    prefix (what dial permissions judge) and the number as sent to the gateway."""

    group: TrunkGroup
    number: str
    sent: str


def route_out(dialled: str, groups: Sequence[TrunkGroup]) -> RouteOut | None:
    """The route out for `dialled` (digits, perhaps with a leading +): the group whose prefix
    it starts with and the number to send (prefix left off when the route strips it); None
    if no route takes it. The longest prefix wins (the site forbids overlapping ones)."""
    routes = [(len(g.outbound.prefix), g) for g in groups
              if g.outbound is not None and dialled.startswith(g.outbound.prefix)]
    if not routes:
        return None
    length, group = max(routes, key=lambda route: route[0])
    rest = dialled[length:]
    if not rest:
        return None
    assert group.outbound is not None
    return RouteOut(group, rest, rest if group.outbound.strip else dialled)


def route_through(group: TrunkGroup | None, number: str) -> RouteOut | None:
    """`number` called through `group`'s route out (a callback's or a campaign's number):
    sent with the route's prefix unless it strips it; None for no group or no route out."""
    outbound = None if group is None else group.outbound
    if group is None or outbound is None:
        return None
    return RouteOut(group, number, number if outbound.strip else outbound.prefix + number)


def number_class(number: str, plan: DialPlan) -> str:
    """`emergency`, `international`, `national` or `local`: what `number` (prefix of the
    route out left off) is under `plan`."""
    if number in plan.emergency:
        return "emergency"
    if number.startswith(("+", plan.international_prefix)):
        return "international"
    return "national" if number.startswith(plan.national_prefix) else "local"


def may_dial(permission: DialPermission, number: str, plan: DialPlan) -> bool:
    """Whether a phone with `permission` may dial outside `number`: emergency numbers always."""
    kind = number_class(number, plan)
    return kind == "emergency" or _RANKS[kind] <= _RANKS[permission]
