"""Callers in the IVR: which keys they press, when, and when they give up there.

One model for both fidelities: a caller learns where its call is from the IVR records of the
appliance's event log (`Channel.follow_ivr`) and presses keys through `Channel.press`. At
each try of an input node (its entry, or a retry after a timeout or a wrong entry) it decides
what to press as the call type's `IvrCaller` says, every draw from the call type's own
streams (`ivr-keys/`, `ivr-delay/`, `ivr-digits/`, `ivr-patience/`), so runs replay exactly.

A caller whose call enters a flow after an agent has answered it is in a post-call survey:
they stay with the probability of the call type's `SurveyCaller` (`survey-stay/`), else hang
up at once, and one who stays presses the score it draws (`survey-score/`) at each input node.

Queue patience counts from the moment a call leaves the IVR for a queue: what the caller
spent in the IVR is not taken off it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from appliance.config import IvrCaller, SurveyCaller
from appliance.config.ivr import Ivr, PlayDigit, PlayOption, SelectLanguage
from appliance.events import IvrDigits, IvrExited, IvrExitKind, IvrFlowEntered, IvrNodeEntered
from sim.channels import still_holds
from sim.distributions import sampler

if TYPE_CHECKING:
    from simpy.events import Timeout

    from appliance.config import Traffic
    from appliance.events import Record
    from appliance.pbx.ivr import PromptSeconds
    from sim.streams import Streams
    from sim.traffic.callers import Caller, Callers

KEYS = "0123456789*#"
InputNode = PlayDigit | PlayOption | SelectLanguage


class IvrCallerModel:
    """One call type's behaviour in the IVR, with its own random streams."""

    def __init__(self, config: IvrCaller, name: str, streams: Streams,
                 survey: SurveyCaller | None = None) -> None:
        self.config = config
        self.survey = survey or SurveyCaller()
        self.stays = streams(f"survey-stay/{name}")
        self.scores = streams(f"survey-score/{name}")
        self.keys = streams(f"ivr-keys/{name}")
        self.digits = streams(f"ivr-digits/{name}")
        self.key_delay = sampler(config.key_delay, streams(f"ivr-delay/{name}"))
        self.patience = (sampler(config.patience, streams(f"ivr-patience/{name}"))
                         if config.patience else None)

    def keys_for(self, place: str, node: InputNode) -> str:
        """What the caller presses at one try of `node` (`<flow>.<node>`); "" for nothing.
        One draw from the keys stream a try, whatever is pressed."""
        config = self.config
        u = self.keys.random()
        if u < config.wrong_key:
            return _wrong_key(node)
        u = (u - config.wrong_key) / (1.0 - config.wrong_key)
        if isinstance(node, PlayDigit):
            return "" if u < config.no_key else self._digits(place, node)
        choices = config.choices.get(place)
        if choices is not None:
            return _by_probability(choices, u)
        if u < config.no_key:
            return ""
        offered = list(node.options if isinstance(node, PlayOption) else node.languages)
        return offered[min(int((u - config.no_key) / (1.0 - config.no_key) * len(offered)),
                           len(offered) - 1)]

    def _digits(self, place: str, node: PlayDigit) -> str:
        digits = self.config.digits.get(place)
        if digits is None:
            digits = "".join(self.digits.choice("0123456789") for _ in range(node.max_digits))
        return _terminated(digits, node)

    def survey_score(self) -> str | None:
        """A survey's caller: None for one who hangs up at once, else the score they will
        key ("" for none). One draw from each stream a survey, whatever it gives."""
        stays = self.stays.random() < self.survey.stay
        score = _by_probability(self.survey.scores, self.scores.random())
        return score if stays else None


def score_keys(score: str, node: InputNode) -> str:
    """The keys that enter `score` at `node`: with a PLAY DIGIT's terminator if it waits."""
    return _terminated(score, node) if score and isinstance(node, PlayDigit) else score


def _terminated(digits: str, node: PlayDigit) -> str:
    ends = node.terminator is not None and len(digits) < node.max_digits
    return digits + (node.terminator or "") if ends else digits


def _wrong_key(node: InputNode) -> str:
    if isinstance(node, PlayDigit):
        return node.terminator or ""  # before any digit: too few
    offered = node.options if isinstance(node, PlayOption) else node.languages
    return next((key for key in KEYS if key not in offered), "")


def _by_probability(choices: dict[str, float], u: float) -> str:
    """The key whose share of [0, 1) holds `u`, in the order given; "" past them all."""
    cumulative = 0.0
    for key, probability in choices.items():
        cumulative += probability
        if u < cumulative:
            return key
    return ""


class Visit:
    """One call's stay in the IVR. `step` counts the tries and nodes it has been through:
    a key planned at one step is not pressed at another. `tries`: those ended at this node."""

    __slots__ = ("call", "caller", "flow", "language", "model", "node", "queue_patience",
                 "score", "step", "tries")

    def __init__(self, call: int, caller: Caller, model: IvrCallerModel, language: str,
                 queue_patience: float) -> None:
        self.call = call
        self.caller = caller
        self.model = model
        self.language = language
        self.queue_patience = queue_patience
        self.flow = ""
        self.node: Any = None
        self.step = 0
        self.tries = 0
        self.score: str | None = None  # a survey's: what the caller keys at every input


class IvrCallers:
    """The callers of `callers` in the site's IVR; `prompt_seconds` must be the appliance's."""

    def __init__(self, ivr: Ivr, traffic: Traffic, callers: Callers,
                 prompt_seconds: PromptSeconds, streams: Streams) -> None:
        self.ivr = ivr
        self.callers = callers
        self.channel = callers.channel
        self.clock = callers.clock
        self.prompt_seconds = prompt_seconds
        self.models = {c.name: IvrCallerModel(c.ivr or IvrCaller(), c.name, streams, c.survey)
                       for c in traffic.call_types}
        self.visits: dict[int, Visit] = {}
        # Every node by (flow, node): where each IvrNodeEntered puts the caller.
        self.nodes = {(flow.name, node.name): node for flow in ivr.flows for node in flow.nodes}
        self._on: dict[type, Callable[[int, Any], None]] = {
            IvrFlowEntered: self._entered, IvrNodeEntered: self._at_node,
            IvrDigits: self._try_ended, IvrExited: self._left,
        }
        self.channel.follow_ivr(self._heard)

    def _heard(self, call: int, record: Record) -> None:
        self._on[type(record)](call, record)

    # --- entering and leaving ---------------------------------------------------------------

    def _entered(self, call: int, _record: IvrFlowEntered) -> None:
        """The call entered a flow. New to the IVR (not from a TO FLOW), its queue patience
        waits and its IVR patience starts."""
        if call in self.visits:
            return
        caller = self.callers.caller(call)
        if caller is None:
            return
        if not caller.waiting:  # an agent answered: this is the post-call survey
            self._survey(call, caller)
            return
        now = self.clock.env.now
        model = self.models[caller.call_type.name]
        visit = Visit(call, caller, model, self.ivr.language, caller.patience_deadline - now)
        caller.patience_deadline = float("inf")
        self.visits[call] = visit
        if model.patience is not None:
            self.clock.after(model.patience(), self._out_of_patience, visit)

    def _survey(self, call: int, caller: Caller) -> None:
        """The caller stays and keys their score, or hangs up now (the trunk freed)."""
        model = self.models[caller.call_type.name]
        score = model.survey_score()
        if score is None:
            # Not from within the appliance's own record: just after it.
            self.clock.after(0.0, self._leave_survey, (call, caller))
            return
        visit = self.visits[call] = Visit(call, caller, model, self.ivr.language, 0.0)
        visit.score = score

    def _leave_survey(self, event: Timeout) -> None:
        call, caller = event.value
        if self.callers.caller(call) is caller:
            self.channel.hang_up(call)

    def _out_of_patience(self, event: Timeout) -> None:
        visit: Visit = event.value
        if still_holds(self.channel, lambda: self._in_ivr(visit)):
            del self.visits[visit.call]
            self.callers.give_up(visit.caller)

    def _in_ivr(self, visit: Visit) -> bool:
        # Hearing the goodbye of a STOP FLOW or HANG UP, the caller is served already.
        leaving = visit.node is not None and visit.node.is_exit
        return self.visits.get(visit.call) is visit and not leaving

    def _left(self, call: int, record: IvrExited) -> None:
        visit = self.visits.pop(call, None)
        if visit is not None and record.kind is IvrExitKind.QUEUE:
            self.callers.wait_in_queue(visit.caller, visit.queue_patience)

    # --- tries ------------------------------------------------------------------------------

    def _at_node(self, call: int, record: IvrNodeEntered) -> None:
        visit = self.visits.get(call)
        if visit is None:
            return
        visit.step += 1
        visit.tries = 0
        visit.flow = record.flow
        node = visit.node = self.nodes[(record.flow, record.node)]
        if node.is_input:
            self._try(visit, node.prompts)

    def _try_ended(self, call: int, record: IvrDigits) -> None:
        visit = self.visits.get(call)
        if visit is None:
            return
        visit.step += 1
        node = visit.node
        if isinstance(node, SelectLanguage) and record.digits in node.languages:
            visit.language = node.languages[record.digits]
        visit.tries += 1
        if visit.tries > node.retries:
            return  # the node's last try: it leads on, there is no retry to wait for
        silent = record.ended_by == "timeout" and not record.digits
        before = node.timeout_prompt if silent else node.invalid_prompt
        # A retry plays again with no record of its own; a node entered at this same moment
        # (the try led on) moves the step on first.
        self.clock.after(0.0, self._retry, (visit, visit.step, [*before, *node.prompts]))

    def _retry(self, event: Timeout) -> None:
        visit, step, prompts = event.value
        if visit.step == step and self.visits.get(visit.call) is visit:
            self._try(visit, prompts)

    def _try(self, visit: Visit, prompts: Sequence[str]) -> None:
        node = visit.node
        keys = (visit.model.keys_for(f"{visit.flow}.{node.name}", node) if visit.score is None
                else score_keys(visit.score, node))
        delay = visit.model.key_delay()
        if not keys:
            return
        if not node.barge_in:
            delay += self.prompt_seconds(prompts, visit.language)
        self.clock.after(delay, self._press, (visit, visit.step, keys))

    def _press(self, event: Timeout) -> None:
        visit, step, keys = event.value
        if visit.step != step or self.visits.get(visit.call) is not visit:
            return  # the node gave up waiting, or the caller has gone on or left
        self.channel.press(visit.call, keys[0])
        if len(keys) > 1:
            self.clock.after(visit.model.config.digit_gap, self._press, (visit, step, keys[1:]))
