"""The IVR part of a site: flows of nodes, their prompts, variables and lookups, and the checks
that refuse a flow which could trap or lose a caller.

A flow is a graph of named nodes. Input nodes (PLAY DIGIT, PLAY OPTION, SELECT LANGUAGE) play a
prompt and wait for digits; the others play, branch, look up or leave the IVR. Branches that a
caller who presses nothing follows ("silent" branches: timeouts, `next` of a prompt, the
results of a comparison or a lookup) must never form a cycle, in one flow or across flows:
then every call leaves the IVR a bounded time after its last key press. Cycles through digits
(a menu's "9: hear it again") are allowed.

Validation here covers the IVR on its own; `ivr_problems` adds what needs the rest of the site
(queues and agents). Everything is reported at its own field path.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    ValidationError,
    ValidationInfo,
    WrapValidator,
    field_validator,
    model_validator,
)

from appliance import csvtable
from appliance.config.values import (
    FieldProblems,
    Identifier,
    Loc,
    PositiveSeconds,
    Problem,
    Whole,
)
from appliance.config.values import Frozen as _Frozen
from appliance.config.values import raise_if_any as _raise_if_any
from appliance.media.prompts import PHRASES, prompt_texts

BUILTIN_VARIABLES = ("DNIS", "ANI", "DATE", "TIME", "DATETIME", "AGENT")
"""Read-only variables every call has: called and calling number, the local date
(YYYYMMDD), time (hhmmss, 24 h) and both (YYYYMMDDhhmmss) when they are read, and the id of
the agent a post-call survey asks about ("" outside a survey)."""

MAX_USER_VARIABLES = 8

LANGUAGES = ("en", "zh")
Language = Literal["en", "zh"]

_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
VARIABLE_REFERENCE = re.compile(r"\$\{([^}]*)\}")
"""`${NAME}` in an expression: replaced by the variable's value."""


def references(expression: str) -> list[str]:
    """The variable names an expression reads, in order: `"${ANI}-${PIN}"` -> `["ANI", "PIN"]`."""
    return VARIABLE_REFERENCE.findall(expression)


def _check_variable(value: str) -> str:
    if not _VARIABLE.fullmatch(value):
        raise ValueError(f"expected a variable name of letters, digits and '_' (not starting "
                         f"with a digit); got {value!r}")
    return value


def _check_digit(value: str) -> str:
    if len(value) != 1 or value not in "0123456789*#":
        raise ValueError(f"expected one key: 0-9, * or #; got {value!r}")
    return value


def _one_or_many(value: object) -> object:
    # `prompts: welcome` is as natural in a file as `prompts: [welcome]`.
    return [value] if isinstance(value, str) else value


Variable = Annotated[str, AfterValidator(_check_variable)]
Key = Annotated[str, AfterValidator(_check_digit)]
PromptList = Annotated[list[Identifier], BeforeValidator(_one_or_many)]
Expression = str
Retries = Annotated[Whole, Field(ge=0, le=9)]


def _kind_checked(kinds: Sequence[str]) -> WrapValidator:
    """Validate one member of a union told apart by `kind`: an unknown or missing kind is
    reported at `kind`, and errors inside a member at its own fields (`nodes[2].max_digits`,
    not pydantic's `nodes[2].play_digit.max_digits`)."""
    expected = ", ".join(repr(kind) for kind in kinds)

    def validate(value: Any, handler: Any) -> Any:
        if isinstance(value, dict):
            kind = value.get("kind")
            if kind is None:
                raise FieldProblems([(("kind",), f"required field is missing (one of {expected})")])
            if kind not in kinds:
                raise FieldProblems([(("kind",), f"expected one of {expected}; got {kind!r}")])
        try:
            return handler(value)
        except ValidationError as error:
            tag = value.get("kind") if isinstance(value, dict) else None
            details = [_strip_tag(detail, tag) for detail in error.errors()]
            raise ValidationError.from_exception_data(error.title, details) from None

    return WrapValidator(validate)


def _strip_tag(detail: Any, tag: object) -> Any:
    loc = tuple(detail["loc"])
    stripped = {"type": detail["type"], "loc": loc[1:] if loc[:1] == (tag,) else loc,
                "input": detail["input"]}
    if "ctx" in detail:
        stripped["ctx"] = detail["ctx"]
    return stripped


def _given(**branches: str | None) -> dict[Loc, str]:
    return {(field,): target for field, target in branches.items() if target is not None}


def _expression_reads(**expressions: str) -> dict[Loc, list[str]]:
    return {(field,): refs for field, text in expressions.items() if (refs := references(text))}


# --- nodes ----------------------------------------------------------------------------------


class _Node(_Frozen):
    """What every node has. Subclasses say which fields name other nodes (`branches`), which of
    those a silent caller may take, which prompts they play and which variables they use; the
    checks and the interpreter read these instead of knowing every kind."""

    name: Identifier

    is_input: ClassVar[bool] = False
    """Waits for the caller's digits (and gives up on its own timer)."""
    is_timed: ClassVar[bool] = False
    """Takes time of its own (plays a prompt, waits for a lookup) before it moves on."""
    is_exit: ClassVar[bool] = False
    """The call leaves the IVR here."""

    def branches(self) -> dict[Loc, str]:
        """Field path -> the node (of the same flow) it leads to."""
        return {}

    def silent_branches(self) -> list[Loc]:
        """The branches a caller who presses nothing may take."""
        return list(self.branches())

    def prompt_lists(self) -> dict[Loc, list[str]]:
        return {}

    def reads(self) -> dict[Loc, list[str]]:
        """Field path -> the variables it reads."""
        return {}

    def writes(self) -> dict[Loc, list[str]]:
        """Field path -> the variables it sets."""
        return {}


class _InputNode(_Node):
    """Plays `prompts` and waits for digits. After an invalid entry or a timeout it tries again
    (`retries` more times) with `invalid_prompt` or `timeout_prompt` before `prompts`; when the
    tries run out it goes to `on_timeout` after a timeout if given, else to `default`. With
    `barge_in` a digit stops the prompt and counts; without it, digits during prompts are
    ignored."""

    prompts: PromptList
    barge_in: bool = True
    retries: Retries = 2
    invalid_prompt: PromptList = Field(default_factory=list)
    timeout_prompt: PromptList = Field(default_factory=list)
    default: str | None = None
    on_timeout: str | None = None

    is_input: ClassVar[bool] = True
    is_timed: ClassVar[bool] = True

    def branches(self) -> dict[Loc, str]:
        return _given(default=self.default, on_timeout=self.on_timeout)

    def silent_branches(self) -> list[Loc]:
        return [("on_timeout",) if self.on_timeout is not None else ("default",)]

    def prompt_lists(self) -> dict[Loc, list[str]]:
        return {("prompts",): self.prompts, ("invalid_prompt",): self.invalid_prompt,
                ("timeout_prompt",): self.timeout_prompt}

    @property
    def first_digit_wait(self) -> float:
        """Seconds to wait for the first digit once the prompt has played."""
        raise NotImplementedError


class AccessDb(_Node):
    """ACCESS DB: look `key` up in `lookup`; the fields found go into the variables `into`
    names (field -> variable). A lookup that fails or times out goes to `failed`, or to
    `not_found` when `failed` is not given."""

    kind: Literal["access_db"] = "access_db"
    lookup: Identifier
    key: Expression
    into: dict[str, Variable] = Field(default_factory=dict)
    found: str
    not_found: str
    failed: str | None = None

    is_timed: ClassVar[bool] = True

    def branches(self) -> dict[Loc, str]:
        return _given(found=self.found, not_found=self.not_found, failed=self.failed)

    def reads(self) -> dict[Loc, list[str]]:
        return _expression_reads(key=self.key)

    def writes(self) -> dict[Loc, list[str]]:
        return {("into", field): [variable] for field, variable in self.into.items()}


class PlayDigit(_InputNode):
    """PLAY DIGIT: collect up to `max_digits` digits into `variable`. Collection ends at
    `max_digits`, at the `terminator` (not kept), or when `inter_digit_timeout` passes after
    a digit; fewer than `min_digits` is invalid. No digit within `first_digit_timeout` of the
    prompt's end is a timeout."""

    kind: Literal["play_digit"] = "play_digit"
    variable: Variable
    max_digits: Annotated[Whole, Field(ge=1, le=32)]
    min_digits: Annotated[Whole, Field(ge=1, le=32)] = 1
    terminator: Key | None = "#"
    first_digit_timeout: PositiveSeconds = 5.0
    inter_digit_timeout: PositiveSeconds = 3.0
    next: str

    @model_validator(mode="after")
    def _check_counts(self) -> PlayDigit:
        if self.min_digits > self.max_digits:
            _raise_if_any([(("min_digits",), f"expected at most max_digits "
                                              f"({self.max_digits}); got {self.min_digits}")])
        return self

    def branches(self) -> dict[Loc, str]:
        return {**_given(next=self.next), **super().branches()}

    def writes(self) -> dict[Loc, list[str]]:
        return {("variable",): [self.variable]}

    @property
    def first_digit_wait(self) -> float:
        return self.first_digit_timeout


class PlayNumber(_Node):
    """PLAY NUMBER: `prompts`, then `value` spoken as `say_as`, then `after`."""

    kind: Literal["play_number"] = "play_number"
    prompts: PromptList = Field(default_factory=list)
    value: Expression
    say_as: Literal["digits", "integer", "money"] = "digits"
    after: PromptList = Field(default_factory=list)
    barge_in: bool = True
    next: str

    is_timed: ClassVar[bool] = True

    def branches(self) -> dict[Loc, str]:
        return _given(next=self.next)

    def prompt_lists(self) -> dict[Loc, list[str]]:
        return {("prompts",): self.prompts, ("after",): self.after}

    def reads(self) -> dict[Loc, list[str]]:
        return _expression_reads(value=self.value)


class PlayOnly(_Node):
    """PLAY ONLY: play `prompts`, then go to `next`. With `barge_in` a digit cuts the prompt
    short (the digit itself is not kept)."""

    kind: Literal["play_only"] = "play_only"
    prompts: Annotated[PromptList, Field(min_length=1)]
    barge_in: bool = True
    next: str

    is_timed: ClassVar[bool] = True

    def branches(self) -> dict[Loc, str]:
        return _given(next=self.next)

    def prompt_lists(self) -> dict[Loc, list[str]]:
        return {("prompts",): self.prompts}


class PlayOption(_InputNode):
    """PLAY OPTION (a menu): one key picks a branch of `options`; `timeout` seconds without a
    key after the prompt is a timeout."""

    kind: Literal["play_option"] = "play_option"
    options: Annotated[dict[Key, str], Field(min_length=1)]
    timeout: PositiveSeconds = 5.0

    def branches(self) -> dict[Loc, str]:
        picked = {("options", key): target for key, target in self.options.items()}
        return {**picked, **super().branches()}

    @property
    def first_digit_wait(self) -> float:
        return self.timeout


class SelectLanguage(_InputNode):
    """SELECT LANGUAGE: one key picks the language of the prompts from here on, then `next`."""

    kind: Literal["select_language"] = "select_language"
    languages: Annotated[dict[Key, Language], Field(min_length=1)]
    timeout: PositiveSeconds = 5.0
    next: str

    def branches(self) -> dict[Loc, str]:
        return {**_given(next=self.next), **super().branches()}

    @property
    def first_digit_wait(self) -> float:
        return self.timeout


Comparison = Literal["eq", "ne", "lt", "le", "gt", "ge", "prefix", "empty"]


class VarCompare(_Node):
    """VAR COMPARE: `variable` `op` `value`, to `if_true` or `if_false`. lt/le/gt/ge compare as
    numbers when both sides are numbers, else as text; `prefix`: the variable starts with the
    value; `empty`: the variable is "" (value unused). (The branches are not called `true` and
    `false` because YAML reads those keys as booleans.)"""

    kind: Literal["var_compare"] = "var_compare"
    variable: Variable
    op: Comparison = "eq"
    value: Expression = ""
    if_true: str
    if_false: str

    def branches(self) -> dict[Loc, str]:
        return _given(if_true=self.if_true, if_false=self.if_false)

    def reads(self) -> dict[Loc, list[str]]:
        return {("variable",): [self.variable], **_expression_reads(value=self.value)}


class SetVariable(_Node):
    kind: Literal["set_variable"] = "set_variable"
    variable: Variable
    value: Expression
    next: str

    def branches(self) -> dict[Loc, str]:
        return _given(next=self.next)

    def reads(self) -> dict[Loc, list[str]]:
        return _expression_reads(value=self.value)

    def writes(self) -> dict[Loc, list[str]]:
        return {("variable",): [self.variable]}


class UserStopFlow(_Node):
    """USER STOP FLOW: runs when the caller hangs up in the IVR (the flow's `on_hangup`): sets
    the variables of `assign` (variable -> expression), so that they reach the call's records;
    then the call ends."""

    kind: Literal["user_stop_flow"] = "user_stop_flow"
    assign: dict[Variable, Expression] = Field(default_factory=dict)

    def reads(self) -> dict[Loc, list[str]]:
        return {("assign", name): refs for name, text in self.assign.items()
                if (refs := references(text))}

    def writes(self) -> dict[Loc, list[str]]:
        return {("assign", name): [name] for name in self.assign}


class StopFlow(_Node):
    """STOP FLOW: the call ends in the IVR, served by self-service, after `prompts`."""

    kind: Literal["stop_flow"] = "stop_flow"
    prompts: PromptList = Field(default_factory=list)

    is_exit: ClassVar[bool] = True

    def prompt_lists(self) -> dict[Loc, list[str]]:
        return {("prompts",): self.prompts}


class ToQueue(_Node):
    """The call leaves the IVR for `queue` (at `priority`, or the queue's own), with its
    variables."""

    kind: Literal["to_queue"] = "to_queue"
    queue: Identifier
    priority: Whole | None = None

    is_exit: ClassVar[bool] = True


class ToFlow(_Node):
    """The call goes on at the start of another flow, keeping its variables and language."""

    kind: Literal["to_flow"] = "to_flow"
    flow: Identifier


class ToAgent(_Node):
    kind: Literal["to_agent"] = "to_agent"
    agent: str

    is_exit: ClassVar[bool] = True


class ToVoicemail(_Node):
    kind: Literal["to_voicemail"] = "to_voicemail"
    mailbox: Annotated[str, Field(min_length=1)]

    is_exit: ClassVar[bool] = True


class ToConference(_Node):
    """The call leaves the IVR and call control for conference room `room` (a number of
    `sip.conferences`). With `ask_pin` (the default) a caller keys in the room's PIN first,
    as a phone dialling in does; a flow that has checked the caller itself sets it false."""

    kind: Literal["to_conference"] = "to_conference"
    room: Annotated[str, Field(min_length=1)]
    ask_pin: bool = True

    is_exit: ClassVar[bool] = True


class HangUp(_Node):
    """The IVR hangs up on the caller after `prompts` (closed, blocked, nothing to offer)."""

    kind: Literal["hang_up"] = "hang_up"
    prompts: PromptList = Field(default_factory=list)

    is_exit: ClassVar[bool] = True

    def prompt_lists(self) -> dict[Loc, list[str]]:
        return {("prompts",): self.prompts}


NODE_KINDS: dict[str, type[_Node]] = {
    cls.model_fields["kind"].default: cls
    for cls in (AccessDb, PlayDigit, PlayNumber, PlayOnly, PlayOption, SelectLanguage,
                VarCompare, SetVariable, UserStopFlow, StopFlow, ToQueue, ToFlow, ToAgent,
                ToVoicemail, ToConference, HangUp)
}

Node = Annotated[
    Annotated[
        AccessDb | PlayDigit | PlayNumber | PlayOnly | PlayOption | SelectLanguage | VarCompare
        | SetVariable | UserStopFlow | StopFlow | ToQueue | ToFlow | ToAgent | ToVoicemail
        | ToConference | HangUp,
        Field(discriminator="kind"),
    ],
    _kind_checked(tuple(NODE_KINDS)),
]
InputNode = PlayDigit | PlayOption | SelectLanguage


# --- lookups --------------------------------------------------------------------------------


SITE_FOLDER = "site_folder"
"""Key of the validation context that names the folder of the site file: a `seed` is relative
to it (to the current folder when the context has none)."""


class SqliteLookup(_Frozen):
    """A row of `table` in the SQLite file `database` whose column `key` equals the key; the
    columns `fields` are what it finds.

    `seed` names a CSV file (relative to the site file's folder; an absolute path after
    validation) whose header has the key and the fields: where `database` does not exist, the
    table is built from it. Validation refuses a seed that cannot be read or lacks a column."""

    kind: Literal["sqlite"] = "sqlite"
    database: Annotated[str, Field(min_length=1)]
    table: Identifier
    key: Identifier
    fields: Annotated[list[Identifier], Field(min_length=1)]
    timeout: PositiveSeconds = 2.0
    seed: Annotated[str, Field(min_length=1)] | None = None

    @field_validator("seed")
    @classmethod
    def _absolute_seed(cls, seed: str | None, info: ValidationInfo) -> str | None:
        if seed is None:
            return None
        folder = (info.context or {}).get(SITE_FOLDER, ".")
        return str((Path(folder) / Path(seed).expanduser()).absolute())

    @model_validator(mode="after")
    def _check_seed(self) -> SqliteLookup:
        if self.seed is not None:
            _raise_if_any([(("seed",), problem) for problem in self._seed_problems(self.seed)])
        return self

    def _seed_problems(self, seed: str) -> list[str]:
        try:
            header = csvtable.columns(Path(seed))
            for _ in csvtable.rows(Path(seed)):  # every line decodes and has every column
                pass
        except csvtable.TableError as error:
            return [str(error)]
        needed = [self.key, *self.fields]
        missing = ", ".join(repr(name) for name in dict.fromkeys(needed) if name not in header)
        if not missing:
            return []
        return [f"{seed}: the header has no column {missing}; expected the columns "
                f"{', '.join(needed)} (key, then fields); got {', '.join(header)}"]


class HttpLookup(_Frozen):
    """A GET of `url` (with `${VAR}` placeholders filled in) answering a JSON object, from which
    `fields` are taken; `timeout` seconds at most."""

    kind: Literal["http"] = "http"
    url: Annotated[str, Field(pattern=r"^https?://")]
    timeout: PositiveSeconds = 3.0
    fields: Annotated[list[str], Field(min_length=1)]


Lookup = Annotated[
    Annotated[SqliteLookup | HttpLookup, Field(discriminator="kind")],
    _kind_checked(("sqlite", "http")),
]


# --- flows ----------------------------------------------------------------------------------


class Flow(_Frozen):
    """A named graph of nodes entered at `start`; `on_hangup` names the USER STOP FLOW node
    that runs when the caller hangs up in this flow."""

    name: Identifier
    start: str
    nodes: Annotated[list[Node], Field(min_length=1)]
    on_hangup: str | None = None

    @model_validator(mode="after")
    def _check_flow(self) -> Flow:
        _raise_if_any(list(_flow_problems(self)))
        return self

    def node(self, name: str) -> Any:
        """The node called `name` (every name a valid flow mentions exists)."""
        return self._by_name[name]

    # Read at every step of every call: a cached property becomes a plain attribute once
    # built, where a pydantic private attribute is found through `__getattr__` each time.
    @cached_property
    def _by_name(self) -> dict[str, Any]:
        return {node.name: node for node in self.nodes}


class Ivr(_Frozen):
    """The site's IVR. Calls start in `language` until a SELECT LANGUAGE node changes it."""

    language: Language = "en"
    variables: list[Variable] = Field(default_factory=list)
    prompts: dict[Identifier, dict[Language, str]] = Field(default_factory=dict)
    lookups: dict[Identifier, Lookup] = Field(default_factory=dict)
    flows: Annotated[list[Flow], Field(min_length=1)]

    @model_validator(mode="after")
    def _check_ivr(self) -> Ivr:
        _raise_if_any(list(_ivr_problems(self)))
        return self

    def flow(self, name: str) -> Flow:
        return self._flows[name]

    @cached_property  # as Flow._by_name
    def _flows(self) -> dict[str, Flow]:
        return {flow.name: flow for flow in self.flows}


# --- checks within one flow -----------------------------------------------------------------


def _flow_problems(flow: Flow) -> Iterator[Problem]:
    names = {node.name: index for index, node in enumerate(flow.nodes)}
    yield from _duplicate_nodes(flow)
    broken = list(_branch_problems(flow, names))
    yield from broken
    yield from _way_out_problems(flow)
    if not broken:
        yield from _unreachable(flow, names)


def _duplicate_nodes(flow: Flow) -> Iterator[Problem]:
    first: dict[str, int] = {}
    for index, node in enumerate(flow.nodes):
        if node.name in first:
            yield (("nodes", index, "name"), f"flow {flow.name!r}: duplicate node name "
                                             f"{node.name!r} (also nodes[{first[node.name]}])")
        first.setdefault(node.name, index)


def _node_ref(target: str, names: Mapping[str, int], flow: Flow) -> str | None:
    """What is wrong with branching to `target` in `flow`, or None."""
    if target not in names:
        return f"no node named {target!r} (nodes: {', '.join(names)})"
    if flow.nodes[names[target]].kind == "user_stop_flow":
        return (f"{target!r} is a user_stop_flow node, which runs only when the caller hangs "
                "up (name it in on_hangup), not as a branch")
    return None


def _branch_problems(flow: Flow, names: Mapping[str, int]) -> Iterator[Problem]:
    if problem := _node_ref(flow.start, names, flow):
        yield (("start",), f"flow {flow.name!r}: {problem}")
    for index, node in enumerate(flow.nodes):
        for loc, target in node.branches().items():
            if problem := _node_ref(target, names, flow):
                yield (("nodes", index, *loc), f"flow {flow.name!r}, node {node.name!r}: "
                                               f"{problem}")
    if flow.on_hangup is None:
        return
    if flow.on_hangup not in names:
        yield (("on_hangup",), f"flow {flow.name!r}: no node named {flow.on_hangup!r} "
                               f"(nodes: {', '.join(names)})")
    elif flow.nodes[names[flow.on_hangup]].kind != "user_stop_flow":
        yield (("on_hangup",), f"flow {flow.name!r}: expected a user_stop_flow node; "
                               f"{flow.on_hangup!r} is {flow.nodes[names[flow.on_hangup]].kind}")


def _way_out_problems(flow: Flow) -> Iterator[Problem]:
    for index, node in enumerate(flow.nodes):
        if node.is_input and node.default is None:
            yield (("nodes", index, "default"),
                   f"flow {flow.name!r}, node {node.name!r}: an input node needs a way out "
                   "when its tries run out on timeout or invalid input: give default (the "
                   "node to go to then)")


def _unreachable(flow: Flow, names: Mapping[str, int]) -> Iterator[Problem]:
    seen = _reachable(flow, [flow.start], names)
    if flow.on_hangup is not None:
        seen.add(flow.on_hangup)
    for index, node in enumerate(flow.nodes):
        if node.name not in seen:
            yield (("nodes", index, "name"),
                   f"flow {flow.name!r}: node {node.name!r} cannot be reached from the start "
                   f"({flow.start!r}); remove it or branch to it")


def _reachable(flow: Flow, start: list[str], names: Mapping[str, int]) -> set[str]:
    seen: set[str] = set()
    todo = list(start)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(flow.nodes[names[name]].branches().values())
    return seen


# --- checks across the IVR ------------------------------------------------------------------


def _ivr_problems(ivr: Ivr) -> Iterator[Problem]:
    yield from _variable_problems(ivr.variables)
    yield from _prompt_language_problems(ivr)
    yield from _lookup_problems(ivr)
    flow_names = [flow.name for flow in ivr.flows]
    for index, flow in enumerate(ivr.flows):
        if flow.name in flow_names[:index]:
            yield (("flows", index, "name"), f"duplicate flow name {flow.name!r} "
                                             f"(also flows[{flow_names.index(flow.name)}])")
        for n, node in enumerate(flow.nodes):
            where = ("flows", index, "nodes", n)
            for loc, message in _node_problems(ivr, node):
                yield ((*where, *loc), f"flow {flow.name!r}, node {node.name!r}: {message}")
    yield from _silent_cycles(ivr)


def _variable_problems(variables: Sequence[str]) -> Iterator[Problem]:
    if len(variables) > MAX_USER_VARIABLES:
        yield (("variables",), f"expected at most {MAX_USER_VARIABLES} user variables; "
                               f"got {len(variables)}")
    for index, name in enumerate(variables):
        if name in BUILTIN_VARIABLES:
            yield (("variables", index), f"{name!r} is a built-in variable "
                                         f"({', '.join(BUILTIN_VARIABLES)}); pick another name")
        elif name in variables[:index]:
            yield (("variables", index), f"variable {name!r} declared twice")


def _spoken_languages(ivr: Ivr) -> list[str]:
    chosen = {language for flow in ivr.flows for node in flow.nodes
              if isinstance(node, SelectLanguage) for language in node.languages.values()}
    return [language for language in LANGUAGES if language in chosen | {ivr.language}]


def _prompt_language_problems(ivr: Ivr) -> Iterator[Problem]:
    """A prompt must have a text in every language a call can be in."""
    needed = _spoken_languages(ivr)
    for name, texts in ivr.prompts.items():
        missing = [language for language in needed if language not in texts]
        if missing:
            yield (("prompts", name), f"prompt {name!r} has no text in {', '.join(missing)} "
                                      f"(calls may be in: {', '.join(needed)})")


def _lookup_problems(ivr: Ivr) -> Iterator[Problem]:
    for name, lookup in ivr.lookups.items():
        if isinstance(lookup, HttpLookup):
            for problem in _variables_read(ivr, references(lookup.url)):
                yield (("lookups", name, "url"), problem)


def _variables_read(ivr: Ivr, names: Sequence[str]) -> Iterator[str]:
    for name in names:
        if name not in ivr.variables and name not in BUILTIN_VARIABLES:
            yield f"no variable named {name!r} ({_known_variables(ivr)})"


def _known_variables(ivr: Ivr) -> str:
    declared = ", ".join(ivr.variables) or "none declared"
    return f"variables: {declared}; built-in: {', '.join(BUILTIN_VARIABLES)}"


def _node_problems(ivr: Ivr, node: Any) -> Iterator[Problem]:
    for loc, names in node.reads().items():
        yield from ((loc, problem) for problem in _variables_read(ivr, names))
    for loc, names in node.writes().items():
        yield from ((loc, problem) for problem in _variables_written(ivr, names))
    for loc, prompts in node.prompt_lists().items():
        yield from ((loc, problem) for problem in _unknown_prompts(ivr, prompts))
    if isinstance(node, AccessDb):
        yield from _access_db_problems(ivr, node)
    if isinstance(node, ToFlow) and node.flow not in {flow.name for flow in ivr.flows}:
        yield (("flow",), f"no flow named {node.flow!r} "
                          f"(flows: {', '.join(flow.name for flow in ivr.flows)})")


def _variables_written(ivr: Ivr, names: Sequence[str]) -> Iterator[str]:
    for name in names:
        if name in BUILTIN_VARIABLES:
            yield f"{name!r} is a built-in variable and cannot be set"
        elif name not in ivr.variables:
            yield f"no variable named {name!r} ({_known_variables(ivr)})"


def builtin_prompts() -> frozenset[str]:
    """Prompt names every language has without the site declaring them."""
    return frozenset(name for language in PHRASES for name in prompt_texts(language))


def _unknown_prompts(ivr: Ivr, prompts: Sequence[str]) -> Iterator[str]:
    for name in prompts:
        if name not in ivr.prompts and name not in builtin_prompts():
            declared = ", ".join(ivr.prompts) or "none declared"
            yield (f"no prompt named {name!r} (ivr.prompts: {declared}; or a built-in prompt "
                   "such as 'goodbye')")


def _access_db_problems(ivr: Ivr, node: AccessDb) -> Iterator[Problem]:
    lookup = ivr.lookups.get(node.lookup)
    if lookup is None:
        declared = ", ".join(ivr.lookups) or "none declared"
        yield (("lookup",), f"no lookup named {node.lookup!r} (lookups: {declared})")
        return
    for field in node.into:
        if field not in lookup.fields:
            yield (("into", field), f"lookup {node.lookup!r} has no field {field!r} "
                                    f"(fields: {', '.join(lookup.fields)})")


Place = tuple[int, int]
"""(flow index, node index)."""


def _silent_cycles(ivr: Ivr) -> Iterator[Problem]:
    """Cycles of the silent branches, across flows: a caller who presses nothing would go
    round one forever (in no time at all if nothing in it plays or waits)."""
    reported: set[Place] = set()
    for ring in _cycles(_silent_successors(ivr)):
        if not reported & set(ring):
            reported.update(ring)
            yield _cycle_problem(ivr, ring)


def _silent_successors(ivr: Ivr) -> dict[Place, list[Place]]:
    index = {flow.name: f for f, flow in enumerate(ivr.flows)}
    nodes = [{node.name: n for n, node in enumerate(flow.nodes)} for flow in ivr.flows]
    successors: dict[Place, list[Place]] = {}
    for f, flow in enumerate(ivr.flows):
        for n, node in enumerate(flow.nodes):
            branches = node.branches()
            targets = [(f, nodes[f][branches[loc]]) for loc in node.silent_branches()
                       if loc in branches and branches[loc] in nodes[f]]
            if isinstance(node, ToFlow) and node.flow in index:
                other = index[node.flow]
                targets += [(other, nodes[other][ivr.flows[other].start])]
            successors[(f, n)] = targets
    return successors


def _cycles(successors: Mapping[Place, list[Place]]) -> Iterator[list[Place]]:
    """The cycle closed by each back edge of a depth-first walk (every cyclic graph has one)."""
    state: dict[Place, bool] = {}  # True while on the walk's path, False when finished
    for root in successors:
        if root in state:
            continue
        path, pending = [root], [iter(successors[root])]
        state[root] = True
        while pending:
            following = next(pending[-1], None)
            if following is None:
                state[path.pop()] = False
                pending.pop()
            elif state.get(following):
                yield path[path.index(following):]
            elif following not in state:
                state[following] = True
                path.append(following)
                pending.append(iter(successors[following]))


def _cycle_problem(ivr: Ivr, ring: list[Place]) -> Problem:
    names = [f"{ivr.flows[f].name}.{ivr.flows[f].nodes[n].name}" for f, n in ring]
    f, n = ring[0]
    circle = " -> ".join([*names, names[0]])
    if any(ivr.flows[f].nodes[n].is_timed for f, n in ring):
        why = ("a caller who presses nothing would go round it forever: give one of its "
               "input nodes a way out of the loop on timeout")
    else:
        why = "nothing in it plays or waits, so a call would spin round it forever"
    return (("flows", f, "nodes", n, "name"), f"silent branches form a cycle {circle}: {why}")


# --- checks against the rest of the site ---------------------------------------------------


def ivr_problems(ivr: Ivr, queues: Sequence[str], agents: Sequence[str]) -> Iterator[Problem]:
    """Exits to queues and agents the site does not have, at their paths below `ivr`."""
    for f, flow in enumerate(ivr.flows):
        for n, node in enumerate(flow.nodes):
            where = ("ivr", "flows", f, "nodes", n)
            about = f"flow {flow.name!r}, node {node.name!r}"
            if isinstance(node, ToQueue) and node.queue not in queues:
                yield ((*where, "queue"), f"{about}: no queue named {node.queue!r} "
                                          f"(queues: {', '.join(queues)})")
            if isinstance(node, ToAgent) and node.agent not in agents:
                yield ((*where, "agent"), f"{about}: no agent with id {node.agent!r}")
