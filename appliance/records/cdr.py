"""Call detail records: one summary per call, written down from the event log's reduction.

A sans-I/O core: ``CdrBuilder`` is fed the log's records in order and returns a
``CallDetail`` when a call's ``CallEnded`` arrives. Wait, talk, hold and outcome are the
per-call reduction's (``appliance.reduce``), the very figures the KPIs add up; this module
adds only what a detail record holds besides (recording, media quality). It reads no
clock; every time in a detail record is a ``t`` taken from the records themselves.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

from appliance.events import (
    EndCause,
    MediaQuality,
    Record,
    RecordingStarted,
    RecordingStopped,
    VoicemailLeft,
)
from appliance.ivrpath import IvrPath
from appliance.reduce import (
    CallState,
    EventReducer,
    Outcome,
    ReductionListener,
    TransferKind,
    outcome_of,
)


class CallDetail(NamedTuple):
    """What happened to one call, from its ``CallOffered`` to its ``CallEnded``.

    Times are on the clock of the records. ``wait`` runs from first entering a
    queue to the first answer, or to the end for a call never answered (0 for a
    call never queued). ``talk`` sums the spans an agent had the call, from
    each answer to its transfer, the end or the agent leaving talk, hold included;
    ``hold`` sums the holds. ``abandoned`` is true when the call's outcome is
    abandoned (``appliance.reduce.Outcome``): unanswered and ended by the caller's
    side, the very calls the KPIs count as abandoned.
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
    # The IVR (None for a call that never entered it): the path, its nodes in order then
    # the exit ("main/menu > main/find > queue:sales"); the exit's kind; the caller's
    # language; the user variables (a JSON object); the lookups' results (a JSON list of
    # {"lookup", "key", "result"}); and a JSON object of the nodes with their kinds and
    # seconds ("nodes": [[flow, node, kind, seconds], ...]) and the digits pressed
    # ("digits": [[node, digits, ended_by], ...]).
    ivr_path: str | None = None
    ivr_exit: str | None = None
    language: str | None = None
    ivr_variables: str | None = None
    ivr_lookups: str | None = None
    ivr_nodes: str | None = None
    # The agent who served the caller's number last and was offered the call first (a
    # queue's `sticky`); None if it was not. Served by them: ``agent == sticky_agent``.
    sticky_agent: str | None = None
    # The caller's score in the queue's post-call survey (None: no survey, or no score).
    survey_score: str | None = None
    # Times the call was parked (an agent sent it to a park slot: `CallParked`).
    parks: int = 0
    # The mailbox the caller left a message in, and the message's WAV ("" when it was
    # discarded as silence; no file in simulation); None for a call that left none.
    voicemail_box: str | None = None
    voicemail_file: str | None = None
    # ``transfers`` by kind (``appliance.reduce.TransferKind``): blind to a queue, blind to
    # an agent (rung), attended (taken at once by the agent consulted), out of the ACD to a
    # phone that is no agent's or to an outside number (cause transferred_out); a transfer
    # to an agent whose records end before the ring or the answer counts in none. ``recalls``:
    # times an agent's blind transfer was not taken and the call went back to the
    # transferring agent or their queue.
    transfers_to_queue: int = 0
    transfers_to_agent: int = 0
    transfers_attended: int = 0
    transfers_to_extension: int = 0
    transfers_outside: int = 0
    recalls: int = 0
    # The agent who took the call from the phones it rang with a pickup code, and how:
    # "directed" (the code named an agent) or "group"; None if it was not picked up.
    picked_up_by: str | None = None
    pickup: str | None = None
    # The number its caller asked to be called back at, the calls placed to it, and how
    # it went: "connected", "given_up", or the call's outcome if it ended otherwise (None
    # when no callback was asked for).
    callback_number: str | None = None
    callback_attempts: int | None = None
    callback_outcome: str | None = None
    # Supervision: the last supervisor on the call (None: not supervised), the modes used
    # in order ("listen,whisper"), and the supervisor who forced it off.
    supervised_by: str | None = None
    supervision_modes: str | None = None
    forced_off_by: str | None = None


_MAX_AWAITING = 256  # calls ended VOICEMAIL kept for their VoicemailLeft


class _Media:
    """What a detail record adds to the reduction: the recording and the parties' RTP."""

    __slots__ = ("parties", "recording", "recording_status")

    def __init__(self) -> None:
        self.recording: str | None = None
        self.recording_status: str | None = None
        self.parties: dict[str, MediaQuality] = {}  # by party

    def fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "recording": self.recording, "recording_status": self.recording_status}
        for party, q in self.parties.items():
            fields.update({
                f"{party}_packets": q.packets_received, f"{party}_lost": q.packets_lost,
                f"{party}_jitter_ms": q.jitter_mean_ms, f"{party}_jitter_max_ms": q.jitter_max_ms,
                f"{party}_rtt_ms": q.rtt_ms, f"{party}_reported_lost": q.reported_lost})
        return fields


def detail_of(call: CallState, t: float, cause: EndCause) -> CallDetail:
    """The detail record of ``call`` as it reads when it ends at ``t`` with ``cause``;
    changes nothing, so that it also gives a call still up as it stands."""
    o = call.offered
    return CallDetail(
        call=o.call,
        trunk_group=o.trunk_group,
        ani=o.ani,
        dnis=o.dnis,
        attempt=o.attempt,
        offered_at=o.t,
        first_queue=call.first_queue,
        last_queue=call.last_queue,
        queued_at=call.queued_at,
        answered_at=call.answered_at,
        agent=call.agent,
        ended_at=t,
        cause=cause,
        wait=call.wait_until(t),
        talk=call.talk_until(t),
        hold=call.hold_until(t),
        rings=call.rings,
        ring_no_answers=call.ring_no_answers,
        transfers=call.transfers,
        overflows=call.overflows,
        abandoned=outcome_of(call, cause) is Outcome.ABANDONED,
        sticky_agent=call.sticky_agent,
        **call.tag.fields(),
        **({} if call.ivr is None else ivr_fields(call.ivr)),
        survey_score=call.survey,
        parks=call.parks,
        **feature_fields(call, cause),
    )


def feature_fields(call: CallState, cause: EndCause) -> dict[str, Any]:
    """A detail record's fields of the PBX features the call met: transfers by kind and
    recalls, pickup, callback and supervision."""
    kinds = call.transfer_kinds
    pickup = call.pickup
    return {
        "transfers_to_queue": kinds.count(TransferKind.QUEUE),
        "transfers_to_agent": kinds.count(TransferKind.AGENT),
        "transfers_attended": kinds.count(TransferKind.ATTENDED),
        "transfers_to_extension": kinds.count(TransferKind.EXTENSION),
        "transfers_outside": kinds.count(TransferKind.OUTSIDE),
        "recalls": call.recalls,
        "picked_up_by": None if pickup is None else pickup[0],
        "pickup": None if pickup is None else ("directed" if pickup[1] else "group"),
        **_callback_fields(call, cause),
        "supervised_by": call.supervisor,
        "supervision_modes": ",".join(call.supervision_modes) or None,
        "forced_off_by": call.forced_off_by,
    }


def _callback_fields(call: CallState, cause: EndCause) -> dict[str, Any]:
    if call.callback is None:
        return {}
    outcome = outcome_of(call, cause)
    said = _CARRIED if cause is EndCause.CARRIED_OVER else _CALLBACK_OUTCOMES.get(
        outcome, outcome.value)
    return {"callback_number": call.callback, "callback_attempts": call.callback_attempts,
            "callback_outcome": said}


_CALLBACK_OUTCOMES = {Outcome.ANSWERED: "connected", Outcome.CALLBACK_GIVEN_UP: "given_up"}
_CARRIED = "carried_over"  # rather than in_system: the next run goes on with it


def ivr_fields(path: IvrPath) -> dict[str, Any]:
    """A detail record's IVR fields from the call's way through the IVR."""
    return {
        "ivr_path": path.path_text(),
        "ivr_exit": None if path.exit is None else path.exit.value,
        "language": path.language or None,
        "ivr_variables": json.dumps(path.variables, sort_keys=True),
        "ivr_lookups": json.dumps([{"lookup": lookup, "key": key, "result": result}
                                   for lookup, key, result in path.lookups]),
        "ivr_nodes": path.details_json(),
    }


class _Details(ReductionListener):
    """Writes down each call the reduction closes."""

    def __init__(self) -> None:
        self.closed: CallDetail | None = None

    def call_opened(self, call: CallState) -> bool:
        call.tag = _Media()
        return True

    def call_closed(self, call: CallState) -> None:
        if call.ended_at is not None and call.cause is not None:
            self.closed = detail_of(call, call.ended_at, call.cause)


class CdrBuilder:
    """Detail records from event-log records fed in order.

    Records of calls whose ``CallOffered`` was never fed (a builder started
    mid-stream) are ignored. Agent records count: an answer's talk ends when its agent
    leaves talk, if that comes before the transfer or the hang-up.
    """

    def __init__(self) -> None:
        self._details = _Details()
        self._reducer = EventReducer(self._details)
        # Calls ended VOICEMAIL, until their VoicemailLeft (logged just after the end).
        self._awaiting: dict[int, CallDetail] = {}

    @property
    def open_calls(self) -> int:
        """Calls offered and not yet ended."""
        return len(self._reducer.calls)

    def feed(self, record: Record) -> CallDetail | None:
        """Take one record; the call's detail record if it ended the call (or, for a
        ``VoicemailLeft``, the ended call's record again with its message), else None."""
        if isinstance(record, VoicemailLeft):
            return self._message_left(record)
        media = _MEDIA_HANDLERS.get(type(record))
        if media is not None:
            call = self._reducer.calls.get(record.call)  # type: ignore[union-attr]
            if call is not None:
                media(call.tag, record)
            return None
        self._reducer.feed(record)
        closed = self._details.closed
        self._details.closed = None
        if closed is not None and closed.cause is EndCause.VOICEMAIL:
            self._awaiting[closed.call] = closed
            if len(self._awaiting) > _MAX_AWAITING:  # ended without a message: forgotten
                del self._awaiting[next(iter(self._awaiting))]
        return closed

    def _message_left(self, record: VoicemailLeft) -> CallDetail | None:
        """The detail record of the call again, with its message (the row is replaced)."""
        detail = self._awaiting.pop(record.call, None)
        if detail is None:
            return None
        return detail._replace(voicemail_box=record.mailbox, voicemail_file=record.file)

    def so_far(self, call: int, t: float) -> CallDetail | None:
        """The detail record of a call still up, as it would read if the call ended at ``t``
        (cause ``INTERRUPTED``); None for a call not offered or already ended. Changes
        nothing: the call goes on."""
        up = self._reducer.calls.get(call)
        return None if up is None else detail_of(up, t, EndCause.INTERRUPTED)

    def feed_all(self, records: Iterable[Record]) -> Iterator[CallDetail]:
        """The detail records of every call the records end, in the order they end."""
        for record in records:
            detail = self.feed(record)
            if detail is not None:
                yield detail


def call_details(records: Iterable[Record]) -> list[CallDetail]:
    """Every ended call's detail record, from a whole log, in the order the calls ended
    (a record given again, with its voicemail message, replaces the first)."""
    details: dict[int, CallDetail] = {}
    for detail in CdrBuilder().feed_all(records):
        details[detail.call] = detail
    return list(details.values())


def _recording_started(media: _Media, r: RecordingStarted) -> None:
    media.recording = r.file
    media.recording_status = "recorded"


def _recording_stopped(media: _Media, r: RecordingStopped) -> None:
    media.recording_status = r.reason


def _media_quality(media: _Media, r: MediaQuality) -> None:
    if r.party in ("caller", "agent"):
        media.parties[r.party] = r


_MEDIA_HANDLERS: dict[type, Callable[[_Media, Any], None]] = {
    RecordingStarted: _recording_started,
    RecordingStopped: _recording_stopped,
    MediaQuality: _media_quality,
}
