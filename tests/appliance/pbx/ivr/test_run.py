"""FlowRun node by node: prompts, digits, timeouts, retries, lookups, exits and hang-ups.
Every prompt plays 2 s (harness)."""

from __future__ import annotations

from typing import Any

import pytest

from appliance.eventlog import record_from_json, record_to_json
from appliance.events import IvrExited, IvrExitKind, IvrFlowEntered, IvrLookedUp, IvrVariableSet
from appliance.pbx.actions import LeaveIvr, LookUp, PlayPrompts, StopPrompts
from tests.appliance.pbx.ivr.harness import Harness

PROMPTS = {name: {"en": name, "zh": name}
           for name in ("menu", "ask", "invalid", "silence", "hello", "balance_is", "after")}


def ivr(*nodes: dict[str, Any], variables: tuple[str, ...] = ("X", "Y"),
        extra_flows: tuple[dict[str, Any], ...] = (), **flow: Any) -> dict[str, Any]:
    """An IVR whose flow "main" starts at the first node; "q" (to_queue) and "out"
    (to_voicemail) are added when a node branches to them."""
    exits = [exit for exit in ({"name": "q", "kind": "to_queue", "queue": "service"},
                               {"name": "out", "kind": "to_voicemail", "mailbox": "general"})
             if exit["name"] in _mentioned(nodes)]
    main = {"name": "main", "start": nodes[0]["name"], "nodes": [*nodes, *exits], **flow}
    return {"variables": list(variables), "prompts": PROMPTS,
            "lookups": {"crm": {"kind": "sqlite", "database": "crm.db", "table": "customers",
                                "key": "phone", "fields": ["account", "name"]}},
            "flows": [main, *extra_flows]}


def _mentioned(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list | tuple):
        return set().union(*(_mentioned(item) for item in value))
    return set()


def menu(**fields: Any) -> dict[str, Any]:
    return {"name": "menu", "kind": "play_option", "prompts": "menu",
            "options": {"1": "q", "2": "out"}, "default": "q", **fields}


def ask(**fields: Any) -> dict[str, Any]:
    return {"name": "ask", "kind": "play_digit", "prompts": "ask", "variable": "X",
            "max_digits": 4, "next": "out", "default": "q", **fields}


def exit_of(h: Harness) -> LeaveIvr:
    assert h.run.exit is not None
    return h.run.exit


def played(h: Harness) -> list[tuple[str, ...]]:
    return [action.names for action in h.actions(PlayPrompts)]


# --- play only ------------------------------------------------------------------------------


def hello(barge_in: bool) -> dict[str, Any]:
    return ivr({"name": "hello", "kind": "play_only", "prompts": ["hello", "welcome"],
                "barge_in": barge_in, "next": "q"})


def test_play_only_plays_its_prompts_then_goes_on_when_they_end() -> None:
    h = Harness(hello(True)).start().wait(3.9)
    assert h.run.exit is None
    h.wait(0.1)
    assert h.actions(PlayPrompts) == [PlayPrompts(1, ("hello", "welcome"), "en", True)]
    assert exit_of(h) == LeaveIvr(1, IvrExitKind.QUEUE, "service", None, "en",
                                  {"X": "", "Y": ""})
    assert h.log.records[-1].t == 4.0


def test_a_key_cuts_a_prompt_with_barge_in_short() -> None:
    h = Harness(hello(True)).start().wait(1).press("5")
    assert h.actions(StopPrompts) == [StopPrompts(1)]
    assert exit_of(h).kind == IvrExitKind.QUEUE
    assert h.log.records[-1].t == 1.0


def test_a_key_during_a_prompt_without_barge_in_is_ignored() -> None:
    h = Harness(hello(False)).start().wait(1).press("5")
    assert h.run.exit is None and not h.actions(StopPrompts)
    assert h.finish().log.records[-1].t == 4.0


# --- play option ----------------------------------------------------------------------------


def test_a_menu_key_picks_its_branch() -> None:
    h = Harness(ivr(menu())).start().wait(3).press("2")
    assert h.path() == ["menu", "out"]
    assert h.tries() == [(3.0, "2", "count")]
    assert exit_of(h) == LeaveIvr(1, IvrExitKind.VOICEMAIL, "general", None, "en",
                                  {"X": "", "Y": ""})


def test_a_menu_key_during_the_prompt_stops_it_and_counts() -> None:
    h = Harness(ivr(menu())).start().wait(0.5).press("2")
    assert h.actions(StopPrompts) and h.path() == ["menu", "out"]


def test_a_menu_without_barge_in_hears_keys_only_after_its_prompt() -> None:
    h = Harness(ivr(menu(barge_in=False))).start().wait(0.5).press("2")
    assert h.run.exit is None
    h.wait(2).press("2")
    assert h.path() == ["menu", "out"]


def test_invalid_keys_replay_the_menu_after_the_invalid_prompt_then_take_default() -> None:
    h = Harness(ivr(menu(invalid_prompt="invalid", retries=1))).start().wait(2)
    h.press("7").wait(4).press("9")
    assert played(h) == [("menu",), ("invalid", "menu")]
    assert h.tries() == [(2.0, "7", "count"), (6.0, "9", "count")]
    assert h.path() == ["menu", "q"]


def test_silence_replays_with_the_timeout_prompt_then_leaves_by_on_timeout() -> None:
    h = Harness(ivr(menu(timeout_prompt="silence", timeout=3, retries=2, on_timeout="out")))
    h.start().finish()
    assert played(h) == [("menu",), ("silence", "menu"), ("silence", "menu")]
    # each try: its prompts, then 3 s of silence
    assert h.tries() == [(5.0, "", "timeout"), (12.0, "", "timeout"), (19.0, "", "timeout")]
    assert h.path() == ["menu", "out"]


def test_silence_leaves_by_default_without_on_timeout() -> None:
    h = Harness(ivr(menu(retries=0, timeout=1))).start().finish()
    assert h.path() == ["menu", "q"] and h.now == 3.0


def test_a_menu_may_loop_back_to_itself_on_a_key() -> None:
    h = Harness(ivr(menu(options={"9": "menu", "1": "q"}))).start().wait(2)
    h.press("9").wait(2).press("9").wait(2).press("1")
    assert h.path() == ["menu", "menu", "menu", "q"]


# --- play digit -----------------------------------------------------------------------------


def test_collection_ends_at_max_digits() -> None:
    h = Harness(ivr(ask(max_digits=3))).start().wait(2).press("123", gap=1)
    assert h.tries() == [(4.0, "123", "count")]
    assert exit_of(h).variables["X"] == "123"


def test_collection_ends_at_the_terminator_which_is_not_kept() -> None:
    h = Harness(ivr(ask())).start().wait(2).press("12#")
    assert h.tries() == [(2.0, "12", "terminator")]
    assert h.log.records[-3] == IvrVariableSet(2.0, 1, "X", "12")


def test_first_digit_and_inter_digit_timeouts_differ() -> None:
    h = Harness(ivr(ask(first_digit_timeout=6, inter_digit_timeout=2, min_digits=2)))
    h.start().wait(7.5).press("4").wait(1.9)
    assert h.tries() == []  # prompt 2 s + first-digit 6 s not over before the key at 7.5
    h.press("2").finish()
    # 2 s after the last key, with min_digits met
    assert h.tries() == [(11.4, "42", "timeout")]
    assert exit_of(h).variables["X"] == "42"


def test_no_key_times_out_after_the_first_digit_timeout() -> None:
    h = Harness(ivr(ask(first_digit_timeout=6, retries=0))).start().finish()
    assert h.tries() == [(8.0, "", "timeout")] and h.path() == ["ask", "q"]


def test_too_few_digits_is_invalid_and_retried() -> None:
    h = Harness(ivr(ask(min_digits=4, invalid_prompt="invalid"))).start().wait(2)
    h.press("12#").wait(4).press("1234")
    assert played(h) == [("ask",), ("invalid", "ask")]
    assert [t[1:] for t in h.tries()] == [("12", "terminator"), ("1234", "count")]
    assert h.path() == ["ask", "out"]


def test_retries_share_invalid_input_and_timeouts() -> None:
    h = Harness(ivr(ask(min_digits=2, retries=1, first_digit_timeout=1)))
    h.start().wait(2).press("1#").finish()
    assert [t[2] for t in h.tries()] == ["terminator", "timeout"]
    assert h.path() == ["ask", "q"]


def test_no_terminator_makes_hash_a_digit() -> None:
    h = Harness(ivr(ask(terminator=None, max_digits=2))).start().wait(2).press("1#")
    assert exit_of(h).variables["X"] == "1#"


# --- play number ----------------------------------------------------------------------------


def number(value: str) -> dict[str, Any]:
    return {"name": "say", "kind": "play_number", "prompts": "balance_is", "value": value,
            "say_as": "money", "after": "after", "next": "q"}


def test_play_number_speaks_the_value_between_its_prompts() -> None:
    h = Harness(ivr({"name": "set", "kind": "set_variable", "variable": "Y", "value": "42",
                     "next": "say"}, number("${Y}"))).start().finish()
    assert played(h) == [("balance_is", "en-money-4", "en-money-2", "after")]
    assert h.now == 8.0


def test_a_value_the_speaker_cannot_say_is_left_out() -> None:
    h = Harness(ivr(number("${X}"))).start().finish()
    assert played(h) == [("balance_is", "after")]


# --- select language ------------------------------------------------------------------------


def test_the_language_chosen_is_used_by_later_prompts_and_leaves_with_the_call() -> None:
    choose = {"name": "lang", "kind": "select_language", "prompts": "hello",
              "languages": {"1": "en", "2": "zh"}, "next": "menu", "default": "menu"}
    h = Harness(ivr(choose, menu())).start().wait(2).press("2").wait(1).press("1")
    assert [action.language for action in h.actions(PlayPrompts)] == ["en", "zh"]
    assert exit_of(h).language == "zh"


def test_an_unoffered_language_key_is_invalid() -> None:
    choose = {"name": "lang", "kind": "select_language", "prompts": "hello", "retries": 0,
              "languages": {"1": "en", "2": "zh"}, "next": "q", "default": "out"}
    h = Harness(ivr(choose)).start().wait(2).press("3")
    assert h.path() == ["lang", "out"] and exit_of(h).language == "en"


# --- var compare, set variable, built-ins ---------------------------------------------------


def test_var_compare_branches_on_the_caller_number() -> None:
    test = {"name": "mobile", "kind": "var_compare", "variable": "ANI", "op": "prefix",
            "value": "138", "if_true": "q", "if_false": "out"}
    assert Harness(ivr(test)).start().path() == ["mobile", "q"]
    assert Harness(ivr(test), ani="0105551234").start().path() == ["mobile", "out"]


def test_built_in_date_and_time_come_from_the_wall_clock() -> None:
    stamp = {"name": "stamp", "kind": "set_variable", "variable": "X",
             "value": "${DATE}/${TIME}/${DATETIME}/${DNIS}", "next": "q"}
    h = Harness(ivr({"name": "hello", "kind": "play_only", "prompts": "hello",
                     "next": "stamp"}, stamp)).start().finish()
    assert exit_of(h).variables["X"] == "20260302/093002/20260302093002/4008001234"


# --- access db ------------------------------------------------------------------------------


def lookup(**fields: Any) -> dict[str, Any]:
    return {"name": "find", "kind": "access_db", "lookup": "crm", "key": "${ANI}",
            "into": {"account": "X", "name": "Y"}, "found": "q", "not_found": "out", **fields}


def test_a_lookup_found_fills_its_variables() -> None:
    h = Harness(ivr(lookup())).start()
    assert h.actions(LookUp) == [LookUp(1, "crm", "13800138000")]
    h.wait(0.3).run.lookup_done({"account": 7001, "name": "Li"}, h.now)
    assert IvrLookedUp(0.3, 1, "crm", "13800138000", "found") in h.log.records
    assert exit_of(h) == LeaveIvr(1, IvrExitKind.QUEUE, "service", None, "en",
                                  {"X": "7001", "Y": "Li"})


def test_a_lookup_not_found_takes_not_found() -> None:
    h = Harness(ivr(lookup())).start()
    h.run.lookup_done({}, 0.1)
    assert h.path() == ["find", "out"] and exit_of(h).variables == {"X": "", "Y": ""}


@pytest.mark.parametrize("failed", [None, "menu"])
def test_a_failed_lookup_takes_failed_or_else_not_found(failed: str | None) -> None:
    nodes = [lookup(failed=failed), menu()] if failed else [lookup()]
    h = Harness(ivr(*nodes)).start()
    h.run.lookup_done(None, 0.1)
    assert h.path()[1] == (failed or "out")


def test_a_lookup_that_does_not_answer_in_time_fails_and_a_late_answer_is_ignored() -> None:
    h = Harness(ivr(lookup())).start().finish()
    assert h.now == 2.0  # the sqlite lookup's default limit
    assert h.path() == ["find", "out"]
    h.run.lookup_done({"account": 1}, 3.0)
    assert exit_of(h).variables["X"] == ""


# --- exits, flows, hang-up ------------------------------------------------------------------


def test_to_flow_continues_in_the_other_flow_with_the_variables() -> None:
    other = {"name": "billing", "start": "pin",
             "nodes": [ask(name="pin", variable="Y", next="q2", default="q2"),
                       {"name": "q2", "kind": "to_queue", "queue": "billing", "priority": 5}]}
    first = {"name": "set", "kind": "set_variable", "variable": "X", "value": "vip",
             "next": "go"}
    go = {"name": "go", "kind": "to_flow", "flow": "billing"}
    h = Harness(ivr(first, go, extra_flows=(other,))).start().wait(2).press("55#")
    flows = [r.flow for r in h.log.records if isinstance(r, IvrFlowEntered)]
    assert flows == ["main", "billing"]
    assert exit_of(h) == LeaveIvr(1, IvrExitKind.QUEUE, "billing", 5, "en",
                                  {"X": "vip", "Y": "55"})


@pytest.mark.parametrize(("node", "kind", "target", "after"), [
    ({"kind": "to_agent", "agent": "1001"}, IvrExitKind.AGENT, "1001", 0.0),
    ({"kind": "hang_up", "prompts": "goodbye"}, IvrExitKind.HANG_UP, "", 2.0),
    ({"kind": "stop_flow", "prompts": "goodbye"}, IvrExitKind.COMPLETED, "", 2.0),
    ({"kind": "stop_flow"}, IvrExitKind.COMPLETED, "", 0.0),
])
def test_exits(node: dict[str, Any], kind: IvrExitKind, target: str, after: float) -> None:
    h = Harness(ivr({"name": "end", **node})).start().finish()
    assert (exit_of(h).kind, exit_of(h).target) == (kind, target)
    assert h.log.records[-1].t == after


def stop_hook() -> dict[str, Any]:
    return {"name": "bye", "kind": "user_stop_flow", "assign": {"Y": "left at ${TIME}"}}


def test_hanging_up_runs_user_stop_flow_and_leaves_as_abandoned() -> None:
    h = Harness(ivr(menu(), stop_hook(), on_hangup="bye")).start().wait(1)
    h.run.hang_up(h.now)
    assert h.path() == ["menu", "bye"]
    assert IvrVariableSet(1.0, 1, "Y", "left at 093001") in h.log.records
    assert exit_of(h).kind == IvrExitKind.ABANDONED
    assert exit_of(h).variables["Y"] == "left at 093001"
    assert h.deadlines.next_deadline() is None


def test_hanging_up_without_user_stop_flow_just_leaves() -> None:
    h = Harness(ivr(lookup())).start()
    h.run.hang_up(0.5)
    assert exit_of(h).kind == IvrExitKind.ABANDONED and h.deadlines.next_deadline() is None


def test_hanging_up_during_the_goodbye_of_stop_flow_still_counts_as_completed() -> None:
    h = Harness(ivr({"name": "end", "kind": "stop_flow", "prompts": "goodbye"})).start()
    h.run.hang_up(1.0)
    assert exit_of(h).kind == IvrExitKind.COMPLETED


def test_inputs_after_the_exit_are_ignored() -> None:
    h = Harness(ivr(menu())).start().wait(2).press("1")
    before = (list(h.log.records), list(h.outbox))
    h.press("2")
    h.run.hang_up(h.now)
    h.run.lookup_done({}, h.now)
    assert (h.log.records, h.outbox) == before
    assert len(h.actions(LeaveIvr)) == 1


def test_ivr_records_survive_the_json_lines_form() -> None:
    h = Harness(ivr(lookup(found="menu"), menu())).start()
    h.run.lookup_done({"account": "1"}, 0.5)
    h.wait(3).press("1")
    assert any(isinstance(r, IvrExited) for r in h.log.records)
    for record in h.log.records:
        assert record_from_json(record_to_json(record)) == record
