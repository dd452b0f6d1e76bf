"""Call detail records: one summary per call, built from the event log.

A sans-I/O core: ``CdrBuilder`` is fed the log's records in order and returns a
``CallDetail`` when a call's ``CallEnded`` arrives. It reads no clock; every
time in a detail record is a ``t`` taken from the records themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from copy import copy
from typing import Any, NamedTuple

from appliance.events import (
    AgentRung,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallHeld,
    CallOffered,
    CallOverflowed,
    CallQueued,
    CallResumed,
    CallTransferred,
    EndCause,
    MediaQuality,
    Record,
    RecordingStarted,
    RecordingStopped,
    RingNoAnswer,
)


class CallDetail(NamedTuple):
    """What happened to one call, from its ``CallOffered`` to its ``CallEnded``.

    Times are on the clock of the records. ``wait`` runs from first entering a
    queue to the first answer, or to the end for a call never answered (0 for a
    call never queued). ``talk`` sums the spans an agent had the call, from
    each answer to its transfer or the end, hold included; ``hold`` sums the
    holds. ``abandoned`` is true when the caller hung up before any answer.
    """

    call: int
    trunk_group: str
    ani: str
    dnis: str
    attempt: int
    offered_at: float
    first_queue: str | None
    last_queue: str | None
    queued_at: float | None
    answered_at: float | None
    agent: str | None  # who answered; after a transfer, the last who did
    ended_at: float
    cause: EndCause
    wait: float
    talk: float
    hold: float
    rings: int
    ring_no_answers: int
    transfers: int
    overflows: int
    abandoned: bool
    recording: str | None = None  # the WAV file of the call (live appliance)
    # recorded | disk_low (stopped before the end) | interrupted (repaired after a crash)
    recording_status: str | None = None
    # Each party's RTP (live appliance, from the last MediaQuality of the call): packets we
    # received from them and missing from their stream, the jitter of their stream (mean and
    # max over report intervals), the round trip from their RTCP and the packets of ours
    # they reported lost. None where the call had no such party or no such report.
    caller_packets: int | None = None
    caller_lost: int | None = None
    caller_jitter_ms: float | None = None
    caller_jitter_max_ms: float | None = None
    caller_rtt_ms: float | None = None
    caller_reported_lost: int | None = None
    agent_packets: int | None = None
    agent_lost: int | None = None
    agent_jitter_ms: float | None = None
    agent_jitter_max_ms: float | None = None
    agent_rtt_ms: float | None = None
    agent_reported_lost: int | None = None


class _Call:
    """A call still up: what its detail record needs so far."""

    __slots__ = (
        "agent",
        "answered_at",
        "first_queue",
        "held_from",
        "hold",
        "last_queue",
        "media",
        "offered",
        "overflows",
        "queued_at",
        "recording",
        "recording_status",
        "ring_no_answers",
        "rings",
        "talk",
        "talking_from",
        "transfers",
        "wait",
    )

    def __init__(self, offered: CallOffered) -> None:
        self.offered = offered
        self.first_queue: str | None = None
        self.last_queue: str | None = None
        self.queued_at: float | None = None
        self.answered_at: float | None = None
        self.agent: str | None = None
        self.wait: float | None = None
        self.talking_from: float | None = None
        self.held_from: float | None = None
        self.talk = 0.0
        self.hold = 0.0
        self.rings = 0
        self.ring_no_answers = 0
        self.transfers = 0
        self.overflows = 0
        self.recording: str | None = None
        self.recording_status: str | None = None
        self.media: dict[str, MediaQuality] = {}  # by party

    def end_hold(self, t: float) -> None:
        if self.held_from is not None:
            self.hold += t - self.held_from
            self.held_from = None

    def end_talk(self, t: float) -> None:
        self.end_hold(t)
        if self.talking_from is not None:
            self.talk += t - self.talking_from
            self.talking_from = None

    def detail(self, ended: CallEnded) -> CallDetail:
        t = ended.t
        self.end_talk(t)
        o = self.offered
        return CallDetail(
            call=o.call,
            trunk_group=o.trunk_group,
            ani=o.ani,
            dnis=o.dnis,
            attempt=o.attempt,
            offered_at=o.t,
            first_queue=self.first_queue,
            last_queue=self.last_queue,
            queued_at=self.queued_at,
            answered_at=self.answered_at,
            agent=self.agent,
            ended_at=t,
            cause=ended.cause,
            wait=self.wait_until(t),
            talk=self.talk,
            hold=self.hold,
            rings=self.rings,
            ring_no_answers=self.ring_no_answers,
            transfers=self.transfers,
            overflows=self.overflows,
            abandoned=self.answered_at is None and ended.cause == EndCause.ABANDONED,
            recording=self.recording,
            recording_status=self.recording_status,
            **self.media_fields(),
        )

    def media_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for party, q in self.media.items():
            fields.update({
                f"{party}_packets": q.packets_received, f"{party}_lost": q.packets_lost,
                f"{party}_jitter_ms": q.jitter_mean_ms, f"{party}_jitter_max_ms": q.jitter_max_ms,
                f"{party}_rtt_ms": q.rtt_ms, f"{party}_reported_lost": q.reported_lost})
        return fields

    def wait_until(self, t: float) -> float:
        if self.wait is not None:
            return self.wait
        return 0.0 if self.queued_at is None else t - self.queued_at


class CdrBuilder:
    """Detail records from event-log records fed in order.

    Records of calls whose ``CallOffered`` was never fed (a builder started
    mid-stream) are ignored, as are agent records.
    """

    def __init__(self) -> None:
        self._calls: dict[int, _Call] = {}

    @property
    def open_calls(self) -> int:
        """Calls offered and not yet ended."""
        return len(self._calls)

    def feed(self, record: Record) -> CallDetail | None:
        """Take one record; the call's detail record if it ended the call, else None."""
        kind = type(record)
        if kind is CallOffered:
            self._calls[record.call] = _Call(record)
            return None
        if kind is CallEnded:
            call = self._calls.pop(record.call, None)
            return None if call is None else call.detail(record)
        handler = _HANDLERS.get(kind)
        if handler is not None:
            call = self._calls.get(record.call)
            if call is not None:
                handler(call, record)
        return None

    def so_far(self, call: int, t: float) -> CallDetail | None:
        """The detail record of a call still up, as it would read if the call ended at ``t``
        (cause ``INTERRUPTED``); None for a call not offered or already ended. Changes
        nothing: the call goes on."""
        up = self._calls.get(call)
        return None if up is None else copy(up).detail(CallEnded(t, call, EndCause.INTERRUPTED))

    def feed_all(self, records: Iterable[Record]) -> Iterator[CallDetail]:
        """The detail records of every call the records end, in the order they end."""
        for record in records:
            detail = self.feed(record)
            if detail is not None:
                yield detail


def call_details(records: Iterable[Record]) -> list[CallDetail]:
    """Every ended call's detail record, from a whole log."""
    return list(CdrBuilder().feed_all(records))


# One handler per record type; each is handed the call the record is about.


def _queued(call: _Call, r: CallQueued) -> None:
    if call.first_queue is None:
        call.first_queue = r.queue
        call.queued_at = r.t
    call.last_queue = r.queue


def _rung(call: _Call, r: AgentRung) -> None:
    call.rings += 1


def _ring_no_answer(call: _Call, r: RingNoAnswer) -> None:
    call.ring_no_answers += 1


def _answered(call: _Call, r: CallAnswered) -> None:
    if call.answered_at is None:
        call.answered_at = r.t
        call.wait = r.wait
    call.agent = r.agent
    call.talking_from = r.t


def _abandoned(call: _Call, r: CallAbandoned) -> None:
    if call.wait is None:
        call.wait = r.wait


def _overflowed(call: _Call, r: CallOverflowed) -> None:
    call.overflows += 1


def _held(call: _Call, r: CallHeld) -> None:
    if call.held_from is None:
        call.held_from = r.t


def _resumed(call: _Call, r: CallResumed) -> None:
    call.end_hold(r.t)


def _transferred(call: _Call, r: CallTransferred) -> None:
    call.transfers += 1
    call.end_talk(r.t)


def _recording_started(call: _Call, r: RecordingStarted) -> None:
    call.recording = r.file
    call.recording_status = "recorded"


def _recording_stopped(call: _Call, r: RecordingStopped) -> None:
    call.recording_status = r.reason


def _media_quality(call: _Call, r: MediaQuality) -> None:
    if r.party in ("caller", "agent"):
        call.media[r.party] = r


_HANDLERS: dict[type, Callable[[_Call, Any], None]] = {
    CallQueued: _queued,
    AgentRung: _rung,
    RingNoAnswer: _ring_no_answer,
    CallAnswered: _answered,
    CallAbandoned: _abandoned,
    CallOverflowed: _overflowed,
    CallHeld: _held,
    CallResumed: _resumed,
    CallTransferred: _transferred,
    RecordingStarted: _recording_started,
    RecordingStopped: _recording_stopped,
    MediaQuality: _media_quality,
}
