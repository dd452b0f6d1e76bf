"""The routing part of a site: every broken reference or range is refused at load, at its
own field, saying what was expected; a good one survives a dump and a reload."""

from __future__ import annotations

from typing import Any

import pytest

from appliance.config import ConfigError, Site, load_site

ROUTING: dict[str, Any] = {
    "caller_lists": {"vip": ["13800138000", "139*"]},
    "blacklist": ["4001234567"],
    "schedules": {"office": {"mon-fri": "08:30-12:00, 13:30-18:00", "sat": "09:00-12:00"}},
    "holidays": [{"date": "2026-10-01", "name": "National Day"},
                 {"from": "2026-10-02", "to": "2026-10-07"}],
    "working_days": [{"date": "2026-10-10"}],
}
ROUTE = {"trunk_group": "carrier", "dnis": "8001", "schedule": "office", "queue": "service",
         "caller_priority": {"vip": 5}, "after_hours": {"prompt": "closed"},
         "holiday": {"agent": "2001"}}

# (change to the routing part, field path, words the message must contain)
CASES: dict[str, tuple[dict[str, Any], str, list[str]]] = {
    "unknown schedule": ({"schedule": "shop"}, "routes[0].schedule",
                         ["no schedule named 'shop'", "office"]),
    "unknown caller list": ({"caller_list": "gold"}, "routes[0].caller_list",
                            ["no caller list named 'gold'", "vip"]),
    "unknown list in priorities": ({"caller_priority": {"gold": 3}},
                                   "routes[0].caller_priority.gold", ["no caller list"]),
    "unknown queue": ({"queue": "sales"}, "routes[0].queue", ["no queue named 'sales'"]),
    "unknown after-hours queue": ({"after_hours": {"queue": "night"}},
                                  "routes[0].after_hours.queue", ["no queue named 'night'"]),
    "unknown duty agent": ({"holiday": {"agent": "7777"}}, "routes[0].holiday.agent",
                           ["no agent named '7777'"]),
    "unknown closed prompt": ({"after_hours": {"prompt": "shut"}}, "routes[0].after_hours.prompt",
                              ["no prompt named 'shut'", "built-in", "ivr.prompts"]),
    "two destinations": ({"voicemail": "general"}, "routes[0]",
                         ["expected exactly one destination", "queue, voicemail"]),
    "no destination": ({"queue": None}, "routes[0]",
                       ["expected exactly one destination", "got none"]),
    "after hours without schedule": ({"schedule": None}, "routes[0]",
                                     ["after_hours needs a schedule"]),
    "line on a group with numbers": ({"line": "1"}, "routes[0].line",
                                     ["analog groups only", "'carrier'"]),
    "star inside a number": ({"dnis": "80*1"}, "routes[0].dnis",
                             ["prefix ending in '*'", "'80*1'"]),
}

SITE_CASES: dict[str, tuple[dict[str, Any], str, list[str]]] = {
    "overlapping hours": ({"schedules": {"office": {"mon": "08:00-12:00, 11:00-13:00"}}},
                          "schedules.office", ["spans overlap", "08:00-12:00, 11:00-13:00"]),
    "malformed hours": ({"schedules": {"office": {"mon": "8h-12h"}}}, "schedules.office",
                        ["expected hours like '08:30-12:00", "'8h-12h'"]),
    "hour out of range": ({"schedules": {"office": {"mon": "08:00-25:00"}}},
                          "schedules.office", ["expected hours like"]),
    "empty span": ({"schedules": {"office": {"mon": "08:00-08:00"}}}, "schedules.office",
                   ["open for some time", "00:00-24:00"]),
    "unknown day": ({"schedules": {"office": {"mon-fry": "08:00-12:00"}}},
                    "schedules.office", ["expected a day like 'mon'", "'mon-fry'"]),
    "day twice": ({"schedules": {"office": {"mon-fri": "08:00-12:00", "fri": "13:00-14:00"}}},
                  "schedules.office", ["fri is given twice"]),
    "night into next day": ({"schedules": {"office": {"fri": "22:00-07:00",
                                                      "sat": "06:00-12:00"}}},
                            "schedules.office", ["fri's span running past midnight overlaps"]),
    "malformed date": ({"holidays": [{"date": "2026-13-01"}]}, "holidays[0].date",
                       ["expected a date written YYYY-MM-DD", "'2026-13-01'"]),
    "date not a date": ({"holidays": [{"date": "National Day"}]}, "holidays[0].date",
                        ["expected a date written YYYY-MM-DD"]),
    "run backwards": ({"holidays": [{"from": "2026-10-07", "to": "2026-10-01"}]},
                      "holidays[0]", ["expected 'to' on or after 'from'"]),
    "half a run": ({"holidays": [{"from": "2026-10-07"}]}, "holidays[0]",
                   ["both 'from' and 'to'"]),
    "overlapping holidays": ({"holidays": [{"from": "2026-10-01", "to": "2026-10-07"},
                                           {"date": "2026-10-03"}]},
                             "holidays[1]", ["overlaps holidays[0]"]),
    "working holiday": ({"working_days": [{"date": "2026-10-03"}]}, "working_days[0].date",
                        ["also a holiday (holidays[1])"]),
    "working day with bad hours": ({"working_days": [{"date": "2026-10-10", "hours": "9-12"}]},
                                   "working_days[0]", ["expected hours like"]),
    "working day like no day": ({"working_days": [{"date": "2026-10-10", "like": "monday"}]},
                                "working_days[0].like", ["expected one of 'mon'"]),
    "blacklist of everyone": ({"blacklist": ["*"]}, "blacklist[0]", ["prefix ending in '*'"]),
}


def _site(site_data: dict[str, Any], route: dict[str, Any], **parts: Any) -> dict[str, Any]:
    site_data.update(ROUTING | parts)
    site_data["routes"].insert(0, {k: v for k, v in (ROUTE | route).items() if v is not None})
    return site_data


def _problem_at(write_site, data: dict[str, Any], path: str) -> str:
    file = write_site(data)
    with pytest.raises(ConfigError) as caught:
        load_site(file)
    assert caught.value.source == str(file)
    messages = [message for where, message in caught.value.problems if where == path]
    assert messages, f"no problem at {path!r}; got {caught.value.problems}"
    return messages[0]


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_broken_route_is_reported_at_its_field(case, site_data, write_site) -> None:
    change, path, words = CASES[case]
    message = _problem_at(write_site, _site(site_data, change), path)
    assert all(word in message for word in words), message


@pytest.mark.parametrize("case", SITE_CASES, ids=list(SITE_CASES))
def test_broken_routing_part_is_reported_at_its_field(case, site_data, write_site) -> None:
    change, path, words = SITE_CASES[case]
    message = _problem_at(write_site, _site(site_data, {}, **change), path)
    assert all(word in message for word in words), message


def test_routing_part_loads_and_survives_a_dump(site_data, write_site) -> None:
    site = load_site(write_site(_site(site_data, {})))
    assert site.routes[0].holiday.target == ("agent", "2001")
    assert site.schedules["office"].week[5] == ((32400.0, 43200.0),)
    assert site.holidays[1].first.isoformat() == "2026-10-02"
    assert Site.model_validate(site.model_dump()) == site
    assert Site.model_validate(site.model_dump(mode="json")) == site


def test_a_closed_prompt_may_be_built_in_without_an_ivr(site_data, write_site) -> None:
    site = load_site(write_site(_site(site_data, {})))
    assert site.ivr is None and site.routes[0].after_hours.target == ("prompt", "closed")


def test_an_own_closed_prompt_needs_a_text_in_the_sites_language(site_data, write_site) -> None:
    flows = [{"name": "main", "start": "bye", "nodes": [{"name": "bye", "kind": "hang_up"}]}]
    ivr = {"language": "zh", "prompts": {"shut": {"zh": "休息"}}, "flows": flows}
    data = _site(site_data, {"after_hours": {"prompt": "shut"}}, ivr=ivr)
    message = _problem_at(write_site, data, "routes[0].after_hours.prompt")
    assert "no prompt named 'shut'" in message
    data["media"] = {"language": "zh"}
    assert load_site(write_site(data)).routes[0].after_hours.target == ("prompt", "shut")
