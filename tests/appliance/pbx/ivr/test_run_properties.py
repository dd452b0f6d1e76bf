"""Random valid flows driven by random callers: keys at random times, silence, lookups that
answer or not, hang-ups.

- every flow the strategy builds loads (the strategy only builds what validation accepts);
- the run always leaves the IVR, within a time after the caller's last input that the flows
  bound: no caller is trapped;
- the variables never go beyond those declared (at most 8, plus the built-ins);
- the same inputs give the same records and actions (replay).
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from appliance.config.ivr import (
    BUILTIN_VARIABLES,
    MAX_USER_VARIABLES,
    AccessDb,
    HangUp,
    Ivr,
    PlayNumber,
    PlayOnly,
    StopFlow,
)
from appliance.events import IvrExited, IvrVariableSet
from appliance.pbx.actions import LeaveIvr, LookUp
from tests.appliance.pbx.ivr.harness import PROMPT_SECONDS, Harness

PROMPTS = ["p0", "p1", "welcome", "goodbye"]
KEYS = "0123456789*#"
EXIT_KINDS = ["to_queue", "to_agent", "to_voicemail", "hang_up", "stop_flow"]
MIDDLE_KINDS = ["access_db", "play_digit", "play_number", "play_only", "play_option",
                "select_language", "var_compare", "set_variable"]
MOST_SPOKEN = 64  # characters PLAY NUMBER may speak: digits collected or looked up
LOOKUP_TIMEOUT = 2.0


def prompts(draw: st.DrawFn, least: int = 0) -> list[str]:
    return draw(st.lists(st.sampled_from(PROMPTS), min_size=least, max_size=2))


class FlowMaker:
    """Builds one flow's nodes. Branches a silent caller may take go to later nodes (or to a
    later flow), so they never loop; branches taken on keys go anywhere."""

    def __init__(self, draw: st.DrawFn, flow: int, flows: int, size: int,
                 variables: list[str]) -> None:
        self.draw, self.flow, self.flows, self.size = draw, flow, flows, size
        self.variables = variables

    def later(self, index: int) -> str:
        # mostly the next node or the one after: long silent paths are the interesting ones
        near = st.integers(index + 1, min(index + 2, self.size - 1))
        return f"n{self.draw(near | st.integers(index + 1, self.size - 1))}"

    def anywhere(self) -> str:
        return f"n{self.draw(st.integers(0, self.size - 1))}"

    def variable(self) -> str:
        return self.draw(st.sampled_from(self.variables))

    def expression(self) -> str:
        names = [*self.variables, "ANI", "DNIS", "TIME"]
        return self.draw(st.sampled_from(["", "1", *(f"${{{name}}}" for name in names)]))

    def node(self, index: int) -> dict[str, Any]:
        kinds = EXIT_KINDS + (["to_flow"] if self.flow + 1 < self.flows else [])
        if index + 1 < self.size:
            # a start that leaves at once tells little
            kinds = MIDDLE_KINDS if index == 0 else kinds + MIDDLE_KINDS * 3
        kind = self.draw(st.sampled_from(kinds))
        return {"name": f"n{index}", "kind": kind, **getattr(self, kind)(index)}

    def _input(self, index: int) -> dict[str, Any]:
        draw = self.draw
        fields: dict[str, Any] = {
            "prompts": prompts(draw), "barge_in": draw(st.booleans()),
            "retries": draw(st.integers(0, 2)), "invalid_prompt": prompts(draw),
            "timeout_prompt": prompts(draw)}
        if draw(st.booleans()):
            fields["on_timeout"] = self.later(index)
            fields["default"] = self.anywhere()
        else:
            fields["default"] = self.later(index)
        return fields

    def access_db(self, index: int) -> dict[str, Any]:
        into = self.draw(st.dictionaries(st.sampled_from(["a", "b"]),
                                         st.sampled_from(self.variables), max_size=2))
        failed = self.draw(st.none() | st.just(self.later(index)))
        return {"lookup": "db", "key": self.expression(), "into": into,
                "found": self.later(index), "not_found": self.later(index), "failed": failed}

    def play_digit(self, index: int) -> dict[str, Any]:
        most = self.draw(st.integers(1, 6))
        return {**self._input(index), "variable": self.variable(), "max_digits": most,
                "min_digits": self.draw(st.integers(1, most)),
                "terminator": self.draw(st.sampled_from(["#", "*", None])),
                "first_digit_timeout": self.draw(st.sampled_from([1.0, 5.0])),
                "inter_digit_timeout": self.draw(st.sampled_from([0.5, 3.0])),
                "next": self.anywhere()}

    def play_option(self, index: int) -> dict[str, Any]:
        options = self.draw(st.dictionaries(st.sampled_from(KEYS), st.just(""), min_size=1))
        return {**self._input(index), "timeout": self.draw(st.sampled_from([1.0, 4.0])),
                "options": {key: self.anywhere() for key in options}}

    def select_language(self, index: int) -> dict[str, Any]:
        return {**self._input(index), "languages": {"1": "en", "2": "zh"},
                "next": self.anywhere()}

    def play_number(self, index: int) -> dict[str, Any]:
        return {"prompts": prompts(self.draw), "after": prompts(self.draw),
                "value": self.expression(), "barge_in": self.draw(st.booleans()),
                "say_as": "digits", "next": self.later(index)}

    def play_only(self, index: int) -> dict[str, Any]:
        return {"prompts": prompts(self.draw, least=1), "barge_in": self.draw(st.booleans()),
                "next": self.later(index)}

    def var_compare(self, index: int) -> dict[str, Any]:
        op = self.draw(st.sampled_from(["eq", "ne", "lt", "ge", "prefix", "empty"]))
        return {"variable": self.draw(st.sampled_from([*self.variables, "ANI"])), "op": op,
                "value": self.expression(), "if_true": self.later(index),
                "if_false": self.later(index)}

    def set_variable(self, index: int) -> dict[str, Any]:
        return {"variable": self.variable(), "value": self.expression(),
                "next": self.later(index)}

    def to_flow(self, index: int) -> dict[str, Any]:
        return {"flow": f"f{self.draw(st.integers(self.flow + 1, self.flows - 1))}"}

    def to_queue(self, index: int) -> dict[str, Any]:
        return {"queue": "service"}

    def to_agent(self, index: int) -> dict[str, Any]:
        return {"agent": "1001"}

    def to_voicemail(self, index: int) -> dict[str, Any]:
        return {"mailbox": "general"}

    def hang_up(self, index: int) -> dict[str, Any]:
        return {"prompts": prompts(self.draw)}

    def stop_flow(self, index: int) -> dict[str, Any]:
        return {"prompts": prompts(self.draw)}


def reachable(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The nodes reachable from the first, in order (validation refuses the others)."""
    by_name = {node["name"]: node for node in nodes}
    seen: set[str] = set()
    todo = [nodes[0]["name"]]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += [target for target in _targets(by_name[name]) if target in by_name]
    return [node for node in nodes if node["name"] in seen]


def _targets(node: dict[str, Any]) -> list[str]:
    fields = ["default", "on_timeout", "next", "found", "not_found", "failed", "if_true",
              "if_false"]
    targets = [node[field] for field in fields if node.get(field)]
    return targets + list(node.get("options", {}).values())


@st.composite
def ivr_sections(draw: st.DrawFn) -> dict[str, Any]:
    """A random valid `ivr` section of a site, as the YAML gives it: flows f0, f1 ... that
    exit to queue "service", agent "1001" and mailbox "general"."""
    count = draw(st.integers(1, MAX_USER_VARIABLES))
    variables = [f"V{i}" for i in range(count)]
    flows = draw(st.integers(1, 3))
    data: list[dict[str, Any]] = []
    for f in range(flows):
        maker = FlowMaker(draw, f, flows, draw(st.integers(1, 10)), variables)
        nodes = reachable([maker.node(index) for index in range(maker.size)])
        flow: dict[str, Any] = {"name": f"f{f}", "start": "n0", "nodes": nodes}
        if draw(st.booleans()):
            assign = draw(st.dictionaries(st.sampled_from(variables),
                                          st.just("${ANI}"), max_size=2))
            nodes.append({"name": "stop", "kind": "user_stop_flow", "assign": assign})
            flow["on_hangup"] = "stop"
        data.append(flow)
    texts = {"en": "text", "zh": "文本"}
    return {
        "variables": variables, "prompts": {"p0": texts, "p1": texts},
        "lookups": {"db": {"kind": "sqlite", "database": "x.db", "table": "t", "key": "k",
                           "fields": ["a", "b"], "timeout": LOOKUP_TIMEOUT}},
        "flows": data}


def ivrs() -> st.SearchStrategy[Ivr]:
    return ivr_sections().map(Ivr.model_validate)


Input = tuple[float, str]
"""(seconds after the previous input, what): a key, "hangup", or a lookup's answer."""

inputs = st.lists(st.tuples(
    st.sampled_from([0.0, 0.3, 1.0, 2.5, 6.0]),
    st.sampled_from([*KEYS, "hangup", "found", "not_found", "failed"]),
), max_size=30)


def drive(ivr: Ivr, events: list[Input]) -> tuple[Harness, float]:
    """Play `events` to a run of flow f0; returns the harness, finished, and the time of the
    caller's last input."""
    h = Harness(ivr, "f0").start()
    last = 0.0
    for gap, what in events:
        h.wait(gap)
        last = h.now
        if what == "hangup":
            h.run.hang_up(h.now)
        elif what in KEYS:
            h.run.digit(what, h.now)
        elif h.actions(LookUp):
            fields = {"found": {"a": "12", "b": "x"}, "not_found": {}, "failed": None}[what]
            h.run.lookup_done(fields, h.now)
    return h.finish(), last


def node_seconds(node: Any) -> float:
    """The longest a caller who presses nothing more can spend at `node`."""
    if hasattr(node, "first_digit_wait"):
        before = max(len(node.invalid_prompt), len(node.timeout_prompt))
        wait = max(node.first_digit_wait, getattr(node, "inter_digit_timeout", 0.0))
        one_try = PROMPT_SECONDS * (before + len(node.prompts)) + wait
        return (node.retries + 1) * one_try
    if isinstance(node, PlayNumber):
        return PROMPT_SECONDS * (len(node.prompts) + len(node.after) + MOST_SPOKEN)
    if isinstance(node, PlayOnly | StopFlow | HangUp):
        return PROMPT_SECONDS * len(node.prompts)
    if isinstance(node, AccessDb):
        return LOOKUP_TIMEOUT
    return 0.0


def bound(ivr: Ivr) -> float:
    """Silent branches never loop, so a silent caller passes each node at most once."""
    return sum(node_seconds(node) for flow in ivr.flows for node in flow.nodes)


@given(ivrs(), inputs)
def test_every_caller_leaves_within_the_bound_of_the_flows(ivr: Ivr, events: list[Input]) -> None:
    h, last = drive(ivr, events)
    exits = h.actions(LeaveIvr)
    assert len(exits) == 1 and h.outbox[-1] == h.run.exit
    assert isinstance(h.log.records[-1], IvrExited)
    assert h.log.records[-1].t <= last + bound(ivr) + 1e-9
    assert h.deadlines.next_deadline() is None


@given(ivrs(), inputs)
def test_variables_stay_those_declared(ivr: Ivr, events: list[Input]) -> None:
    h, _ = drive(ivr, events)
    assert list(h.run.variables) == ivr.variables
    assert len(h.run.variables) <= MAX_USER_VARIABLES
    assert {r.name for r in h.log.records if isinstance(r, IvrVariableSet)} <= set(ivr.variables)
    values = h.run.values(h.now)
    assert all(values.get(name, "?") != "?" for name in (*ivr.variables, *BUILTIN_VARIABLES))


@given(ivrs(), inputs)
def test_the_same_inputs_take_the_same_path(ivr: Ivr, events: list[Input]) -> None:
    first, _ = drive(ivr, events)
    again, _ = drive(ivr, events)
    assert first.log.records == again.log.records
    assert first.outbox == again.outbox
