"""One caller's way through the IVR's flows.

Sans-I/O and clock-free: every input carries `now`; prompts, digit timeouts and lookups are
timed by the run's own timer in the shared `Deadlines`, so a prompt lasts `prompt_seconds` in
simulation and live alike. Actions go to the outbox (`PlayPrompts`, `StopPrompts`, `LookUp`,
and last one `LeaveIvr`, or to `on_exit` with its time when given), records to the event log.

What a caller may rely on:
- Digits count only while the run waits for them, or during a prompt of a node with
  barge-in (they stop it; a PLAY ONLY or PLAY NUMBER then moves on and the key is dropped).
  Without barge-in, and while a lookup runs, keys are ignored.
- A loaded flow has no silent loop, so after the caller's last key the run leaves the IVR
  within a time bounded by the flows (prompts, timeouts and lookup limits along the way).
- `hang_up` runs the flow's USER STOP FLOW node (if any) and leaves as abandoned; during a
  STOP FLOW's or HANG UP's farewell it leaves as that node would have.
- After `LeaveIvr` (also kept as `exit`), every input is ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from appliance.clock import Deadlines, TimerHandle
from appliance.config.ivr import (
    AccessDb,
    Flow,
    HangUp,
    InputNode,
    Ivr,
    PlayDigit,
    PlayNumber,
    PlayOnly,
    PlayOption,
    SelectLanguage,
    SetVariable,
    StopFlow,
    ToAgent,
    ToConference,
    ToFlow,
    ToQueue,
    ToVoicemail,
    UserStopFlow,
    VarCompare,
)
from appliance.eventlog import EventLog
from appliance.events import (
    IvrDigits,
    IvrExited,
    IvrExitKind,
    IvrFlowEntered,
    IvrLookedUp,
    IvrNodeEntered,
    IvrVariableSet,
    new,
)
from appliance.pbx.actions import IvrAction, LeaveIvr, LookUp, PlayPrompts, StopPrompts
from appliance.pbx.ivr.collect import TIMEOUT, Collector, spec_of
from appliance.pbx.ivr.expressions import Values, compare, substitute
from appliance.wallclock import WallClock

Speaker = Callable[[str, str, str], list[str]]
"""PLAY NUMBER's voice: (value, say_as, language) -> the prompt names that speak it. Raises
ValueError for a value it cannot speak (that part is then left out)."""

PromptSeconds = Callable[[Sequence[str], str], float]
"""How long the prompts `names` play in `language`, in seconds."""

_INPUT = (PlayDigit, PlayOption, SelectLanguage)
Then = Callable[[float], None]


class FlowRun:
    """The IVR for one call, from `start` until it leaves (`exit`)."""

    def __init__(
        self,
        call: int,
        ivr: Ivr,
        flow: str,
        *,
        ani: str,
        dnis: str,
        clock: WallClock,
        deadlines: Deadlines,
        prompt_seconds: PromptSeconds,
        speaker: Speaker,
        outbox: list[Any],
        log: EventLog,
        on_exit: Callable[[LeaveIvr, float], None] | None = None,
        agent: str = "",
    ) -> None:
        self.call = call
        self.ivr = ivr
        self.ani, self.dnis = ani, dnis
        self.agent = agent  # the built-in AGENT: who a post-call survey asks about
        self.clock = clock
        self.deadlines = deadlines
        self.prompt_seconds = prompt_seconds
        self.speaker = speaker
        self.outbox: list[IvrAction] = outbox
        self.log = log
        self.on_exit = on_exit
        self.variables: dict[str, str] = dict.fromkeys(ivr.variables, "")
        """The user variables (built-ins are computed when read)."""
        self.language: str = ivr.language
        self.exit: LeaveIvr | None = None
        self.flow: Flow = ivr.flow(flow)
        self.node: Any = None
        self._timer: TimerHandle | None = None
        self._playing: Then | None = None  # what follows the prompt that is playing
        self._barge_in = False
        self._collector: Collector | None = None
        self._tries = 0
        self._lookup_key: str | None = None

    # --- inputs ---------------------------------------------------------------------------

    def start(self, now: float) -> None:
        self._enter_flow(self.flow.name, now)

    def digit(self, digit: str, now: float) -> None:
        """The caller pressed `digit`."""
        if self.exit is not None:
            return
        if self._playing is not None:
            if self._barge_in:
                self._barge_in_with(digit, now)
        elif self._collector is not None:
            self._press(digit, now)

    def lookup_done(self, fields: Mapping[str, Any] | None, now: float) -> None:
        """The answer to the last `LookUp`: the fields found, {} for not found, None for a
        failure. An answer after the lookup's time limit is ignored."""
        if self._lookup_key is None or self.exit is not None:
            return
        self._cancel_timer()
        self._looked_up(fields, now)

    def hang_up(self, now: float) -> None:
        """The caller hung up."""
        if self.exit is not None:
            return
        if isinstance(self.node, StopFlow | HangUp) and self._playing is not None:
            self._finish_prompt(now)  # the farewell counts as heard
            return
        self._cancel_timer()
        self._playing = self._collector = self._lookup_key = None
        if self.flow.on_hangup is not None:
            self._user_stop_flow(self.flow.node(self.flow.on_hangup), now)
        self._leave(IvrExitKind.ABANDONED, "", now)

    # --- moving through the flows -----------------------------------------------------------

    def _enter_flow(self, name: str, now: float) -> None:
        self.flow = self.ivr.flow(name)
        self.log.append(new(IvrFlowEntered, (now, self.call, name)))
        self._enter(self.flow.start, now)

    def _enter(self, name: str, now: float) -> None:
        node = self.node = self.flow.node(name)
        self.log.append(new(IvrNodeEntered, (now, self.call, self.flow.name, name, node.kind)))
        _ENTER[type(node)](self, node, now)

    def _next(self, name: str) -> Then:
        return lambda now: self._enter(name, now)

    def _leave(self, kind: IvrExitKind, target: str, now: float,
               priority: int | None = None, ask_pin: bool = False) -> None:
        variables = dict(self.variables)
        self.log.append(new(IvrExited, (now, self.call, kind, target, self.language, variables)))
        self.exit = new(LeaveIvr, (self.call, kind, target, priority, self.language, variables,
                                   ask_pin))
        if self.on_exit is None:
            self.outbox.append(self.exit)
        else:
            self.on_exit(self.exit, now)

    def _leaver(self, kind: IvrExitKind) -> Then:
        return lambda now: self._leave(kind, "", now)

    # --- variables ------------------------------------------------------------------------

    def values(self, now: float) -> Values:
        """Every variable as an expression reads it at `now`: user and built-in."""
        return Values({**self.variables, "ANI": self.ani, "DNIS": self.dnis, "AGENT": self.agent},
                      lambda: self.clock(now))

    def _set(self, name: str, value: str, now: float) -> None:
        self.variables[name] = value
        self.log.append(new(IvrVariableSet, (now, self.call, name, value)))

    # --- prompts ----------------------------------------------------------------------------

    def _play(self, names: Sequence[str], barge_in: bool, now: float, then: Then) -> None:
        """Play `names`, then carry on with `then` (at once if there is nothing to play)."""
        if not names:
            then(now)
            return
        self.outbox.append(new(PlayPrompts, (self.call, tuple(names), self.language, barge_in)))
        self._playing, self._barge_in = then, barge_in
        self._arm(now + self.prompt_seconds(names, self.language), self._finish_prompt)

    def _finish_prompt(self, now: float) -> None:
        then, self._playing = self._playing, None
        self._cancel_timer()
        assert then is not None
        then(now)

    def _barge_in_with(self, digit: str, now: float) -> None:
        node = self.node
        self.outbox.append(new(StopPrompts, (self.call,)))
        if isinstance(node, _INPUT):
            # The key is the try's first: it starts the collection `_listen` would have
            # started, and its timer replaces the prompt's.
            self._playing = None
            self._collector = Collector(spec_of(node))
            self._press(digit, now)
        else:
            self._finish_prompt(now)

    # --- timer ------------------------------------------------------------------------------

    def _arm(self, when: float, callback: Then) -> None:
        self._cancel_timer()
        self._timer = self.deadlines.schedule(when, callback)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # --- input nodes ------------------------------------------------------------------------

    def _try(self, node: InputNode, before: Sequence[str], now: float) -> None:
        self._collector = None
        self._play([*before, *node.prompts], node.barge_in, now, self._listen)

    def _listen(self, now: float) -> None:
        """The prompt is over (or was cut short): wait for the first key."""
        self._collector = Collector(spec_of(self.node))
        self._arm(now + self._collector.wait(), self._timed_out)

    def _press(self, digit: str, now: float) -> None:
        assert self._collector is not None
        ended_by = self._collector.press(digit)
        if ended_by is None:
            self._arm(now + self._collector.wait(), self._timed_out)
        else:
            self._tried(ended_by, now)

    def _timed_out(self, now: float) -> None:
        self._timer = None
        self._tried(TIMEOUT, now)

    def _tried(self, ended_by: str, now: float) -> None:
        node: InputNode = self.node
        assert self._collector is not None
        digits, self._collector = self._collector.digits, None
        self._cancel_timer()
        self.log.append(new(IvrDigits, (now, self.call, node.name, digits, ended_by)))
        silent = ended_by == TIMEOUT and not digits
        target = None if silent else self._chosen(node, digits, now)
        if target is not None:
            self._enter(target, now)
        elif self._tries < node.retries:
            self._tries += 1
            self._try(node, node.timeout_prompt if silent else node.invalid_prompt, now)
        else:
            out = node.on_timeout if silent and node.on_timeout is not None else node.default
            assert out is not None  # a loaded flow has a default on every input node
            self._enter(out, now)

    def _chosen(self, node: InputNode, digits: str, now: float) -> str | None:
        """Where valid `digits` lead (taking their effect), or None if they are invalid."""
        if isinstance(node, PlayOption):
            return node.options.get(digits)
        if isinstance(node, SelectLanguage):
            language = node.languages.get(digits)
            if language is None:
                return None
            self.language = language
            return node.next
        if len(digits) < node.min_digits:
            return None
        self._set(node.variable, digits, now)
        return node.next

    # --- lookups ----------------------------------------------------------------------------

    def _looked_up(self, fields: Mapping[str, Any] | None, now: float) -> None:
        node: AccessDb = self.node
        key, self._lookup_key = self._lookup_key, None
        result = "failed" if fields is None else "found" if fields else "not_found"
        self.log.append(new(IvrLookedUp, (now, self.call, node.lookup, key or "", result)))
        for field, variable in node.into.items() if fields else ():
            value = fields.get(field)  # type: ignore[union-attr]
            self._set(variable, "" if value is None else str(value), now)
        if result == "found":
            self._enter(node.found, now)
        elif result == "failed" and node.failed is not None:
            self._enter(node.failed, now)
        else:
            self._enter(node.not_found, now)

    def _lookup_timed_out(self, now: float) -> None:
        self._timer = None
        self._looked_up(None, now)

    # --- hang-up ----------------------------------------------------------------------------

    def _user_stop_flow(self, node: UserStopFlow, now: float) -> None:
        self.node = node
        self.log.append(IvrNodeEntered(now, self.call, self.flow.name, node.name, node.kind))
        values = self.values(now)
        for name, expression in node.assign.items():
            self._set(name, substitute(expression, values), now)


# --- entering each kind of node -------------------------------------------------------------


def _access_db(run: FlowRun, node: AccessDb, now: float) -> None:
    key = run._lookup_key = substitute(node.key, run.values(now))
    run.outbox.append(new(LookUp, (run.call, node.lookup, key)))
    run._arm(now + run.ivr.lookups[node.lookup].timeout, run._lookup_timed_out)


def _input(run: FlowRun, node: InputNode, now: float) -> None:
    run._tries = 0
    run._try(node, (), now)


def _play_number(run: FlowRun, node: PlayNumber, now: float) -> None:
    value = substitute(node.value, run.values(now))
    try:
        spoken = run.speaker(value, node.say_as, run.language)
    except ValueError:
        spoken = []
    run._play([*node.prompts, *spoken, *node.after], node.barge_in, now, run._next(node.next))


def _play_only(run: FlowRun, node: PlayOnly, now: float) -> None:
    run._play(node.prompts, node.barge_in, now, run._next(node.next))


def _var_compare(run: FlowRun, node: VarCompare, now: float) -> None:
    values = run.values(now)
    left, right = values.get(node.variable, ""), substitute(node.value, values)
    run._enter(node.if_true if compare(node.op, left, right) else node.if_false, now)


def _set_variable(run: FlowRun, node: SetVariable, now: float) -> None:
    run._set(node.variable, substitute(node.value, run.values(now)), now)
    run._enter(node.next, now)


def _stop_flow(run: FlowRun, node: StopFlow, now: float) -> None:
    run._play(node.prompts, False, now, run._leaver(IvrExitKind.COMPLETED))


def _hang_up(run: FlowRun, node: HangUp, now: float) -> None:
    run._play(node.prompts, False, now, run._leaver(IvrExitKind.HANG_UP))


def _to_queue(run: FlowRun, node: ToQueue, now: float) -> None:
    run._leave(IvrExitKind.QUEUE, node.queue, now, node.priority)


def _to_agent(run: FlowRun, node: ToAgent, now: float) -> None:
    run._leave(IvrExitKind.AGENT, node.agent, now)


def _to_voicemail(run: FlowRun, node: ToVoicemail, now: float) -> None:
    run._leave(IvrExitKind.VOICEMAIL, node.mailbox, now)


def _to_conference(run: FlowRun, node: ToConference, now: float) -> None:
    run._leave(IvrExitKind.CONFERENCE, node.room, now, ask_pin=node.ask_pin)


def _to_flow(run: FlowRun, node: ToFlow, now: float) -> None:
    run._enter_flow(node.flow, now)


_ENTER: dict[type, Callable[[FlowRun, Any, float], None]] = {
    AccessDb: _access_db,
    PlayDigit: _input,
    PlayOption: _input,
    SelectLanguage: _input,
    PlayNumber: _play_number,
    PlayOnly: _play_only,
    VarCompare: _var_compare,
    SetVariable: _set_variable,
    StopFlow: _stop_flow,
    HangUp: _hang_up,
    ToQueue: _to_queue,
    ToAgent: _to_agent,
    ToVoicemail: _to_voicemail,
    ToConference: _to_conference,
    ToFlow: _to_flow,
}
"""How a call enters each kind of node (USER STOP FLOW is entered only by `hang_up`)."""
