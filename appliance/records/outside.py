"""Detail records of outside calls (`OutsideCall*` in the event log): one row per call the
appliance placed out through a trunk, its direction `outbound`. Kept apart from
`CallDetail`, whose rows are calls offered to the queues: an outside call changes no queue
figure. A pure core like `cdr.py`: records in, rows out, no clock."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

from appliance.events import (
    OutsideCallAnswered,
    OutsideCallEnded,
    OutsideCallStarted,
    Record,
    RecordingStarted,
)

DIRECTION = "outbound"


class OutsideCallDetail(NamedTuple):
    """What happened to one outside call. ``outcome`` is ``answered`` for a call the far end
    answered, else its cause (busy, no_answer, not_found, rejected, unauthorized, failed,
    no_channel, cancelled, barred); ``cause`` says who ended an answered one (caller_hangup,
    far_hangup).
    ``ring`` runs from the start to the answer (or the end), ``talk`` from the answer to
    the end (0 if never answered)."""

    call: int
    direction: str
    trunk_group: str
    number: str  # as dialled, the route's prefix left off
    placed_by: str
    purpose: str
    started_at: float
    answered_at: float | None
    ended_at: float
    outcome: str
    cause: str
    status: int  # the far end's final SIP status, 0 for none
    ring: float
    talk: float
    recording: str | None = None


class OutsideDetails:
    """Fed the event log in order; gives each outside call's row when it ends."""

    def __init__(self) -> None:
        self.open: dict[int, tuple[OutsideCallStarted, float | None, str | None]] = {}

    def feed(self, record: Record) -> OutsideCallDetail | None:
        """The row of the call `record` ends, if it ends one."""
        kind = type(record)
        if kind is OutsideCallStarted:
            self.open[record.call] = (record, None, None)
        elif kind is OutsideCallAnswered or kind is RecordingStarted:
            self._note(record)
        elif kind is OutsideCallEnded:
            return self._close(record)
        return None

    def _note(self, record: OutsideCallAnswered | RecordingStarted) -> None:
        entry = self.open.get(record.call)
        if entry is not None:
            started, answered, recording = entry
            if type(record) is OutsideCallAnswered:
                self.open[record.call] = (started, record.t, recording)
            else:
                self.open[record.call] = (started, answered, record.file)

    def _close(self, ended: OutsideCallEnded) -> OutsideCallDetail | None:
        entry = self.open.pop(ended.call, None)
        if entry is None:
            return None
        started, answered, recording = entry
        outcome = "answered" if answered is not None else ended.cause
        return OutsideCallDetail(
            started.call, DIRECTION, started.trunk_group, started.number, started.placed_by,
            started.purpose, started.t, answered, ended.t, outcome, ended.cause, ended.status,
            (answered if answered is not None else ended.t) - started.t,
            0.0 if answered is None else ended.t - answered, recording)


def outside_call_details(records: Iterable[Record]) -> Iterator[OutsideCallDetail]:
    """The rows of the outside calls that end in `records`, in the order they end."""
    details = OutsideDetails()
    for record in records:
        row = details.feed(record)
        if row is not None:
            yield row
