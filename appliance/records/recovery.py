"""Closing the calls a stopped appliance left up, so that every call has its detail record.

When the appliance is killed (kill -9, power cut) with calls up, those calls have their
``CallOffered`` (maybe a ``CallAnswered`` and a ``RecordingStarted``) but no ``CallEnded``, so no
detail record, and the WAV being written may have a stale header. ``close_interrupted_calls``
ends them as the run would have if it had seen them end at the moment it was cut off: the
recording is repaired, ``RecordingStopped(t, call, "interrupted")`` (for a recording still
running) and ``CallEnded(t, call, EndCause.INTERRUPTED)`` are appended to that run's events, and
the detail record is stored.

A callback still pending (requested, its customer not yet answered nor given up) is no call
cut off: its customer was promised a call and is not on the line. It ends with cause
``carried_over`` instead, and ``Recovered.callback`` says what the next run needs to put it
back in its queue (`CallControl.carry_callback`), whether the run was stopped or killed.

Call it when the appliance starts, before its ``RecordStore`` registers the new run. It closes
every call without a ``CallEnded`` in every run of the database and cannot tell a run that
stopped from one still being written: it is safe only because the appliance is one process per
database, so that at start no run is being written.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from appliance.eventlog import record_from_json
from appliance.events import (
    CallAnswered,
    CallbackCarried,
    CallbackFailed,
    CallbackGivenUp,
    CallbackRequested,
    CallEnded,
    CallOffered,
    CallQueued,
    EndCause,
    Record,
    RecordingStarted,
    RecordingStopped,
)
from appliance.pbx.acd.callback import PendingCallback
from appliance.records.cdr import CdrBuilder
from appliance.records.store import _INSERT_CALL, _INSERT_EVENT, _detail_row, _open, event_row
from appliance.storage.wavfile import repair as repair_wav

logger = logging.getLogger(__name__)

INTERRUPTED = "interrupted"
"""The ``RecordingStopped`` reason, and so the ``recording_status``, of a recording cut off."""

Repair = Callable[[str], float]

# The records of every call of a run that was offered and never ended, in the run's order.
# Only those calls' rows come back: a run of months holds millions of events.
_OPEN_CALL_EVENTS = """
    SELECT call, json FROM events
    WHERE run = ?1 AND call IN (
        SELECT call FROM events WHERE run = ?1 AND type = 'CallOffered'
        EXCEPT SELECT call FROM events WHERE run = ?1 AND type = 'CallEnded'
    )
    ORDER BY seq
"""


@dataclass(frozen=True)
class Recovered:
    """One call closed after its run stopped."""

    run: str
    call: int
    recording: str | None
    """The call's WAV file as its ``RecordingStarted`` names it; None if it was not recorded."""
    recording_seconds: float | None
    """The recording's duration after repair; None if no recording or the file is missing or
    unreadable."""
    agent: str | None = None
    """Who had answered the call (its detail record says so too); None if nobody had."""
    callback: PendingCallback | None = None
    """The callback the call was, still pending: ended ``carried_over``, for the next run."""


def close_interrupted_calls(
    path: Path | str, repair_recording: Repair | None = None
) -> list[Recovered]:
    """End every call left up by the runs in the records database at ``path``.

    Returns the calls closed, by run (in the order the runs started) then call id; ``[]`` if the
    database does not exist (it is not created). Each call is ended at ``t``, the latest of the
    run's last event time and, for a call still being recorded, its ``RecordingStarted`` time
    plus the repaired recording's duration: the best estimate of when the run was cut off. Its
    detail record then has cause ``interrupted``, talk time up to ``t`` and, if recorded,
    ``recording_status`` "interrupted" (kept as it was for a recording already stopped, e.g.
    disk_low). A recording's file name is used as written, so relative names resolve against
    the current directory, as they did for the run that wrote them.

    ``repair_recording(file) -> seconds`` mends each recording first (default
    ``appliance.storage.wavfile.repair``); a file it cannot mend (``OSError``, ``ValueError``
    such as ``WavError``) is logged and the call closed all the same. A run's new events (seq
    numbers following its last) and detail records go in one transaction, so a second call
    finds nothing left to close and changes nothing. Must be called before the new run's
    ``RecordStore`` is opened (see the module's docstring).
    """
    path = Path(path)
    if not path.exists():
        return []
    repair = repair_wav if repair_recording is None else repair_recording
    # FULL: the closing is rare and small, and should outlive a power cut right after it.
    with closing(_open(path, "FULL")) as db:
        runs = [row[0] for row in db.execute("SELECT run FROM runs ORDER BY position")]
        return [done for run in runs for done in _close_run(db, run, repair)]


def _close_run(db: sqlite3.Connection, run: str, repair: Repair) -> list[Recovered]:
    # IMMEDIATE: the write lock from the first read, so that the calls found open are still
    # open, and the seq numbers still free, when the rows go in.
    db.execute("BEGIN IMMEDIATE")
    try:
        recovered, events, details = _closing_rows(db, run, repair)
        db.executemany(_INSERT_EVENT, events)
        db.executemany(_INSERT_CALL, details)
    except BaseException:
        db.rollback()
        raise
    db.commit()
    if recovered:
        logger.info("closed %d calls left up by run %s", len(recovered), run)
    return recovered


def _closing_rows(
    db: sqlite3.Connection, run: str, repair: Repair
) -> tuple[list[Recovered], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The calls of ``run`` to close, and the event and detail rows that close them."""
    calls = _open_calls(db, run)
    if not calls:
        return [], [], []
    last_seq, last_t = db.execute(
        "SELECT MAX(seq), MAX(t) FROM events WHERE run = ?", (run,)
    ).fetchone()
    (origin,) = db.execute("SELECT clock_origin FROM runs WHERE run = ?", (run,)).fetchone()
    recovered: list[Recovered] = []
    events: list[tuple[Any, ...]] = []
    details: list[tuple[Any, ...]] = []
    for call in sorted(calls):
        records = calls[call]
        callback = pending_callback(run, records, last_t, origin)
        if callback is not None:
            done, ending = Recovered(run, call, None, None, callback=callback), [
                CallEnded(last_t, call, EndCause.CARRIED_OVER)]
        else:
            done, ending = _close_call(run, call, records, last_t, repair)
        for record in ending:
            last_seq += 1
            events.append(event_row(run, last_seq, record))
        # Every record of the call, and its CallOffered first: the one detail record is its own.
        (detail,) = CdrBuilder().feed_all([*records, *ending])
        details.append(_detail_row(run, detail))
        recovered.append(replace(done, agent=detail.agent))
    return recovered, events, details


def _open_calls(db: sqlite3.Connection, run: str) -> dict[int, list[Record]]:
    calls: dict[int, list[Record]] = {}
    for call, line in db.execute(_OPEN_CALL_EVENTS, (run,)):
        calls.setdefault(call, []).append(record_from_json(line))
    return calls


def _close_call(
    run: str, call: int, records: list[Record], last_t: float, repair: Repair
) -> tuple[Recovered, list[Record]]:
    """What is known of the call's end, and the records that end it."""
    started, running = _recording(records)
    seconds = None if started is None else _repaired(started.file, repair)
    t = last_t
    ending: list[Record] = []
    if started is not None and running:
        # The recorder wrote audio up to (within a second of) the kill, at the pace of the call.
        # A recording stopped before (disk_low) dates nothing: it kept its own end.
        if seconds is not None:
            t = max(last_t, started.t + seconds)
        ending.append(RecordingStopped(t, call, INTERRUPTED))
    ending.append(CallEnded(t, call, EndCause.INTERRUPTED))
    return Recovered(run, call, None if started is None else started.file, seconds), ending


def pending_callback(run: str, records: list[Record], stop: float,
                     origin: float | None) -> PendingCallback | None:
    """The callback a call of `run` cut off at `stop` still was, from its records; None if it
    was none, or was answered or given up. `origin`: the run's wall-clock t = 0, if known."""
    asked = [r for r in records if isinstance(r, (CallbackRequested, CallbackCarried))]
    if not asked or any(isinstance(r, (CallAnswered, CallbackGivenUp)) for r in records):
        return None
    offered = records[0]
    assert isinstance(offered, CallOffered)  # the run's order: a call's records start so
    queued = [r for r in records if isinstance(r, CallQueued)]
    before = asked[0].waited if isinstance(asked[0], CallbackCarried) else 0.0
    first = queued[0].t if queued else asked[0].t
    made = asked[0].attempts if isinstance(asked[0], CallbackCarried) else 0
    # Only the attempts that failed count: one cut off by the stop (the customer's phone
    # ringing, or answered before an agent took them) is no fault of the customer's.
    attempts = max((r.attempt for r in records if isinstance(r, CallbackFailed)),
                   default=made)
    return PendingCallback(
        run, offered.call, offered.trunk_group, offered.ani, offered.dnis, asked[-1].queue,
        queued[-1].priority if queued else 0, asked[-1].number,
        attempts, before + stop - first,
        None if origin is None else origin + first - before)


def _recording(records: list[Record]) -> tuple[RecordingStarted | None, bool]:
    """The call's last recording, and whether it was still running."""
    started: RecordingStarted | None = None
    running = False
    for record in records:
        if type(record) is RecordingStarted:
            started, running = record, True
        elif type(record) is RecordingStopped:
            running = False
    return started, running


def _repaired(file: str, repair: Repair) -> float | None:
    try:
        return repair(file)
    except (OSError, ValueError) as error:
        logger.warning("cannot repair the recording %s: %s", file, error)
        return None


ORPHANS = "orphans"
"""The folder, under the recordings folder, where recordings that belong to no call go."""

# `<run>-call<n>.wav` as the recordings desk names a call's mix; `-caller`/`-agent` for its
# parties' own files.
_RECORDING_NAME = re.compile(r"^(?P<run>.+)-call(?P<call>\d+)(?P<party>-caller|-agent)?\.wav$")


@dataclass(frozen=True)
class RecordingsAccount:
    """What `account_for_recordings` did with the recordings no detail record named."""

    attached: list[str]
    """Recordings (mixes) of calls that had a detail record without one: now named in it."""
    orphans: list[tuple[str, str]]
    """(where it was, where it went) of every file that belongs to no call, moved aside."""


def account_for_recordings(path: Path | str, folder: Path | str,
                           repair_recording: Repair | None = None) -> RecordingsAccount:
    """Make every recording under ``folder`` belong to a detail record, or move it aside.

    A killed appliance can leave a file whose call's ``RecordingStarted`` never reached the
    database. A file named as the recordings desk names them (``<run>-call<n>.wav``, and its
    ``-caller``/``-agent`` party files) whose call has a detail record that names no recording
    is repaired and attached (``recording_status`` "interrupted"); one that cannot be repaired
    (`WavError`, e.g. empty: cut off before its header) is moved aside. Every other file named so
    whose call has no detail record naming it (its run or call unknown, another recording
    named) is moved, with its folders below ``folder``, under ``folder/orphans/`` and logged.
    Files named otherwise (an operator's) and those already under ``orphans/`` are left alone.
    Run it after `close_interrupted_calls` and before the new run starts recording: a file
    being written would be taken for an orphan. Nothing happens if the database or the folder
    does not exist.
    """
    path, folder = Path(path), Path(folder)
    if not path.exists() or not folder.is_dir():
        return RecordingsAccount([], [])
    repair = repair_wav if repair_recording is None else repair_recording
    by_run = _recordings_by_run(folder)
    attached: list[str] = []
    orphans: list[tuple[str, str]] = []
    with closing(_open(path, "FULL")) as db:
        for run, files in sorted(by_run.items()):
            known = _recordings_of_run(db, run)
            attach, strays = _sort_out(files, known)
            # A file that cannot be mended (a kill between its creation and its header) is no
            # recording a record should name: it goes aside with its party files.
            broken = {file for _, file in attach if _repaired(str(file), repair) is None}
            attach = [(call, file) for call, file in attach if file not in broken]
            strays += [file for _, file in files if _mix_of(file) in broken]
            _attach(db, run, attach)
            attached += [str(file) for _, file in attach]
            orphans += [_move_aside(file, folder) for file in strays]
    if attached:
        logger.warning("attached %d recordings to the calls they belong to", len(attached))
    for was, now in orphans:
        logger.warning("recording %s belongs to no call: moved to %s", was, now)
    return RecordingsAccount(attached, orphans)


def _recordings_by_run(folder: Path) -> dict[str, list[tuple[int, Path]]]:
    """(call, file) of every recording under ``folder`` named as the desk names them, by run;
    the orphans folder is not searched."""
    found: dict[str, list[tuple[int, Path]]] = {}
    for top, folders, names in os.walk(folder):
        if Path(top) == folder and ORPHANS in folders:
            folders.remove(ORPHANS)
        for name in sorted(names):
            matched = _RECORDING_NAME.match(name)
            file = Path(top) / name
            if matched is not None and file.is_file() and not file.is_symlink():
                found.setdefault(matched["run"], []).append((int(matched["call"]), file))
    return found


def _recordings_of_run(db: sqlite3.Connection, run: str) -> dict[int, str | None]:
    """Each detail record of ``run``: its call and the recording it names (None if none)."""
    rows = db.execute("SELECT call, recording FROM calls WHERE run = ?", (run,))
    return dict(rows.fetchall())


def _sort_out(files: list[tuple[int, Path]], known: dict[int, str | None]
              ) -> tuple[list[tuple[int, Path]], list[Path]]:
    """The mixes to attach to their call's record, and the files that belong to no record."""
    attach: list[tuple[int, Path]] = []
    strays: list[Path] = []
    for call, file in files:
        mix = _mix_of(file)
        if call not in known:
            strays.append(file)
        elif known[call] is None:
            if file == mix:
                attach.append((call, file))
            elif not mix.is_file():
                strays.append(file)  # a party file whose mix is gone: nothing to attach to
        elif Path(known[call] or "").resolve() != mix.resolve():
            strays.append(file)
    return attach, strays


def _mix_of(file: Path) -> Path:
    """The mixed recording a party file sits beside (the file itself for a mix)."""
    name = re.sub(r"-(caller|agent)\.wav$", ".wav", file.name)
    return file.with_name(name)


def _attach(db: sqlite3.Connection, run: str, files: list[tuple[int, Path]]) -> None:
    if not files:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        db.executemany(
            "UPDATE calls SET recording = ?, recording_status = ? WHERE run = ? AND call = ?",
            [(str(file), INTERRUPTED, run, call) for call, file in files])
    except BaseException:
        db.rollback()
        raise
    db.commit()


def _move_aside(file: Path, folder: Path) -> tuple[str, str]:
    target = folder / ORPHANS / file.relative_to(folder)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(file, target)
    return str(file), str(target)
