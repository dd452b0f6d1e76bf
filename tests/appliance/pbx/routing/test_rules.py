"""The router's rules one at a time: trunk group, line, called number, caller number and
list, blacklist, file order, priorities, and the tenants of one site."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.config import Site
from appliance.config.routing import Destination, pattern_matches
from appliance.pbx.routing import (
    BLACKLISTED,
    Calendar,
    Decision,
    Kind,
    Numbers,
    Router,
    Target,
    opening_at,
)
from tests.appliance.pbx.routing.sites import MONDAY, at, build, clock, tenants


def target(router: Router, group: str, ani: str = "", dnis: str = "", line: str = "",
           now: float = 0.0) -> Target | None:
    decision = router.route(now, group, ani, dnis, line)
    return None if decision is None else decision.target


def queue(name: str) -> Target:
    return Target(Kind.QUEUE, name)


def test_first_matching_route_wins_in_file_order() -> None:
    router = Router(build([
        {"trunk_group": "carrier", "dnis": "8002", "ani_prefix": "139", "queue": "service",
         "priority": 9},
        {"trunk_group": "carrier", "dnis": "8002", "queue": "sales"},
        {"trunk_group": "carrier", "queue": "service"},
    ]))
    assert router.route(0, "carrier", "13900001111", "8002") == Decision(queue("service"), 9, 0)
    assert router.route(0, "carrier", "02100001111", "8002") == Decision(queue("sales"), None, 1)
    assert router.route(0, "carrier", "02100001111", "8003") == Decision(
        queue("service"), None, 2)
    assert router.route(0, "nowhere", "", "") is None


def test_called_number_exact_or_prefix() -> None:
    router = Router(build([{"trunk_group": "carrier", "dnis": "40080*", "queue": "sales"},
                           {"trunk_group": "carrier", "dnis": "4008", "queue": "service"}]))
    assert target(router, "carrier", dnis="400801234") == queue("sales")
    assert target(router, "carrier", dnis="40080") == queue("sales")  # the prefix itself
    assert target(router, "carrier", dnis="4008") == queue("service")
    assert target(router, "carrier", dnis="40081") is None


def test_analog_calls_are_told_apart_by_line() -> None:
    router = Router(build([{"trunk_group": "lines", "line": "2", "queue": "sales"},
                           {"trunk_group": "lines", "queue": "service"}]))
    assert target(router, "lines", line="2") == queue("sales")
    assert target(router, "lines", line="3") == queue("service")
    assert target(router, "lines") == queue("service")  # a driver that does not say


def test_caller_list_membership_by_number_or_prefix() -> None:
    router = Router(build([{"trunk_group": "carrier", "caller_list": "vip", "queue": "sales"},
                           {"trunk_group": "carrier", "queue": "service"}],
                          caller_lists={"vip": ["13800138000", "1390*"]}))
    assert target(router, "carrier", ani="13800138000") == queue("sales")
    assert target(router, "carrier", ani="13901234567") == queue("sales")
    assert target(router, "carrier", ani="1380013800") == queue("service")
    assert target(router, "carrier", ani="") == queue("service")


def test_blacklist_gives_busy_before_any_route_on_every_group() -> None:
    router = Router(build([{"trunk_group": "carrier", "caller_list": "vip", "queue": "sales"},
                           {"trunk_group": "lines", "queue": "service"}],
                          caller_lists={"vip": ["4001234567"]},
                          blacklist=["4001234567", "00852*"]))
    for group in ("carrier", "lines"):
        assert router.route(0, group, "4001234567", "") == Decision(BLACKLISTED, None, -1)
        assert target(router, group, ani="0085212345678") == BLACKLISTED
    assert target(router, "lines", ani="4001234568") == queue("service")


def test_priority_by_caller_list_first_list_wins_else_the_route_s() -> None:
    router = Router(build(
        [{"trunk_group": "carrier", "queue": "sales", "priority": 1,
          "caller_priority": {"gold": 10, "silver": 5}}],
        caller_lists={"gold": ["138*"], "silver": ["1380*", "139*"]}))
    assert router.route(0, "carrier", "13801", "").priority == 10  # on both: gold is first
    assert router.route(0, "carrier", "13901", "").priority == 5
    assert router.route(0, "carrier", "02101", "").priority == 1


def test_a_scheduled_route_needs_a_wall_clock() -> None:
    site = build([{"trunk_group": "carrier", "schedule": "office", "queue": "sales"}],
                 schedules={"office": {"mon-fri": "08:30-18:00"}})
    with pytest.raises(ValueError, match="wall clock"):
        Router(site)


def test_scheduled_route_without_after_hours_lets_the_next_route_take_the_call() -> None:
    site = build([{"trunk_group": "carrier", "schedule": "office", "queue": "sales"},
                  {"trunk_group": "carrier", "queue": "night"}],
                 schedules={"office": {"mon-fri": "08:30-18:00"}})
    router = Router(site, clock())
    assert target(router, "carrier", now=at(datetime(2026, 9, 28, 9))) == queue("sales")
    assert target(router, "carrier", now=at(datetime(2026, 9, 28, 19))) == queue("night")


def test_the_wall_clock_is_read_only_for_scheduled_routes() -> None:
    asked: list[float] = []
    site = build([{"trunk_group": "lines", "queue": "service"},
                  {"trunk_group": "carrier", "schedule": "office", "queue": "sales"}],
                 schedules={"office": {"mon-fri": "08:30-18:00"}})
    router = Router(site, lambda t: asked.append(t) or clock()(t))  # type: ignore[func-returns-value]
    router.route(5.0, "lines", "", "")
    assert asked == []
    router.route(7.0, "carrier", "", "")
    assert asked == [7.0]


def test_numbers_hold_exact_numbers_and_prefixes() -> None:
    numbers = Numbers(["123", "45*"])
    assert "123" in numbers and "4567" in numbers and "45" in numbers
    assert "1234" not in numbers and "4" not in numbers
    assert not Numbers([])


# --- two tenants on one site ---------------------------------------------------------------

TUESDAY_10 = datetime(2026, 9, 29, 10)


@pytest.mark.parametrize(("dnis", "when", "expected"), [
    ("4008001000", TUESDAY_10, queue("travel-sales")),
    ("4008001001", TUESDAY_10, queue("travel-care")),
    ("4008002001", TUESDAY_10, queue("clinic-desk")),
    ("4008002099", datetime(2026, 9, 29, 19, 30), queue("clinic-desk")),  # clinic opens late
    ("4008001000", datetime(2026, 9, 29, 19, 30), Target(Kind.PROMPT, "closed")),
    ("4008001001", datetime(2026, 9, 29, 12, 30), Target(Kind.VOICEMAIL, "travel")),  # lunch
    ("4008002001", datetime(2026, 9, 29, 22), Target(Kind.AGENT, "2009")),
    ("4008002001", datetime(2026, 10, 3, 10), queue("clinic-night")),  # golden week
    ("4008001000", datetime(2026, 10, 3, 10), Target(Kind.PROMPT, "closed")),  # holiday
    ("4008001000", datetime(2026, 10, 10, 10), queue("travel-sales")),  # a swapped Saturday
    ("4008003000", TUESDAY_10, None),  # neither tenant's number
])
def test_tenants_numbers_reach_their_own_queues_and_hours(dnis, when, expected) -> None:
    router = Router(tenants(), clock())
    assert target(router, "carrier", "02155556666", dnis, now=at(when)) == expected


def test_tenants_share_the_blacklist_and_analog_lines() -> None:
    router = Router(tenants(), clock())
    assert target(router, "carrier", "4001234567", "4008002001") == BLACKLISTED
    assert target(router, "lines", line="1") == queue("clinic-desk")
    assert target(router, "lines", line="4") == queue("travel-care")
    gold = router.route(at(TUESDAY_10), "carrier", "13900139123", "4008001000")
    assert gold == Decision(queue("travel-sales"), 10, 0)


# --- against a reference --------------------------------------------------------------------


def _reference(site: Site, when: datetime, group: str, ani: str, dnis: str,
               line: str) -> tuple[str, str] | None:
    """The routing rules read plainly off the site, with the schedule's answer taken from
    the tested `opening_at` (its own reference check is in test_schedule.py)."""
    if any(pattern_matches(p, ani) for p in site.blacklist):
        return ("blacklisted", "")
    calendar = Calendar([(h.first, h.last) for h in site.holidays], site.working_days)
    for route in site.routes:
        if route.trunk_group != group or (route.line is not None and route.line != line):
            continue
        if route.dnis is not None and not pattern_matches(route.dnis, dnis):
            continue
        if route.ani_prefix is not None and not ani.startswith(route.ani_prefix):
            continue
        members = site.caller_lists.get(route.caller_list or "", [])
        if route.caller_list and not any(pattern_matches(p, ani) for p in members):
            continue
        chosen: Destination | None = route
        if route.schedule is not None:
            opening = opening_at(site.schedules[route.schedule].week, calendar, when).value
            if opening == "closed":
                chosen = route.after_hours
            elif opening == "holiday":
                chosen = route.holiday or route.after_hours
        if chosen is not None:
            return chosen.target
    return None


NUMBERS = ["4008001000", "4008001001", "4008002000", "4008002077", "400800200", "4008003000",
           "13800138000", "13900139555", "4001234567", "0085299123", "02155556666", ""]


@settings(max_examples=300, deadline=None)
@given(group=st.sampled_from(["carrier", "lines", "other"]), ani=st.sampled_from(NUMBERS),
       dnis=st.sampled_from(NUMBERS), line=st.sampled_from(["", "1", "2"]),
       minute=st.integers(0, 21 * 24 * 60))
def test_router_agrees_with_the_plain_reading_of_the_rules(group, ani, dnis, line,
                                                          minute) -> None:
    site = _TENANTS
    when = MONDAY + timedelta(minutes=minute)
    decision = Router(site, clock()).route(at(when), group, ani, dnis, line)
    got = None if decision is None else (decision.target.kind.value, decision.target.name)
    assert got == _reference(site, when, group, ani, dnis, line)


_TENANTS = tenants()
