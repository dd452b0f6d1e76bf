"""The IVR section of a site: a valid example loads; each mistake is refused at its field path,
naming the flow, the node and what is wrong."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from appliance.config import ConfigError, load_site, parse_site
from appliance.config.ivr import MAX_USER_VARIABLES, PlayOption, references

IVR: dict[str, Any] = {
    "variables": ["ACCOUNT", "PIN", "BALANCE"],
    "prompts": {
        "languages": {"en": "For English press 1.", "zh": "中文服务请按2。"},
        "main_menu": {"en": "For your balance press 1, for an agent press 2.",
                      "zh": "查询余额请按1，人工服务请按2。"},
        "enter_pin": {"en": "Please enter your PIN, then the hash key.",
                      "zh": "请输入密码，以井号键结束。"},
        "balance_is": {"en": "Your balance is", "zh": "您的余额是"},
    },
    "lookups": {
        "customers": {"kind": "sqlite", "database": "customers.db", "table": "customers",
                      "key": "phone", "fields": ["account", "pin", "balance"]},
        "crm": {"kind": "http", "url": "http://127.0.0.1:8080/caller/${ANI}",
                "fields": ["account"]},
    },
    "flows": [
        {"name": "main", "start": "language", "on_hangup": "cleanup", "nodes": [
            {"name": "language", "kind": "select_language", "prompts": "languages",
             "languages": {1: "en", 2: "zh"}, "next": "lookup", "default": "lookup"},
            {"name": "lookup", "kind": "access_db", "lookup": "customers", "key": "${ANI}",
             "into": {"account": "ACCOUNT", "pin": "PIN", "balance": "BALANCE"},
             "found": "menu", "not_found": "agents"},
            {"name": "menu", "kind": "play_option", "prompts": ["main_menu"],
             "options": {1: "pin", 2: "agents", 9: "menu"}, "default": "agents"},
            {"name": "pin", "kind": "play_digit", "prompts": "enter_pin", "variable": "PIN",
             "max_digits": 6, "min_digits": 4, "next": "check", "default": "agents"},
            {"name": "check", "kind": "var_compare", "variable": "PIN", "op": "eq",
             "value": "${PIN}", "if_true": "balance", "if_false": "agents"},
            {"name": "balance", "kind": "play_number", "prompts": "balance_is",
             "value": "${BALANCE}", "say_as": "money", "next": "bye"},
            {"name": "bye", "kind": "stop_flow", "prompts": "goodbye"},
            {"name": "agents", "kind": "to_flow", "flow": "service"},
            {"name": "cleanup", "kind": "user_stop_flow", "assign": {"ACCOUNT": "${ANI}"}},
        ]},
        {"name": "service", "start": "queue", "nodes": [
            {"name": "queue", "kind": "to_queue", "queue": "service", "priority": 3},
        ]},
    ],
}

Edit = Callable[[dict[str, Any]], None]


def node(flow: int, index: int, /, **fields: Any) -> Edit:
    def edit(ivr: dict[str, Any]) -> None:
        ivr["flows"][flow]["nodes"][index].update(fields)
    return edit


def without(flow: int, index: int, field: str) -> Edit:
    def edit(ivr: dict[str, Any]) -> None:
        del ivr["flows"][flow]["nodes"][index][field]
    return edit


def add_node(flow: int, /, **fields: Any) -> Edit:
    return lambda ivr: ivr["flows"][flow]["nodes"].append(fields)


def top(**fields: Any) -> Edit:
    return lambda ivr: ivr.update(fields)


MENU = "ivr.flows[0] (main).nodes[2] (menu)"
LOOKUP = "ivr.flows[0] (main).nodes[1] (lookup)"

# (edit, field path, words the message must contain)
CASES: dict[str, tuple[Edit, str, list[str]]] = {
    "unknown node kind": (
        node(0, 2, kind="play_options"), f"{MENU}.kind",
        ["expected one of 'access_db'", "'hang_up'", "got 'play_options'"]),
    "field of the node's own kind": (
        node(0, 2, retries="twice"), f"{MENU}.retries", ["expected a whole number"]),
    "field of another kind": (
        node(0, 2, max_digits=3), f"{MENU}.max_digits", ["unknown field 'max_digits'"]),
    "unknown node": (
        node(0, 2, default="nowhere"), f"{MENU}.default",
        ["flow 'main', node 'menu'", "no node named 'nowhere'"]),
    "unknown start": (
        lambda ivr: ivr["flows"][0].update(start="begin"), "ivr.flows[0] (main).start",
        ["flow 'main'", "no node named 'begin'"]),
    "unknown option target": (
        node(0, 2, options={1: "pin", 2: "agent"}), f"{MENU}.options.2",
        ["no node named 'agent'"]),
    "unknown flow": (
        node(0, 7, flow="sales"), "ivr.flows[0] (main).nodes[7] (agents).flow",
        ["node 'agents'", "no flow named 'sales'", "main, service"]),
    "unknown queue": (
        node(1, 0, queue="sales"), "ivr.flows[1] (service).nodes[0] (queue).queue",
        ["flow 'service', node 'queue'", "no queue named 'sales'", "service, billing"]),
    "unknown agent": (
        lambda ivr: ivr["flows"][1]["nodes"].__setitem__(
            0, {"name": "queue", "kind": "to_agent", "agent": "9999"}),
        "ivr.flows[1] (service).nodes[0] (queue).agent", ["no agent with id '9999'"]),
    "unknown prompt": (
        node(0, 2, prompts=["main_menu", "mian_menu"]), f"{MENU}.prompts",
        ["node 'menu'", "no prompt named 'mian_menu'"]),
    "unknown variable read": (
        node(0, 5, value="${BALANCE_}"), "ivr.flows[0] (main).nodes[5] (balance).value",
        ["node 'balance'", "no variable named 'BALANCE_'", "built-in: DNIS, ANI"]),
    "unknown variable written": (
        node(0, 3, variable="CODE"), "ivr.flows[0] (main).nodes[3] (pin).variable",
        ["no variable named 'CODE'"]),
    "built-in variable written": (
        node(0, 3, variable="ANI"), "ivr.flows[0] (main).nodes[3] (pin).variable",
        ["'ANI' is a built-in variable and cannot be set"]),
    "unknown lookup": (
        node(0, 1, lookup="ldap"), f"{LOOKUP}.lookup",
        ["node 'lookup'", "no lookup named 'ldap'", "customers, crm"]),
    "unknown lookup field": (
        node(0, 1, into={"acount": "ACCOUNT"}), f"{LOOKUP}.into.acount",
        ["lookup 'customers' has no field 'acount'"]),
    "unknown lookup kind": (
        lambda ivr: ivr["lookups"]["crm"].update(kind="ldap"), "ivr.lookups.crm.kind",
        ["expected one of 'sqlite', 'http'", "got 'ldap'"]),
    "unknown variable in a url": (
        lambda ivr: ivr["lookups"]["crm"].update(url="http://x/${CALLER}"),
        "ivr.lookups.crm.url", ["no variable named 'CALLER'"]),
    "input node without a way out": (
        without(0, 2, "default"), f"{MENU}.default",
        ["flow 'main', node 'menu'", "needs a way out", "give default"]),
    "unreachable node": (
        add_node(0, name="orphan", kind="hang_up"), "ivr.flows[0] (main).nodes[9] (orphan).name",
        ["flow 'main'", "node 'orphan' cannot be reached from the start ('language')"]),
    "menu that loops on silence": (
        node(0, 2, default="menu"), f"{MENU}.name",
        ["cycle main.menu -> main.menu", "a caller who presses nothing would go round it"]),
    "loop that spins in no time": (
        node(0, 4, if_false="check"), "ivr.flows[0] (main).nodes[4] (check).name",
        ["cycle main.check -> main.check", "spin round it forever"]),
    "silent loop across flows": (
        top(flows=[
            {"name": "a", "start": "go", "nodes": [{"name": "go", "kind": "to_flow",
                                                    "flow": "b"}]},
            {"name": "b", "start": "go", "nodes": [{"name": "go", "kind": "to_flow",
                                                    "flow": "a"}]}]),
        "ivr.flows[0] (a).nodes[0] (go).name", ["cycle a.go -> b.go -> a.go"]),
    "on_hangup not a user stop flow": (
        lambda ivr: ivr["flows"][0].update(on_hangup="menu"), "ivr.flows[0] (main).on_hangup",
        ["expected a user_stop_flow node; 'menu' is play_option"]),
    "branch to the user stop flow": (
        node(0, 1, not_found="cleanup"), f"{LOOKUP}.not_found",
        ["'cleanup' is a user_stop_flow node, which runs only when the caller hangs up"]),
    "too many variables": (
        top(variables=[f"V{i}" for i in range(MAX_USER_VARIABLES + 1)]), "ivr.variables",
        ["expected at most 8 user variables; got 9"]),
    "built-in variable declared": (
        top(variables=["ACCOUNT", "PIN", "BALANCE", "DATE"]), "ivr.variables[3]",
        ["'DATE' is a built-in variable"]),
    "prompt missing a language": (
        lambda ivr: ivr["prompts"]["main_menu"].pop("zh"), "ivr.prompts.main_menu",
        ["prompt 'main_menu' has no text in zh"]),
    "language not offered": (
        node(0, 0, languages={1: "en", 2: "fr"}),
        "ivr.flows[0] (main).nodes[0] (language).languages.2", ["expected one of 'en', 'zh'"]),
    "not a key": (
        node(0, 2, options={1: "pin", 12: "agents"}), f"{MENU}.options.12.[key]",
        ["expected one key: 0-9, * or #"]),
    "min above max": (
        node(0, 3, min_digits=8), "ivr.flows[0] (main).nodes[3] (pin).min_digits",
        ["expected at most max_digits (6); got 8"]),
    "duplicate node": (
        node(0, 5, name="menu"), "ivr.flows[0] (main).nodes[5] (menu).name",
        ["duplicate node name 'menu' (also nodes[2])"]),
    "duplicate flow": (
        lambda ivr: ivr["flows"][1].update(name="main"), "ivr.flows[1] (main).name",
        ["duplicate flow name 'main'"]),
}


def site_with(base_site: dict[str, Any], ivr: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(base_site)
    data["ivr"] = ivr
    return data


def test_the_example_ivr_loads(base_site: dict[str, Any]) -> None:
    site = parse_site(yaml.safe_dump(site_with(base_site, IVR), allow_unicode=True))
    assert site.ivr is not None
    menu = site.ivr.flow("main").node("menu")
    assert isinstance(menu, PlayOption)
    assert menu.options == {"1": "pin", "2": "agents", "9": "menu"}  # keys read as text
    assert site.ivr.flow("main").node("pin").prompts == ["enter_pin"]  # one name is a list


def test_a_site_without_an_ivr_still_loads(base_site: dict[str, Any]) -> None:
    assert parse_site(yaml.safe_dump(base_site)).ivr is None


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_broken_ivr_is_refused_at_its_path(case: str, base_site, write_site) -> None:
    edit, path, words = CASES[case]
    ivr = copy.deepcopy(IVR)
    edit(ivr)
    file = write_site(site_with(base_site, ivr))
    with pytest.raises(ConfigError) as caught:
        load_site(file)
    messages = [message for where, message in caught.value.problems if where == path]
    assert messages, f"no problem at {path!r}; got {caught.value.problems}"
    assert all(word in messages[0] for word in words), messages[0]


def test_references_lists_the_variables_read() -> None:
    assert references("${ANI}-${PIN}") == ["ANI", "PIN"]
