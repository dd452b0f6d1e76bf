"""Screen-pop: what the IVR learnt of a caller - language, variables, the fields a lookup
found - reaches the agent's phone in the INVITE that rings it."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import unquote

from appliance.pbx.b2bua.screenpop import MAX_VALUE, screen_pop_headers
from appliance.pbx.callcontrol import CallData
from appliance.wallclock import from_origin
from tests.appliance.pbx.b2bua.harness import live_site
from tests.appliance.pbx.b2bua.test_races import CheckedLab

FLOW = {"name": "main", "start": "find", "nodes": [
    {"name": "find", "kind": "access_db", "lookup": "crm", "key": "${ANI}",
     "into": {"name": "name", "balance": "balance"}, "found": "service",
     "not_found": "service", "failed": "service"},
    {"name": "service", "kind": "to_queue", "queue": "service"},
]}
IVR = {"language": "zh", "variables": ["name", "balance"], "prompts": {},
       "lookups": {"crm": {"kind": "sqlite", "database": "crm.db", "table": "customers",
                           "key": "phone", "fields": ["name", "balance"]}},
       "flows": [FLOW]}


def rung_with(found: dict[str, str]) -> dict[str, list[str]]:
    """The headers of the INVITE that rings the agent, after the lookup found `found`."""
    site = live_site(agents=1, routes=[{"trunk_group": "pstn", "flow": "main"}],
                     more={"ivr": IVR})
    lab = CheckedLab(site, wallclock=from_origin(datetime(2026, 12, 7, 10, 0)),
                     prompt_seconds=lambda names, language: 0.2 * len(names))
    lab.register_all()
    call = lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    (lookup,) = lab.box.take_lookups()
    lab.box.lookup_done(lookup.call, found, lab.net.now)
    lab.net.poke(lab.box.local)
    lab.run(0.5)
    (incoming,) = lab.phones["a1"].calls.values()
    headers = incoming.invite.headers
    lab.do(lab.gateway, "hangup", call)
    lab.settle()
    return {name: headers.get_all(name) for name in ("X-CCBox-Language", "X-CCBox-Var")}


def test_the_agents_phone_is_rung_with_the_callers_language_and_looked_up_fields() -> None:
    headers = rung_with({"name": "张三, VIP; gold", "balance": "12.30"})
    assert headers["X-CCBox-Language"] == ["zh"]
    values = dict(value.split("=", 1) for value in headers["X-CCBox-Var"])
    assert {name: unquote(value) for name, value in values.items()} == {
        "name": "张三, VIP; gold", "balance": "12.30"}
    assert all("," not in value and ";" not in value for value in values.values())


def test_variables_without_a_value_are_left_out() -> None:
    headers = rung_with({})  # not found: nothing to show but the language
    assert headers == {"X-CCBox-Language": ["zh"], "X-CCBox-Var": []}


def test_a_long_value_is_cut_and_a_call_without_an_ivr_gets_no_headers() -> None:
    [(_, value)] = screen_pop_headers(CallData("1", "2", "", {"note": "x" * 5000}))
    assert value == "note=" + "x" * MAX_VALUE
    assert screen_pop_headers(None) == []
    assert screen_pop_headers(CallData("1", "2", "", {})) == []
