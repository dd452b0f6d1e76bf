"""The site configuration: what a site's YAML file may say, checked field by field and across
fields.

Every model is frozen, because one loaded site is shared by the PBX, the ACD and the simulator
and none of them may change it under the others, and forbids unknown fields, because a misspelt
key silently ignored would leave a setting at its default without anyone noticing. This module
does no I/O: `loader.py` reads files and turns validation errors into `ConfigError`.

Times of day are stored as seconds since midnight, durations as seconds (except
`Break.minutes` and `Traffic.interval_minutes`, which say their unit).
"""

import math
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainSerializer,
    PlainValidator,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from appliance import csvtable
from appliance.config.campaign import read_contacts
from appliance.config.gateways import SiteGateway, gateway_problems
from appliance.config.ivr import (
    SITE_FOLDER,
    Ivr,
    ToConference,
    ToVoicemail,
    builtin_prompts,
    ivr_problems,
)
from appliance.config.live import Media, Outbound, PeerAddress, Phone, RingGroup, Sip, parse_peer
from appliance.config.routing import (
    Holiday,
    Known,
    Pattern,
    Route,
    Schedule,
    WorkingDay,
    pattern_matches,
    routing_problems,
)
from appliance.config.values import (
    DAY,
    Identifier,
    Loc,
    Number,
    PositiveNumber,
    PositiveSeconds,
    Probability,
    Problem,
    Seconds,
    Whole,
)
from appliance.config.values import Frozen as _Frozen
from appliance.config.values import raise_if_any as _raise_if_any
from appliance.config.voicemail import Voicemail, unknown_mailbox, voicemail_problems

TEXT_CONTEXT: Mapping[str, bool] = MappingProxyType({"from_text": True})
"""Validation context for data read from a file: pass as `Site.model_validate(data,
context=TEXT_CONTEXT)`. It makes a bare number where a time of day belongs an error (in a file
`start: 8` is a mistake, not 8 seconds after midnight)."""

MAX_RANGE = 10_000
"""Most seats one agent entry may describe; a bigger range is taken for a typo."""


SkillLevel = Annotated[Whole, Field(ge=1, le=10)]

_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?")
_TIME_EXPECTED = "expected a time of day written 'HH:MM' or 'HH:MM:SS' (24 h, 00:00 to 23:59:59)"


def parse_time_of_day(text: str) -> float:
    """`"08:30"` -> 30600.0. Raises ValueError naming the expected form."""
    match = _TIME.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{_TIME_EXPECTED}; got {text!r}")
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    if hours > 23 or minutes > 59 or seconds > 59:
        raise ValueError(f"{_TIME_EXPECTED}; got {text!r}")
    return float(hours * 3600 + minutes * 60 + seconds)


def format_time_of_day(seconds: float, *, with_seconds: bool = False) -> str:
    """Seconds since midnight -> `"HH:MM"` (or `"HH:MM:SS"`); wraps past midnight, so a
    simulation clock that has run into the next day still reads as a time of day."""
    whole = int(seconds) % DAY
    text = f"{whole // 3600:02d}:{whole % 3600 // 60:02d}"
    return f"{text}:{whole % 60:02d}" if with_seconds else text


def _time_of_day(value: object, info: ValidationInfo) -> float:
    if isinstance(value, str):
        return parse_time_of_day(value)
    from_text = bool(info.context and info.context.get("from_text"))
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if is_number and not from_text and 0 <= value < DAY:  # type: ignore[operator]
        return float(value)  # type: ignore[arg-type]
    raise ValueError(f"{_TIME_EXPECTED}; got {value!r}")


def _time_of_day_json(seconds: float) -> str | float:
    # Whole seconds read best as a clock time; anything finer stays a number so as not to lose it.
    if seconds != int(seconds):
        return seconds
    return format_time_of_day(seconds, with_seconds=seconds % 60 != 0)


TimeOfDay = Annotated[
    float, BeforeValidator(_time_of_day), PlainSerializer(_time_of_day_json, when_used="json")
]
"""Written "HH:MM" or "HH:MM:SS" in a file, stored as seconds since midnight."""


# --- distributions --------------------------------------------------------------------------


class Exponential(_Frozen):
    dist: Literal["exponential"] = "exponential"
    mean: PositiveSeconds

    @property
    def mean_value(self) -> float:
        return self.mean


class Fixed(_Frozen):
    dist: Literal["fixed"] = "fixed"
    value: Seconds

    @property
    def mean_value(self) -> float:
        return self.value


class Lognormal(_Frozen):
    """`mean` and `sd` are those of the distribution itself, not of its logarithm."""

    dist: Literal["lognormal"] = "lognormal"
    mean: PositiveSeconds
    sd: PositiveSeconds

    @property
    def mean_value(self) -> float:
        return self.mean


class Uniform(_Frozen):
    dist: Literal["uniform"] = "uniform"
    low: Seconds
    high: Number

    @model_validator(mode="after")
    def _check_order(self) -> "Uniform":
        if not self.high > self.low:
            _raise_if_any([(("high",), f"expected a number > low ({self.low}); got {self.high}")])
        return self

    @property
    def mean_value(self) -> float:
        return (self.low + self.high) / 2


class Empirical(_Frozen):
    """Draws one of `values` with equal probability."""

    dist: Literal["empirical"] = "empirical"
    values: Annotated[list[Seconds], Field(min_length=1)]

    @property
    def mean_value(self) -> float:
        return math.fsum(self.values) / len(self.values)


Distribution = Annotated[
    Exponential | Fixed | Lognormal | Uniform | Empirical, Field(discriminator="dist")
]
DISTRIBUTION_KINDS = ("exponential", "fixed", "lognormal", "uniform", "empirical")


# --- trunks and queues -----------------------------------------------------------------------

E1_CHANNELS = 30
"""Bearer channels on one E1 span (30B+D)."""


class TrunkGroup(_Frozen):
    name: Identifier
    kind: Literal["analog", "e1", "sip"]
    channels: Annotated[Whole, Field(ge=1)]
    spans: Annotated[Whole, Field(ge=1)] = 1
    # Gateways or carriers allowed to send calls on this group (live appliance); a call from
    # any other address is taken for a phone and must authenticate.
    peers: list[PeerAddress] = Field(default_factory=list)
    # The route out through this group (live appliance); None: no outside calls through it.
    # An outside call takes one of the group's channels, like an inbound call.
    outbound: Outbound | None = None

    @model_validator(mode="after")
    def _check_spans(self) -> "TrunkGroup":
        if self.kind != "e1" and self.spans != 1:
            _raise_if_any([(("spans",), f"spans apply to e1 only; got {self.spans} spans "
                                        f"on a {self.kind} trunk group")])
        most = E1_CHANNELS * self.spans
        if self.kind == "e1" and self.channels > most:
            _raise_if_any([(("channels",), f"expected at most {most} channels on {self.spans} "
                                           f"E1 span(s) of {E1_CHANNELS}; got {self.channels}")])
        return self

    @property
    def carries_dnis(self) -> bool:
        """Whether calls on this group bring a called number (analog FXO lines do not)."""
        return self.kind != "analog"


class Overflow(_Frozen):
    """What happens to a call that a queue will not keep: send it to another queue
    (`target`), to voicemail (the mailbox `target`, else the queue's own), or give it busy."""

    action: Literal["queue", "voicemail", "busy"]
    target: str | None = None

    @model_validator(mode="after")
    def _check_target(self) -> "Overflow":
        if self.action == "queue" and self.target is None:
            _raise_if_any([(("target",), "required when action is 'queue' "
                                         "(the queue to overflow to); got none")])
        if self.action == "busy" and self.target is not None:
            _raise_if_any([(("target",), f"only allowed when action is 'queue' or 'voicemail'; "
                                         f"got target "
                                         f"{self.target!r} with action {self.action!r}")])
        return self


class ServiceLevel(_Frozen):
    """Share of offered calls to answer within `threshold` seconds (80 % in 20 s)."""

    threshold: PositiveSeconds = 20.0
    target: Annotated[Number, Field(gt=0, le=1)] = 0.8


class Announcements(_Frozen):
    """Position / expected-wait announcements played to waiting callers."""

    first_after: Seconds = 30.0
    every: PositiveSeconds = 60.0
    duration: PositiveSeconds = 8.0


class Sticky(_Frozen):
    """Sticky agent: a caller whose number an agent served within the last `remember_hours`
    (in any queue) is offered to that agent first, if they serve this queue. A free agent is
    rung at once; one logged in but busy or paused keeps the call for up to `wait` seconds
    (nobody else takes it meanwhile), after which it goes to everyone by the strategy. A
    `wait` of 0 rings the agent only if they are free."""

    remember_hours: PositiveNumber = 72.0
    wait: Seconds = 15.0


_KEYS = re.compile(r"[0-9*#]+")


def _check_keys(value: str) -> str:
    if not _KEYS.fullmatch(value):
        raise ValueError(f"expected keys 0-9, * or #; got {value!r}")
    return value


Keys = Annotated[str, AfterValidator(_check_keys)]


def _check_key(value: str) -> str:
    if len(value) != 1 or not _KEYS.fullmatch(value):
        raise ValueError(f"expected one key 0-9, * or #; got {value!r}")
    return value


Key = Annotated[str, AfterValidator(_check_key)]


class Callback(_Frozen):
    """Callback keeping the caller's place: a waiting caller who presses `key` (offered in a
    prompt once they have waited `offer_after` seconds, if set) confirms the number to call
    back and hangs up; their place in the line is kept. When it comes up, `mode` says who is
    called first: the agent (`agent_first`: the agent answers, then the customer is called)
    or the customer (`caller_first`: the customer is called, and waits at the head of the
    line for the next agent once they answer). The customer's phone rings `ring_timeout`
    seconds; a call not answered (or busy) is tried again `retry_after` seconds later, at
    the same place, up to `attempts` calls in all. The call goes out through `trunk_group`
    (the one the caller came in on if unset)."""

    key: Key = "1"
    offer_after: PositiveSeconds | None = None
    mode: Literal["agent_first", "caller_first"] = "agent_first"
    attempts: Annotated[Whole, Field(ge=1)] = 3
    retry_after: Seconds = 120.0
    ring_timeout: PositiveSeconds = 30.0
    trunk_group: Identifier | None = None


Strategy = Literal[
    "ring_all", "linear", "cyclic", "rr_memory", "longest_idle", "fewest_calls", "random", "skills"
]


def _unquoted_no(value: object) -> object:
    """YAML reads a bare `no` as false: `autopause: no` means the policy "no"."""
    return "no" if value is False else value


AutoPause = Annotated[
    Literal["no", "on_no_answer", "on_any_failure"], BeforeValidator(_unquoted_no)
]


# What a call transferred into a queue keeps: its wait so far (its place in line as if it had
# waited here since it first queued, talk left out) and perhaps its priority, or nothing.
TransferKeeps = Literal["wait", "wait_and_priority", "nothing"]


class Survey(_Frozen):
    """A post-call survey: when the agent hangs up first, the caller stays on the line and
    walks the IVR flow `flow` (which reads the agent's id as the built-in `AGENT`); the value
    the flow leaves in the user variable `score` is the caller's rating of the agent."""

    flow: Identifier
    score: Identifier


class Queue(_Frozen):
    """An ACD queue. A call leaves it by `on_max_wait` after waiting `max_wait`, and by
    `on_full` when `capacity` callers already wait or (with `join_empty` false) when no agent
    of the queue is logged in. `priority` is the default for calls entering it; higher is
    served first.

    `autopause` says when an agent who did not take a call of this queue is paused: never,
    when the ring went unanswered (ring timeout, the phone's own 408/480, or a phone that
    cannot be reached), or on any failure (busy and declined too). A paused agent goes ready
    again by themselves, or after `autopause_ready_after` seconds if set. An agent who did
    not take a call and was not paused is not offered that call again for `retry` seconds.
    `sticky` (off unless set) offers a repeat caller to the agent who served them last.
    `transfer_keeps` says what a call an agent transfers into this queue keeps: the time it
    waited before its answer (`wait`, the default: it lines up as if it had waited here all
    along; its priority is this queue's, or the one its route gave it), that and the priority
    it had (`wait_and_priority`), or `nothing` (a new wait at this queue's priority)."""

    name: Identifier
    skill: Identifier | None = None
    strategy: Strategy = "longest_idle"
    priority: Whole = 0
    capacity: Annotated[Whole, Field(ge=1)] | None = None
    max_wait: PositiveSeconds | None = None
    on_max_wait: Overflow = Overflow(action="busy")
    on_full: Overflow = Overflow(action="busy")
    join_empty: bool = True
    wrap_up: Seconds = 0.0
    ring_timeout: PositiveSeconds = 15.0
    service_level: ServiceLevel = ServiceLevel()
    short_abandon: Seconds = 20.0
    announcements: Announcements | None = None
    expected_aht: PositiveSeconds = 180.0
    autopause: AutoPause = "on_no_answer"
    autopause_ready_after: PositiveSeconds | None = None
    retry: PositiveSeconds = 5.0
    sticky: Sticky | None = None
    survey: Survey | None = None
    transfer_keeps: TransferKeeps = "wait"
    callback: Callback | None = None

    @property
    def required_skill(self) -> str:
        """The skill an agent needs to serve this queue."""
        return self.skill or self.name


# --- agents ---------------------------------------------------------------------------------

_ID_RANGE = re.compile(r"([0-9]+)-([0-9]+)")
# '-' only between other characters: "1001-" is a range with its end forgotten, not an id.
_AGENT_ID = re.compile(r"[A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)*")


def expand_id_range(text: str) -> tuple[str, ...]:
    """`"1001"` -> `("1001",)`; `"01-03"` -> `("01", "02", "03")`. A range keeps the zero
    padding of its start. Raises ValueError for anything else."""
    match = _ID_RANGE.fullmatch(text)
    if match is None:
        if not _AGENT_ID.fullmatch(text):
            raise ValueError("expected an agent id like '1001' or an inclusive range like "
                             f"'1001-1016'; got {text!r}")
        return (text,)
    first, last = match.groups()
    start, end = int(first), int(last)
    if end < start:
        raise ValueError(f"expected a range whose end is not below its start; got {text!r}")
    if end - start >= MAX_RANGE:
        raise ValueError(f"expected a range of at most {MAX_RANGE} ids; "
                         f"got {text!r} ({end - start + 1} ids)")
    width = len(first) if first.startswith("0") else 0
    return tuple(str(number).zfill(width) for number in range(start, end + 1))


class Shift(_Frozen):
    """Logged in from `start` to `end`; an `end` earlier than `start` is on the next day."""

    start: TimeOfDay
    end: TimeOfDay

    @model_validator(mode="after")
    def _check_length(self) -> "Shift":
        if self.start == self.end:
            _raise_if_any([(("end",), "expected an end other than the start (a shift cannot "
                                      f"be empty or 24 h); got {format_time_of_day(self.end)} "
                                      "for both")])
        return self

    @property
    def duration(self) -> float:
        return (self.end - self.start) % DAY

    def offset(self, time_of_day: float) -> float:
        """Seconds from the shift's start to `time_of_day` (counting on into the next day)."""
        return (time_of_day - self.start) % DAY

    def covers(self, time_of_day: float) -> bool:
        return self.offset(time_of_day) < self.duration


class Break(_Frozen):
    start: TimeOfDay
    minutes: Annotated[Number, Field(gt=0, lt=1440)]
    reason: str = "break"

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.minutes * 60


class ReadOnlyMapping(Mapping[str, int]):
    """A mapping nobody can change, that pickles (sites travel to worker processes)."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, int]) -> None:
        self._data = dict(data)

    def __getitem__(self, key: str) -> int:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return repr(self._data)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self._data,))


def _read_only(skills: Mapping[str, int]) -> Mapping[str, int]:
    return ReadOnlyMapping(skills)


class Agent(_Frozen):
    """One seat, as `AgentSpec` entries expand to. `skills` is a read-only mapping; agents hash
    by id, so they can key dicts and sit in sets."""

    id: str
    name: str
    skills: Annotated[Mapping[str, SkillLevel], AfterValidator(_read_only), PlainSerializer(dict)]
    shift: Shift | None = None
    breaks: tuple[Break, ...] = ()

    def __hash__(self) -> int:
        return hash(self.id)

    def level(self, skill: str) -> int:
        """Proficiency in `skill`, 0 if the agent lacks it."""
        return self.skills.get(skill, 0)


class AgentSpec(_Frozen):
    """One entry of the `agents` list: a single seat (`id: "1001"`) or a range of seats with the
    same skills and schedule (`id: "1001-1016"`). With a range, `name` (if any) prefixes each
    seat's id."""

    id: str
    name: str | None = None
    skills: Annotated[dict[str, SkillLevel], Field(min_length=1)]
    shift: Shift | None = None
    breaks: list[Break] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        expand_id_range(value)
        return value

    @model_validator(mode="after")
    def _check_breaks(self) -> "AgentSpec":
        _raise_if_any(list(_break_problems(self.shift, self.breaks)))
        return self

    def seat_ids(self) -> tuple[str, ...]:
        return expand_id_range(self.id)

    def expand(self) -> tuple[Agent, ...]:
        ids = self.seat_ids()
        single = len(ids) == 1 and _ID_RANGE.fullmatch(self.id) is None
        return tuple(
            Agent(id=seat, name=self._seat_name(seat, single), skills=self.skills,
                  shift=self.shift, breaks=tuple(self.breaks))
            for seat in ids
        )

    def _seat_name(self, seat: str, single: bool) -> str:
        if self.name is None:
            return seat
        return self.name if single else f"{self.name} {seat}"


def _break_problems(shift: Shift | None, breaks: Sequence[Break]) -> Iterator[Problem]:
    """Breaks must lie inside the shift and not overlap one another."""
    if shift is None:
        return
    previous_end = 0.0
    ordered = sorted(enumerate(breaks), key=lambda item: shift.offset(item[1].start))
    for index, item in ordered:
        begins = shift.offset(item.start)
        ends = begins + item.duration
        if ends > shift.duration:
            yield (("breaks", index, "start"),
                   f"expected a break inside the shift {format_time_of_day(shift.start)}-"
                   f"{format_time_of_day(shift.end)}; got {item.minutes:g} min from "
                   f"{format_time_of_day(item.start)}")
        elif begins < previous_end:
            yield (("breaks", index, "start"),
                   f"break at {format_time_of_day(item.start)} overlaps the break before it")
        previous_end = max(previous_end, ends)


# --- traffic (used only by the simulator) ---------------------------------------------------


class Hold(_Frozen):
    """The agent puts the caller on hold once during the call with this probability."""

    probability: Probability
    duration: Distribution


class Transfer(_Frozen):
    """The agent transfers the call to queue `target` at its end with this probability."""

    probability: Probability
    target: str


class Retrial(_Frozen):
    """Callers who abandon or get busy call again with these probabilities, after `delay`,
    for at most `max_attempts` attempts in all."""

    after_abandon: Probability = 0.0
    after_busy: Probability = 0.0
    delay: Distribution = Exponential(mean=300)
    max_attempts: Annotated[Whole, Field(ge=1)] = 3


class IvrCaller(_Frozen):
    """How callers of a call type walk the site's IVR (simulation only). Nodes are named
    `<flow>.<node>`.

    At each try of an input node a caller first presses, with probability `wrong_key`, a key
    the node does not take (a menu: the lowest key it offers no option for; PLAY DIGIT: its
    terminator before any digit). Otherwise, at a menu named in `choices` they press a key by
    its probabilities, and the remainder presses nothing (the node times out); at any other
    menu they press nothing with probability `no_key`, else one of its keys, each as likely.
    At a PLAY DIGIT node they press nothing with probability `no_key`, else the digits of
    `digits` for that node (random ones, `max_digits` long, if none are given), `digit_gap`
    seconds apart, then the terminator if the node still waits for more.

    The first key comes `key_delay` after the prompt starts when the node allows barge-in,
    after it ends otherwise; a key that comes after the node gave up waiting is not pressed.
    A caller whose `patience` (counted from entering the IVR) runs out hangs up there: an IVR
    abandon (not while hearing a STOP FLOW's or HANG UP's goodbye). Without `patience`
    callers wait as long as the IVR keeps them."""

    choices: dict[str, dict[Keys, Probability]] = Field(default_factory=dict)
    digits: dict[str, Keys] = Field(default_factory=dict)
    wrong_key: Probability = 0.0
    no_key: Probability = 0.0
    key_delay: Distribution = Fixed(value=2)
    digit_gap: Seconds = 0.3
    patience: Distribution | None = None

    @model_validator(mode="after")
    def _check_probabilities(self) -> "IvrCaller":
        problems: list[Problem] = []
        for node, keys in self.choices.items():
            total = math.fsum(keys.values())
            if total > 1 + 1e-9:
                problems.append((("choices", node), f"the keys' probabilities add up to "
                                                    f"{total:g}, more than 1"))
            problems += [(("choices", node, key), f"expected one key; got {key!r}")
                         for key in keys if len(key) != 1]
        _raise_if_any(problems)
        return self


class SurveyCaller(_Frozen):
    """How callers of a call type answer a queue's post-call survey (simulation only).

    They wait for the agent to hang up, then stay for the survey with probability `stay`
    (else they hang up at once, freeing the trunk). One who stays presses, at each input
    node of the survey's flow, the score drawn from `scores` (keys by probability; the
    remainder presses nothing and the node times out), as `ivr` says for any other key:
    after its `key_delay`, digits `digit_gap` apart, then a PLAY DIGIT's terminator."""

    stay: Probability = 1.0
    scores: dict[Keys, Probability] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_scores(self) -> "SurveyCaller":
        total = math.fsum(self.scores.values())
        if total > 1 + 1e-9:
            _raise_if_any([(("scores",), f"the scores' probabilities add up to {total:g}, "
                                         "more than 1")])
        return self


class VoicemailCaller(_Frozen):
    """How callers of a call type sent to a mailbox behave (simulation only): once the
    greeting and the beep have played, they leave a message with probability `leave`,
    speaking for `length` seconds and then pressing "#" (the box's `max_seconds` cut a
    longer one short); the others hang up at once (no message: less than 0.3 s)."""

    leave: Probability = 0.7
    length: Distribution = Fixed(value=30.0)


class CallbackCaller(_Frozen):
    """How callers of a call type take a queue's callback (simulation only). A waiting caller
    offered a callback (the queue's `callback.offer_after`) accepts with probability
    `accept`: they press the key, confirm their number and hang up, and their patience no
    longer applies. Called back, they answer with probability `answer`, after `ring_delay`
    (a phone that rings past the queue's `callback.ring_timeout` is not answered)."""

    accept: Probability = 0.0
    answer: Probability = 1.0
    ring_delay: Distribution = Fixed(value=5.0)


class CallType(_Frozen):
    name: Identifier
    share: PositiveNumber = 1.0
    trunk_group: str
    dnis: str = ""
    # The line these callers ring, on a group whose gateway ports bring no called number
    # (`gateways`: a port's `line`); None: any port of the group.
    line: str | None = None
    callers: Annotated[Whole, Field(ge=1)] = 100_000
    talk_time: Distribution
    patience: Distribution | None = None
    hold: Hold | None = None
    transfer: Transfer | None = None
    retrial: Retrial = Retrial()
    leave_after_announcement: Probability = 0.5
    ivr: IvrCaller | None = None
    survey: SurveyCaller | None = None
    # Callers sent to a mailbox; without it they hang up after the greeting.
    voicemail: VoicemailCaller | None = None
    callback: CallbackCaller | None = None


class LookupAnswer(_Frozen):
    """How a simulated IVR lookup answers: "found" with probability `found`, then with
    `fields`; after `delay`. A lookup named in `traffic.lookups` always answers so (simulated
    callers' numbers are in no real table); a SQLite lookup not named there asks its database
    file, else its seed, and answers so only when it has neither."""

    found: Probability = 1.0
    fields: dict[str, str] = Field(default_factory=dict)
    delay: Distribution = Fixed(value=0.2)


_RATES_EXPECTED = "expected calls per hour >= 0, or a list of them (one per interval)"


def _rate(value: object, where: str) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value < 0:  # type: ignore[arg-type,operator]
        raise ValueError(f"{_RATES_EXPECTED}; got {value!r}{where}")
    return float(value)  # type: ignore[arg-type]


def _rates(value: object) -> float | list[float]:
    # A plain validator, so that errors name the profile entry instead of pydantic's
    # per-branch union report.
    if isinstance(value, list | tuple):
        if not value:
            raise ValueError(f"{_RATES_EXPECTED}; got an empty list")
        return [_rate(item, f" at position {index}") for index, item in enumerate(value)]
    return _rate(value, "")


class Faults(_Frozen):
    """Gateway hardware failing in simulation: each port fails `line_failures_per_day` times
    a day on average, each gateway as a whole `gateway_failures_per_day` times, each E1 span
    (its 30 channels at once: loss of signal, its D channel lost) `span_failures_per_day`
    times (Poisson, from the run's seed); a port or gateway comes back after `repair`, a span
    after `span_repair` (default: `repair`). Calls on what fails end."""

    line_failures_per_day: Annotated[float, Field(ge=0)] = 0.0
    gateway_failures_per_day: Annotated[float, Field(ge=0)] = 0.0
    span_failures_per_day: Annotated[float, Field(ge=0)] = 0.0
    repair: Distribution = Fixed(value=600.0)
    span_repair: Distribution | None = None


class Traffic(_Frozen):
    """Offered traffic. A profile has one rate per interval starting at `start` and wraps
    around when a run is longer."""

    start: TimeOfDay = 8 * 3600.0
    # The simulated day's date, for schedules, holidays and the IVR's DATE: a Monday, so
    # that a run falls on a working day unless the site says otherwise.
    start_date: date = date(2024, 1, 1)
    interval_minutes: Whole = 30
    calls_per_hour: Annotated[
        float | list[float], PlainValidator(_rates, json_schema_input_type=float | list[float])
    ]
    call_types: Annotated[list[CallType], Field(min_length=1)]
    lookups: dict[Identifier, LookupAnswer] = Field(default_factory=dict)
    faults: Faults = Faults()

    @field_validator("interval_minutes")
    @classmethod
    def _check_interval(cls, value: int) -> int:
        if value < 1 or 1440 % value:
            raise ValueError(f"expected a number of minutes that divides a day (1440); "
                             f"got {value}")
        return value

    @model_validator(mode="after")
    def _check_names(self) -> "Traffic":
        _raise_if_any(list(_duplicate_names("call_types", self.call_types, "call type")))
        return self

    @model_validator(mode="after")
    def _check_profile_length(self) -> "Traffic":
        per_day = 1440 // self.interval_minutes
        if isinstance(self.calls_per_hour, list) and len(self.calls_per_hour) > per_day:
            raise ValueError(
                f"calls_per_hour: a daily profile has at most {per_day} values of "
                f"{self.interval_minutes} minutes; got {len(self.calls_per_hour)}"
            )
        return self

    @property
    def profile(self) -> tuple[float, ...]:
        """Calls per hour per interval (one value for a constant rate)."""
        if isinstance(self.calls_per_hour, list):
            return tuple(self.calls_per_hour)
        return (self.calls_per_hour,)

    @property
    def day_profile(self) -> tuple[float, ...]:
        """Calls per hour in every interval of a day from `start`: a profile shorter
        than a day has no calls for the rest of it; a constant rate holds all day."""
        per_day = 1440 // self.interval_minutes
        if isinstance(self.calls_per_hour, list):
            return tuple(self.calls_per_hour) + (0.0,) * (per_day - len(self.calls_per_hour))
        return (self.calls_per_hour,) * per_day

    def rate_at(self, elapsed: float) -> float:
        """Calls per hour `elapsed` seconds after the run's start; every day is the same."""
        day = self.day_profile
        return day[int(elapsed // (self.interval_minutes * 60)) % len(day)]


class AgentBehaviour(_Frozen):
    """How simulated agents act; `wrap_up` None leaves them to the queue's automatic wrap-up."""

    answer_delay: Distribution = Fixed(value=0)
    no_answer_probability: Probability = 0.0
    wrap_up: Distribution | None = None
    talk_time_factor: PositiveNumber = 1.0
    # An agent who misses a ring is paused by the ACD ("no_answer"); this is how
    # long they stay away before they notice and make themselves ready again.
    away_after_missed_ring: Distribution = Exponential(mean=120)


# --- outbound campaigns -----------------------------------------------------------------------

RETRY_OUTCOMES = ("no_answer", "busy", "failed", "abandoned")
# A number as dialed, or a prefix of numbers ending in '*'.
DoNotCall = Annotated[str, Field(pattern=r"^\+?[0-9]{1,32}\*?$")]


class CampaignRetry(_Frozen):
    """Seconds before a number is called again after each outcome that may be retried."""

    no_answer: Seconds = 3600.0
    busy: Seconds = 600.0
    failed: Seconds = 1800.0
    abandoned: Seconds = 3600.0


class CampaignModel(_Frozen):
    """How the called numbers behave, for the simulator: the chance an attempt is answered or
    busy (else it rings unanswered until the route's ring timeout), how long it rings before
    an answer, and how long the answered party talks."""

    answer_probability: Probability = 0.5
    busy_probability: Probability = 0.1
    ring_time: Distribution = Fixed(value=8)
    talk_time: Distribution = Exponential(mean=120)
    busy_after: Seconds = 2.0

    @model_validator(mode="after")
    def _check(self) -> "CampaignModel":
        if self.answer_probability + self.busy_probability > 1 + 1e-9:
            _raise_if_any([(("busy_probability",), "expected answer_probability + "
                            f"busy_probability <= 1; got {self.answer_probability} + "
                            f"{self.busy_probability}")])
        return self


class Campaign(_Frozen):
    """An outbound campaign: `list` (a CSV file with a `number` column, relative to the site
    file) dialed through `trunk_group`'s route out, each answered call handed to `queue`'s
    agents or to IVR `flow` (one of the two). Progressive: one call per free agent of the
    queue times `ratio` (>= 1), at most `max_rate` calls a minute (0: no limit), only while
    schedule `hours` is open (None: any time); `attempts` per number, `retry` intervals."""

    name: Identifier
    list: Annotated[str, Field(min_length=1)]
    trunk_group: Identifier
    queue: Identifier | None = None
    flow: Identifier | None = None
    do_not_call: list[DoNotCall] = Field(default_factory=list)
    ratio: Annotated[Number, Field(ge=1, le=5)] = 1.0
    max_rate: Annotated[Number, Field(ge=0)] = 0.0
    attempts: Annotated[Whole, Field(ge=1, le=20)] = 3
    retry: CampaignRetry = CampaignRetry()
    hours: Identifier | None = None
    # Lines an IVR-flow campaign keeps busy at most (its "free agents").
    lines: Annotated[Whole, Field(ge=1)] = 1
    # Its share of the queue's free agents beside the other campaigns on that queue.
    weight: Annotated[Number, Field(gt=0, le=100)] = 1.0
    start: bool = False  # dial from the moment the appliance starts
    model: CampaignModel = CampaignModel()

    @field_validator("list")
    @classmethod
    def _absolute_list(cls, path: str, info: ValidationInfo) -> str:
        folder = (info.context or {}).get(SITE_FOLDER, ".")
        return str((Path(folder) / Path(path).expanduser()).absolute())

    @model_validator(mode="after")
    def _check(self) -> "Campaign":
        problems: list[Problem] = []
        if (self.queue is None) == (self.flow is None):
            problems.append(((), "expected exactly one of queue and flow (where an answered "
                                 "call goes)"))
        try:
            read_contacts(Path(self.list))
        except csvtable.TableError as error:
            problems.append((("list",), str(error)))
        _raise_if_any(problems)
        return self

    def retry_seconds(self) -> dict[str, float]:
        return {outcome: getattr(self.retry, outcome) for outcome in RETRY_OUTCOMES}


# --- the site -------------------------------------------------------------------------------

class Site(_Frozen):
    """A whole site. Validation checks every cross-reference (routes, overflows, skills,
    traffic), so code holding a `Site` may look names up without further checks."""

    site: str
    description: str = ""
    trunk_groups: Annotated[list[TrunkGroup], Field(min_length=1)]
    queues: Annotated[list[Queue], Field(min_length=1)]
    agents: Annotated[list[AgentSpec], Field(min_length=1)]
    routes: Annotated[list[Route], Field(min_length=1)]
    # Routing's named parts (`appliance/config/routing.py`): who is on which caller list, who
    # gets busy before any route, opening hours, and the calendar that overrides them.
    caller_lists: dict[Identifier, list[Pattern]] = Field(default_factory=dict)
    blacklist: list[Pattern] = Field(default_factory=list)
    schedules: dict[Identifier, Schedule] = Field(default_factory=dict)
    holidays: list[Holiday] = Field(default_factory=list)
    working_days: list[WorkingDay] = Field(default_factory=list)
    traffic: Traffic | None = None
    agent_behaviour: AgentBehaviour = AgentBehaviour()
    sip: Sip = Sip()
    media: Media = Media()
    ivr: Ivr | None = None
    voicemail: Voicemail = Voicemail()
    campaigns: list[Campaign] = Field(default_factory=list)
    # The gateways calls come through and what their ports serve (`appliance/config/gateways.py`).
    gateways: list[SiteGateway] = Field(default_factory=list)

    _queues: dict[str, Queue] = PrivateAttr(default_factory=dict)
    _trunk_groups: dict[str, TrunkGroup] = PrivateAttr(default_factory=dict)
    _agents: tuple[Agent, ...] = PrivateAttr(default=())

    @model_validator(mode="after")
    def _check_site(self) -> "Site":
        _raise_if_any(list(_site_problems(self)))
        self._queues = {queue.name: queue for queue in self.queues}
        self._trunk_groups = {group.name: group for group in self.trunk_groups}
        self._agents = tuple(agent for spec in self.agents for agent in spec.expand())
        return self

    def expanded_agents(self) -> tuple[Agent, ...]:
        """Every seat, in file order."""
        return self._agents

    def queue(self, name: str) -> Queue:
        return _lookup(self._queues, name, "queue")

    def trunk_group(self, name: str) -> TrunkGroup:
        return _lookup(self._trunk_groups, name, "trunk group")


def _lookup(table: Mapping[str, Any], name: str, what: str) -> Any:
    try:
        return table[name]
    except KeyError:
        raise KeyError(f"no {what} named {name!r} (have: {', '.join(table)})") from None


# --- checks across the site -----------------------------------------------------------------


def _site_problems(site: Site) -> Iterator[Problem]:
    yield from _duplicate_names("trunk_groups", site.trunk_groups, "trunk group")
    yield from _duplicate_names("queues", site.queues, "queue")
    yield from _overflow_problems(site.queues)
    yield from _overflow_cycles(site.queues)
    yield from _agent_id_problems(site.agents)
    yield from _skill_problems(site.queues, site.agents)
    yield from _phone_contact_problems(site)
    yield from _outbound_prefix_problems(site.trunk_groups)
    yield from _forward_problems(site)
    route_problems = list(_route_problems(site))
    yield from route_problems
    if site.traffic is not None:
        # Whether a call type can be routed is only worth saying once the routes are valid.
        yield from _traffic_problems(site, site.traffic, check_routing=not route_problems)
    if site.ivr is not None:
        agent_ids = [seat for spec in site.agents for seat in spec.seat_ids()]
        yield from ivr_problems(site.ivr, [queue.name for queue in site.queues], agent_ids)
    yield from _survey_problems(site)
    yield from _voicemail_problems(site)
    yield from _room_problems(site)
    yield from _callback_problems(site)
    yield from _campaign_problems(site)
    yield from gateway_problems(site.gateways, site, expand_id_range)


def _voicemail_problems(site: Site) -> Iterator[Problem]:
    """Mailboxes, and every route, IVR exit and overflow that sends callers to one. A site
    without mailboxes takes no messages (such calls end at once, 480): its names go unchecked."""
    agent_ids = [seat for spec in site.agents for seat in spec.seat_ids()]
    yield from voicemail_problems(site.voicemail, [queue.name for queue in site.queues],
                                  agent_ids)
    named = [(("routes", index, "voicemail"), route.voicemail)
             for index, route in enumerate(site.routes) if route.voicemail is not None]
    named += [(("ivr", "flows", f, "nodes", n, "mailbox"), node.mailbox)
              for f, flow in enumerate(site.ivr.flows if site.ivr else ())
              for n, node in enumerate(flow.nodes) if isinstance(node, ToVoicemail)]
    named += [(("queues", index, field, "target"), getattr(queue, field).target)
              for index, queue in enumerate(site.queues) for field in ("on_max_wait", "on_full")
              if getattr(queue, field).action == "voicemail"
              and getattr(queue, field).target is not None]
    codes = site.sip.feature_codes
    for field in ("own_box_code", "any_box_code"):
        code = getattr(site.voicemail, field)
        if code in codes.model_dump().values():
            yield (("voicemail", field), f"expected a code no feature code has; got {code!r}, "
                                         f"a code of sip.feature_codes")
    for loc, name in named if site.voicemail.mailboxes else ():
        if problem := unknown_mailbox(site.voicemail, name):
            yield (loc, problem)


def _room_problems(site: Site) -> Iterator[Problem]:
    """An IVR exit to a conference room names one of `sip.conferences` by its number."""
    rooms = [room.number for room in site.sip.conferences]
    for f, flow in enumerate(site.ivr.flows if site.ivr else ()):
        for n, node in enumerate(flow.nodes):
            if isinstance(node, ToConference) and node.room not in rooms:
                yield (("ivr", "flows", f, "nodes", n, "room"),
                       f"no conference room numbered {node.room!r} in sip.conferences "
                       f"(rooms: {', '.join(rooms) or 'none declared'})")


def _callback_problems(site: Site) -> Iterator[Problem]:
    """A queue's callback calls out through one of the site's trunk groups."""
    groups = [group.name for group in site.trunk_groups]
    for index, queue in enumerate(site.queues):
        callback = queue.callback
        if callback is not None and callback.trunk_group not in (None, *groups):
            yield (("queues", index, "callback", "trunk_group"),
                   f"no trunk group named {callback.trunk_group!r} (trunk groups: "
                   f"{', '.join(groups)})")


def _campaign_problems(site: Site) -> Iterator[Problem]:
    """A campaign dials through a group with a route out, hands calls to a queue or flow the
    site has, and keeps hours of one of its schedules."""
    yield from _duplicate_names("campaigns", site.campaigns, "campaign")
    outbound = [group.name for group in site.trunk_groups if group.outbound is not None]
    flows = [flow.name for flow in site.ivr.flows] if site.ivr is not None else []
    for index, campaign in enumerate(site.campaigns):
        for field, problem in _campaign_targets(site, campaign, outbound, flows):
            yield (("campaigns", index, field), problem)


def _campaign_targets(site: Site, campaign: Campaign, outbound: Sequence[str],
                      flows: Sequence[str]) -> Iterator[tuple[str, str]]:
    if campaign.trunk_group not in outbound:
        yield ("trunk_group", f"expected a trunk group with an outbound route (with one: "
                              f"{', '.join(outbound) or 'none'}); got {campaign.trunk_group!r}")
    if campaign.queue is not None and (problem := _unknown_queue(site, campaign.queue)):
        yield ("queue", problem)
    if campaign.flow is not None and campaign.flow not in flows:
        yield ("flow", f"no flow named {campaign.flow!r} (flows: {', '.join(flows) or 'none'})")
    if campaign.hours is not None and campaign.hours not in site.schedules:
        yield ("hours", f"no schedule named {campaign.hours!r} (schedules: "
                        f"{', '.join(site.schedules) or 'none'})")


def _survey_problems(site: Site) -> Iterator[Problem]:
    """A queue's survey names a flow of the site's IVR and one of its user variables."""
    for index, queue in enumerate(site.queues):
        survey, loc = queue.survey, ("queues", index, "survey")
        if survey is None:
            continue
        if site.ivr is None:
            yield (loc, "a survey is an IVR flow, and the site has no ivr section")
            continue
        flows = [flow.name for flow in site.ivr.flows]
        if survey.flow not in flows:
            yield ((*loc, "flow"), f"no flow named {survey.flow!r} (flows: {', '.join(flows)})")
        if survey.score not in site.ivr.variables:
            yield ((*loc, "score"), f"no user variable named {survey.score!r} (variables: "
                                    f"{', '.join(site.ivr.variables) or 'none declared'})")


def _phone_contact_problems(site: Site) -> Iterator[Problem]:
    """A phone's static contact may share an address with a trunk peer, but not its port:
    requests are told apart by address:port first, and one address:port cannot be both."""
    peers = {(str(network.network_address), port): (group.name, peer)
             for group in site.trunk_groups for peer in group.peers
             for network, port in [parse_peer(peer)] if port is not None}
    for index, phone in enumerate(site.sip.phones):
        clash = peers.get(phone.static_contact or ("", 0))
        if clash is not None:
            yield (("sip", "phones", index, "contact"),
                   f"{phone.contact} is also trunk group {clash[0]!r}'s peer {clash[1]!r}: "
                   "give the phone or the trunk another port")


def _forward_problems(site: Site) -> Iterator[Problem]:
    """A phone forwards, and a ring group nobody answers goes on, to another phone of the
    site or to a number a route out takes."""
    for index, phone in enumerate(site.sip.phones):
        for condition, target in phone.forward.targets().items():
            if target == phone.user:
                yield (("sip", "phones", index, "forward", condition),
                       f"a phone cannot forward to itself ({target!r})")
            elif problem := _target_problem(site, target):
                yield (("sip", "phones", index, "forward", condition), problem)
    for index, group in enumerate(site.sip.ring_groups):
        if group.then is not None and (problem := _group_then_problem(site, group)):
            yield (("sip", "ring_groups", index, "then"), problem)
    for index, phone in enumerate(site.sip.phones):
        yield from _follow_me_problems(site, index, phone)


def _follow_me_problems(site: Site, index: int, phone: Phone) -> Iterator[Problem]:
    """Follow-me numbers are other phones, and at most the last an outside number: an
    outside call rings on until its route gives up, so nothing could ring after it."""
    numbers = [] if phone.follow_me is None else phone.follow_me.numbers
    users = {other.user for other in site.sip.phones}
    for place, number in enumerate(numbers):
        loc = ("sip", "phones", index, "follow_me", "numbers", place)
        if number == phone.user or number in numbers[:place]:
            yield (loc, f"expected numbers other than the phone and each other; got {number!r}")
        elif problem := _target_problem(site, number):
            yield (loc, problem)
        elif number not in users and place < len(numbers) - 1:
            yield (loc, f"expected an outside number last only (nothing rings after it); "
                        f"got {number!r} before {numbers[place + 1]!r}")


def _group_then_problem(site: Site, group: RingGroup) -> str | None:
    """A ring group's `then`: a mailbox or a queue the site has, or a phone or an outside
    number (`_target_problem`) - but no outside number for a group a trunk's route sends
    callers to: a trunk caller is not carried out through a trunk again."""
    kind, _, name = (group.then or "").partition(":")
    if kind == "voicemail" and site.voicemail.mailbox(name) is None:
        return f"no mailbox named {name!r} in voicemail.mailboxes"
    if kind == "queue" and name not in [queue.name for queue in site.queues]:
        return f"no queue named {name!r} in queues"
    if kind in ("voicemail", "queue"):
        return None
    problem = _target_problem(site, group.then or "")
    users = {phone.user for phone in site.sip.phones}
    if problem is None and group.then not in users and _routed_to(site, group.number):
        return (f"a ring group trunk routes send callers to goes on to a phone, a mailbox "
                f"or a queue, not out through a trunk again; got {group.then!r}")
    return problem


def _routed_to(site: Site, number: str) -> bool:
    return any(destination.ring_group == number for route in site.routes
               for _, destination in route.destinations())


def _target_problem(site: Site, target: str) -> str | None:
    """What is wrong with `target` as a phone's user or an outside number; None: nothing."""
    prefixes = [group.outbound.prefix for group in site.trunk_groups
                if group.outbound is not None]
    if target in {phone.user for phone in site.sip.phones} or any(
            target.startswith(prefix) and target != prefix for prefix in prefixes):
        return None
    return (f"expected a phone's user or an outside number with a route out's prefix "
            f"({', '.join(map(repr, prefixes)) or 'no route out'}); got {target!r}")


def _outbound_prefix_problems(groups: Sequence[TrunkGroup]) -> Iterator[Problem]:
    """A dialled number picks its route out by prefix: no prefix may start another's, or
    one route could never be reached."""
    routes = [(index, group.outbound.prefix) for index, group in enumerate(groups)
              if group.outbound is not None]
    for index, prefix in routes:
        for other, taken in routes:
            if other < index and (prefix.startswith(taken) or taken.startswith(prefix)):
                yield (("trunk_groups", index, "outbound", "prefix"),
                       f"expected a prefix that does not overlap trunk_groups[{other}]'s "
                       f"{taken!r}; got {prefix!r}")


def _duplicate_names(field: str, items: Sequence[Any], what: str) -> Iterator[Problem]:
    first: dict[str, int] = {}
    for index, item in enumerate(items):
        if item.name in first:
            yield ((field, index, "name"),
                   f"duplicate {what} name {item.name!r} (also {field}[{first[item.name]}])")
        first.setdefault(item.name, index)


def _names(items: Sequence[Any]) -> str:
    return ", ".join(item.name for item in items)


def _unknown_queue(site: Site, name: str) -> str | None:
    if any(queue.name == name for queue in site.queues):
        return None
    return f"no queue named {name!r} (queues: {_names(site.queues)})"


def _overflow_problems(queues: Sequence[Queue]) -> Iterator[Problem]:
    names = {queue.name for queue in queues}
    for index, queue in enumerate(queues):
        for field in ("on_max_wait", "on_full"):
            target = getattr(queue, field).target
            if target is None or getattr(queue, field).action != "queue":
                continue
            if target == queue.name:
                yield (("queues", index, field, "target"),
                       f"expected another queue; got the queue itself ({target!r})")
            elif target not in names:
                yield (("queues", index, field, "target"),
                       f"no queue named {target!r} (queues: {_names(queues)})")


def _overflow_cycles(queues: Sequence[Queue]) -> Iterator[Problem]:
    """A call overflowing on_full round a ring of full queues would loop forever in zero
    time. Each queue has at most one on_full target, so following targets finds every ring."""
    index_of = {queue.name: index for index, queue in enumerate(queues)}
    successor = {
        queue.name: queue.on_full.target
        for queue in queues
        if queue.on_full.action == "queue" and queue.on_full.target in index_of
        and queue.on_full.target != queue.name
    }
    reported: set[str] = set()
    for queue in queues:
        ring = _ring_from(queue.name, successor)
        if ring and ring[0] == queue.name and not reported & set(ring):
            reported.update(ring)
            names = " -> ".join([*ring, ring[0]])
            yield (("queues", index_of[queue.name], "on_full", "target"),
                   f"on_full overflows form a cycle {names}: with all of them full a call "
                   "would overflow round it forever")


def _ring_from(start: str, successor: Mapping[str, str]) -> list[str]:
    """The cycle reached by following `successor` from `start`, in order from its first
    node met; empty if the walk ends."""
    path: list[str] = []
    node: str | None = start
    while node is not None and node not in path:
        path.append(node)
        node = successor.get(node)
    return [] if node is None else path[path.index(node):]


def _agent_id_problems(specs: Sequence[AgentSpec]) -> Iterator[Problem]:
    owner: dict[str, int] = {}
    for index, spec in enumerate(specs):
        clashes = Counter[int]()
        example: dict[int, str] = {}
        for seat in spec.seat_ids():
            if seat in owner:
                clashes[owner[seat]] += 1
                example.setdefault(owner[seat], seat)
            else:
                owner[seat] = index
        for other, count in clashes.items():
            more = f" and {count - 1} more" if count > 1 else ""
            yield (("agents", index, "id"),
                   f"agent id {example[other]!r}{more} of {spec.id!r} also in agents[{other}] "
                   f"({specs[other].id!r}); ids must be unique")


def _skill_problems(queues: Sequence[Queue], specs: Sequence[AgentSpec]) -> Iterator[Problem]:
    required = {queue.required_skill for queue in queues}
    known = ", ".join(sorted(required))
    for index, spec in enumerate(specs):
        for skill in spec.skills:
            if skill not in required:
                yield (("agents", index, "skills", skill),
                       f"no queue needs skill {skill!r} (skills queues need: {known})")
    offered = {skill for spec in specs for skill in spec.skills}
    for index, queue in enumerate(queues):
        if queue.required_skill not in offered:
            field = "skill" if queue.skill else "name"
            yield (("queues", index, field),
                   f"no agent has skill {queue.required_skill!r}, so nobody can serve this "
                   "queue")


def _unknown_trunk_group(site: Site, name: str) -> str | None:
    if any(group.name == name for group in site.trunk_groups):
        return None
    return f"no trunk group named {name!r} (trunk groups: {_names(site.trunk_groups)})"


def _is_analog(site: Site, name: str) -> bool:
    return any(g.name == name and g.kind == "analog" for g in site.trunk_groups)


def _no_dnis(group: str, dnis: str) -> str:
    return (f"trunk group {group!r} is analog, and analog FXO lines carry no called number "
            "(DNIS): leave dnis out and tell analog calls apart by the line they came in on; "
            f"got {dnis!r}")


def _route_problems(site: Site) -> Iterator[Problem]:
    for index, route in enumerate(site.routes):
        if problem := _unknown_trunk_group(site, route.trunk_group):
            yield (("routes", index, "trunk_group"), problem)
        if route.dnis is not None and _is_analog(site, route.trunk_group):
            yield (("routes", index, "dnis"), _no_dnis(route.trunk_group, route.dnis))
    known = Known(queues=[queue.name for queue in site.queues],
                  flows=[] if site.ivr is None else [flow.name for flow in site.ivr.flows],
                  agents=[agent.id for spec in site.agents for agent in spec.expand()],
                  lineless_groups=[g.name for g in site.trunk_groups if not g.carries_dnis],
                  prompts=_route_prompts(site),
                  ring_groups=[group.number for group in site.sip.ring_groups])
    yield from routing_problems(site, known)


def _route_prompts(site: Site) -> list[str]:
    """What a route's `prompt:` may name: a built-in prompt, or one of `ivr.prompts` with a
    text in the language callers outside the flows hear (`media.language`)."""
    language = site.media.language
    own = [] if site.ivr is None else [name for name, texts in site.ivr.prompts.items()
                                       if language in texts]
    return sorted({*builtin_prompts(), *own})


def _traffic_problems(site: Site, traffic: Traffic, check_routing: bool) -> Iterator[Problem]:
    for index, call_type in enumerate(traffic.call_types):
        loc = ("traffic", "call_types", index)
        if problem := _unknown_trunk_group(site, call_type.trunk_group):
            yield ((*loc, "trunk_group"), problem)
            continue
        if call_type.dnis and _is_analog(site, call_type.trunk_group):
            yield ((*loc, "dnis"), _no_dnis(call_type.trunk_group, call_type.dnis))
        elif check_routing and (problem := _unrouted(site, call_type, loc)):
            yield problem
        if call_type.transfer and (problem := _unknown_queue(site, call_type.transfer.target)):
            yield ((*loc, "transfer", "target"), problem)
        if call_type.ivr is not None:
            yield from _ivr_caller_problems(site, call_type.ivr, (*loc, "ivr"))
    declared = {} if site.ivr is None else site.ivr.lookups
    for name, answer in traffic.lookups.items():
        lookup = declared.get(name)
        if lookup is None:
            yield (("traffic", "lookups", name),
                   f"no lookup named {name!r} in ivr.lookups "
                   f"(lookups: {', '.join(declared) or 'none declared'})")
            continue
        for field in answer.fields:
            if field not in lookup.fields:
                yield (("traffic", "lookups", name, "fields", field),
                       f"lookup {name!r} has no field {field!r} "
                       f"(fields: {', '.join(lookup.fields)})")


def _unrouted(site: Site, call_type: CallType, loc: Loc) -> Problem | None:
    """A call type no route can match would never reach a queue. Calling numbers vary, so
    a route's ani_prefix is taken as able to match."""
    on_group = [r for r in site.routes if r.trunk_group == call_type.trunk_group]
    if not on_group:
        return ((*loc, "trunk_group"),
                f"no route matches calls on trunk group {call_type.trunk_group!r}")
    if not any(r.dnis is None or pattern_matches(r.dnis, call_type.dnis) for r in on_group):
        number = f"dnis {call_type.dnis!r}" if call_type.dnis else "calls without a dnis"
        return ((*loc, "dnis"),
                f"no route on trunk group {call_type.trunk_group!r} matches {number}")
    return None


def _ivr_caller_problems(site: Site, caller: IvrCaller, loc: Loc) -> Iterator[Problem]:
    """Every node a call type's IVR behaviour names must be an input node of the right kind,
    and every key one it offers (a key it does not offer is `wrong_key`)."""
    if site.ivr is None:
        yield (loc, "the site has no ivr section for its callers to walk")
        return
    for name, keys in caller.choices.items():
        node, problem = _ivr_node(site, name, ("play_option", "select_language"))
        if problem:
            yield ((*loc, "choices", name), problem)
            continue
        offered = node.options if node.kind == "play_option" else node.languages
        for key in keys:
            if key not in offered:
                yield ((*loc, "choices", name, key),
                       f"{name} offers no key {key!r} (keys: {', '.join(offered)}); a key "
                       "the node does not take is wrong_key")
    for name, digits in caller.digits.items():
        node, problem = _ivr_node(site, name, ("play_digit",))
        if problem:
            yield ((*loc, "digits", name), problem)
        elif not node.min_digits <= len(digits) <= node.max_digits:
            yield ((*loc, "digits", name),
                   f"{name} takes {node.min_digits} to {node.max_digits} digits; got "
                   f"{digits!r}")


def _ivr_node(site: Site, name: str, kinds: tuple[str, ...]) -> tuple[Any, str | None]:
    """The node `<flow>.<node>` of the site's IVR, or what is wrong with the name."""
    assert site.ivr is not None
    flow_name, _, node_name = name.partition(".")
    flows = {flow.name: flow for flow in site.ivr.flows}
    flow = flows.get(flow_name)
    if flow is None:
        return None, (f"expected <flow>.<node>; no flow named {flow_name!r} "
                      f"(flows: {', '.join(flows)})")
    nodes = {node.name: node for node in flow.nodes}
    node = nodes.get(node_name)
    if node is None:
        return None, f"flow {flow_name!r} has no node {node_name!r} (nodes: {', '.join(nodes)})"
    if node.kind not in kinds:
        return None, f"{name} is a {node.kind} node; expected {' or '.join(kinds)}"
    return node, None
