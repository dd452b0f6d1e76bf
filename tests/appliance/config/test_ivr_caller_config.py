"""The callers' IVR behaviour in the traffic section: a valid one loads; each mistake is
refused at its field path, saying what is wrong."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import yaml

from appliance.config import ConfigError, parse_site
from tests.factories import site_dict

FLOW = {"name": "main", "start": "menu", "nodes": [
    {"name": "menu", "kind": "play_option", "prompts": "menu",
     "options": {"1": "pin", "2": "service"}, "default": "service"},
    {"name": "pin", "kind": "play_digit", "prompts": "menu", "variable": "pin",
     "max_digits": 4, "min_digits": 4, "next": "find", "default": "service"},
    {"name": "find", "kind": "access_db", "lookup": "crm", "key": "${pin}",
     "into": {"balance": "balance"}, "found": "service", "not_found": "service"},
    {"name": "service", "kind": "to_queue", "queue": "service"},
]}


def site(ivr: dict[str, Any] | None = None, lookups: dict[str, Any] | None = None) -> Any:
    call_type = {"name": "general", "trunk_group": "pstn",
                 "talk_time": {"dist": "fixed", "value": 60}}
    if ivr is not None:
        call_type["ivr"] = ivr
    traffic: dict[str, Any] = {"calls_per_hour": 10, "call_types": [call_type]}
    if lookups is not None:
        traffic["lookups"] = lookups
    data = site_dict(traffic=traffic)
    data["routes"] = [{"trunk_group": "pstn", "flow": "main"}]
    data["ivr"] = {"variables": ["pin", "balance"], "prompts": {"menu": {"en": "Press 1."}},
                   "lookups": {"crm": {"kind": "http", "url": "http://127.0.0.1/${pin}",
                                       "fields": ["balance"]}},
                   "flows": [FLOW]}
    return parse_site(yaml.safe_dump(data), source="<test>")


def refused(**kwargs: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        site(**kwargs)
    return str(caught.value)


def test_a_full_behaviour_loads() -> None:
    loaded = site({"choices": {"main.menu": {"1": 0.3, "2": 0.6}}, "wrong_key": 0.02,
                   "no_key": 0.05, "key_delay": {"dist": "exponential", "mean": 2},
                   "digits": {"main.pin": "1234"},
                   "patience": {"dist": "exponential", "mean": 60}},
                  lookups={"crm": {"found": 0.8, "fields": {"balance": "12.30"}}})
    assert loaded.traffic is not None
    behaviour = loaded.traffic.call_types[0].ivr
    assert behaviour is not None and behaviour.choices["main.menu"]["1"] == 0.3
    assert loaded.traffic.start_date == date(2024, 1, 1)
    assert loaded.traffic.start_date.weekday() == 0  # a Monday


@pytest.mark.parametrize(("ivr", "where", "says"), [
    ({"choices": {"other.menu": {"1": 0.5}}}, "choices.other.menu", "no flow named 'other'"),
    ({"choices": {"main.nope": {"1": 0.5}}}, "choices.main.nope", "has no node 'nope'"),
    ({"choices": {"main.pin": {"1": 0.5}}}, "choices.main.pin", "is a play_digit node"),
    ({"choices": {"main.menu": {"7": 0.5}}}, "choices.main.menu.7", "offers no key '7'"),
    ({"choices": {"main.menu": {"1": 0.6, "2": 0.6}}}, "choices.main.menu", "more than 1"),
    ({"wrong_key": 1.5}, "wrong_key", "expected a number <= 1"),
    ({"digits": {"main.pin": "12"}}, "digits.main.pin", "takes 4 to 4 digits"),
    ({"digits": {"main.menu": "1234"}}, "digits.main.menu", "expected play_digit"),
])
def test_each_mistake_is_refused_at_its_field(ivr: dict[str, Any], where: str,
                                              says: str) -> None:
    message = refused(ivr=ivr)
    assert f"traffic.call_types[0] (general).ivr.{where}:" in message
    assert says in message


def test_an_unknown_lookup_or_field_is_refused() -> None:
    assert "no lookup named 'nope'" in refused(lookups={"nope": {"found": 0.5}})
    assert "has no field 'pin'" in refused(lookups={"crm": {"fields": {"pin": "1"}}})
