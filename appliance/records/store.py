"""Durable event and call detail records in SQLite (WAL), written off the caller's thread.

``RecordStore.append`` only puts the record on a queue; one daemon thread
writes what it finds there in batches, one transaction a batch, and builds the
call detail records on the way. ``RecordStore.mark`` numbers everything
appended so far; once that is committed the store says so (``durable``,
``on_durable``), so that an answer that ends a call can wait for the call's end
to be on disk. ``RecordReader`` reads a database, also one
left behind by a killed process, without adding anything to it.

Call ids restart at 1 whenever the appliance starts, so every row carries the
``run`` that wrote it and (run, call) and (run, seq) are the keys.
"""

from __future__ import annotations

import logging
import os
import queue
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from contextlib import closing, suppress
from itertools import count
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple

from appliance.eventlog import EventLog, record_from_json, record_to_json
from appliance.events import (
    CallAnswered,
    CallEnded,
    CampaignNumberDone,
    EndCause,
    ForwardingChanged,
    OutsideCallEnded,
    Record,
    RecordingStarted,
)
from appliance.records.campaign import (
    CampaignNumberDetail,
    CampaignProgress,
    campaign_number_row,
    campaign_progress_row,
)
from appliance.records.cdr import CallDetail, CdrBuilder
from appliance.records.outside import OutsideCallDetail, OutsideDetails

logger = logging.getLogger(__name__)

# The one schema, for SQLite here and for a PostgreSQL backend: only types and
# statements both accept. DOUBLE PRECISION rather than REAL because REAL is a
# 4-byte float in PostgreSQL; SQLite gives it REAL affinity (8 bytes).
SCHEMA: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS runs (
        run TEXT PRIMARY KEY,
        position INTEGER NOT NULL UNIQUE
    )""",
    """CREATE TABLE IF NOT EXISTS events (
        run TEXT NOT NULL,
        seq INTEGER NOT NULL,
        t DOUBLE PRECISION NOT NULL,
        type TEXT NOT NULL,
        call INTEGER NULL,
        agent TEXT NULL,
        json TEXT NOT NULL,
        PRIMARY KEY (run, seq)
    )""",
    """CREATE TABLE IF NOT EXISTS calls (
        run TEXT NOT NULL,
        call INTEGER NOT NULL,
        trunk_group TEXT NOT NULL,
        ani TEXT NOT NULL,
        dnis TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        offered_at DOUBLE PRECISION NOT NULL,
        first_queue TEXT NULL,
        last_queue TEXT NULL,
        queued_at DOUBLE PRECISION NULL,
        answered_at DOUBLE PRECISION NULL,
        agent TEXT NULL,
        ended_at DOUBLE PRECISION NOT NULL,
        cause TEXT NOT NULL,
        wait DOUBLE PRECISION NOT NULL,
        talk DOUBLE PRECISION NOT NULL,
        hold DOUBLE PRECISION NOT NULL,
        rings INTEGER NOT NULL,
        ring_no_answers INTEGER NOT NULL,
        transfers INTEGER NOT NULL,
        overflows INTEGER NOT NULL,
        abandoned SMALLINT NOT NULL,
        recording TEXT NULL,
        recording_status TEXT NULL,
        PRIMARY KEY (run, call)
    )""",
    # Calls the appliance placed out through a trunk (``OutsideCallDetail``), barred ones too.
    """CREATE TABLE IF NOT EXISTS outside_calls (
        run TEXT NOT NULL,
        call INTEGER NOT NULL,
        direction TEXT NOT NULL,
        trunk_group TEXT NOT NULL,
        number TEXT NOT NULL,
        placed_by TEXT NOT NULL,
        purpose TEXT NOT NULL,
        started_at DOUBLE PRECISION NOT NULL,
        answered_at DOUBLE PRECISION NULL,
        ended_at DOUBLE PRECISION NOT NULL,
        outcome TEXT NOT NULL,
        cause TEXT NOT NULL,
        status INTEGER NOT NULL,
        ring DOUBLE PRECISION NOT NULL,
        talk DOUBLE PRECISION NOT NULL,
        recording TEXT NULL,
        PRIMARY KEY (run, call)
    )""",
    # Each phone's own call forwarding, the last change of each condition (a phone's state,
    # not a run's: it outlives restarts).
    """CREATE TABLE IF NOT EXISTS forwarding (
        phone TEXT NOT NULL,
        condition TEXT NOT NULL,
        target TEXT NOT NULL,
        t DOUBLE PRECISION NOT NULL,
        run TEXT NOT NULL,
        PRIMARY KEY (phone, condition)
    )""",
    # Each campaign number's final outcome (``CampaignNumberDetail``).
    """CREATE TABLE IF NOT EXISTS campaign_numbers (
        run TEXT NOT NULL,
        campaign TEXT NOT NULL,
        number TEXT NOT NULL,
        outcome TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        done_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (run, campaign, number)
    )""",
    # Each campaign number's progress (``CampaignProgress``): its state, not a run's, so
    # that a restarted box takes the campaign up where the last run left it.
    """CREATE TABLE IF NOT EXISTS campaign_progress (
        campaign TEXT NOT NULL,
        number TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        t DOUBLE PRECISION NOT NULL,
        done SMALLINT NOT NULL,
        run TEXT NOT NULL,
        PRIMARY KEY (campaign, number)
    )""",
)
# Indexes beyond the keys, made on older databases too when a writer opens them. A reader
# works without them (slower): it never changes a database.
INDEXES: tuple[str, ...] = (
    # A run's events by time (a report's window), without scanning the run.
    "CREATE INDEX IF NOT EXISTS events_by_time ON events (run, t)",
)
# Columns added since the first schema: (table, column, type), added to older databases.
ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    # The wall-clock time (Unix seconds) of the run's t = 0, once the appliance knows it.
    ("runs", "clock_origin", "DOUBLE PRECISION NULL"),
    ("calls", "recording", "TEXT NULL"),
    ("calls", "recording_status", "TEXT NULL"),
    # The parties' media figures (MediaQuality).
    ("calls", "caller_packets", "INTEGER NULL"),
    ("calls", "caller_lost", "INTEGER NULL"),
    ("calls", "caller_jitter_ms", "DOUBLE PRECISION NULL"),
    ("calls", "caller_jitter_max_ms", "DOUBLE PRECISION NULL"),
    ("calls", "caller_rtt_ms", "DOUBLE PRECISION NULL"),
    ("calls", "caller_reported_lost", "INTEGER NULL"),
    ("calls", "agent_packets", "INTEGER NULL"),
    ("calls", "agent_lost", "INTEGER NULL"),
    ("calls", "agent_jitter_ms", "DOUBLE PRECISION NULL"),
    ("calls", "agent_jitter_max_ms", "DOUBLE PRECISION NULL"),
    ("calls", "agent_rtt_ms", "DOUBLE PRECISION NULL"),
    ("calls", "agent_reported_lost", "INTEGER NULL"),
    # The call's way through the IVR (``CallDetail``: the path, exit, language, and JSON of
    # its variables, lookups, nodes and digits).
    ("calls", "ivr_path", "TEXT NULL"),
    ("calls", "ivr_exit", "TEXT NULL"),
    ("calls", "language", "TEXT NULL"),
    ("calls", "ivr_variables", "TEXT NULL"),
    ("calls", "ivr_lookups", "TEXT NULL"),
    ("calls", "ivr_nodes", "TEXT NULL"),
    # The agent a sticky queue offered the call to first (``CallDetail.sticky_agent``).
    ("calls", "sticky_agent", "TEXT NULL"),
    # The caller's score in a post-call survey.
    ("calls", "survey_score", "TEXT NULL"),
    # Times the call was parked (``CallDetail.parks``).
    ("calls", "parks", "INTEGER NULL"),
    # The voicemail message the caller left: its mailbox and WAV.
    ("calls", "voicemail_box", "TEXT NULL"),
    ("calls", "voicemail_file", "TEXT NULL"),
    # The PBX features the call met (``CallDetail``): transfers by kind and recalls, pickup,
    # callback, supervision.
    ("calls", "transfers_to_queue", "INTEGER NULL"),
    ("calls", "transfers_to_agent", "INTEGER NULL"),
    ("calls", "transfers_attended", "INTEGER NULL"),
    ("calls", "transfers_to_extension", "INTEGER NULL"),
    ("calls", "transfers_outside", "INTEGER NULL"),
    ("calls", "recalls", "INTEGER NULL"),
    ("calls", "picked_up_by", "TEXT NULL"),
    ("calls", "pickup", "TEXT NULL"),
    ("calls", "callback_number", "TEXT NULL"),
    ("calls", "callback_attempts", "INTEGER NULL"),
    ("calls", "callback_outcome", "TEXT NULL"),
    ("calls", "supervised_by", "TEXT NULL"),
    ("calls", "supervision_modes", "TEXT NULL"),
    ("calls", "forced_off_by", "TEXT NULL"),
)

COMMIT_INTERVAL = 0.05  # seconds a record may wait for its commit when no call ended
SYNCHRONOUS_LEVELS = frozenset({"OFF", "NORMAL", "FULL", "EXTRA"})
_BATCH_LIMIT = 5000  # records taken off the queue at a time: bounds the writer's memory

_CALL_COLUMNS = ("run", *CallDetail._fields)
# Records after which an answered call's row is written again, in progress.
_PROGRESS = (CallAnswered, RecordingStarted)
_INSERT_EVENT = "INSERT INTO events (run, seq, t, type, call, agent, json) VALUES (?,?,?,?,?,?,?)"
# An upsert (SQLite 3.24+ and PostgreSQL alike): a call's row is first written in progress.
_INSERT_CALL = (
    f"INSERT INTO calls ({', '.join(_CALL_COLUMNS)}) VALUES ({', '.join('?' * len(_CALL_COLUMNS))})"
    f" ON CONFLICT (run, call) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in CallDetail._fields if name != "call")
)
IN_PROGRESS = "in_progress"
"""The ``cause`` of the detail row of a call still up (answered, not yet ended)."""
_SELECT_CALLS = f"SELECT {', '.join(CallDetail._fields)} FROM calls"
_OUTSIDE_COLUMNS = ("run", *OutsideCallDetail._fields)
_INSERT_OUTSIDE = (f"INSERT INTO outside_calls ({', '.join(_OUTSIDE_COLUMNS)})"
                   f" VALUES ({', '.join('?' * len(_OUTSIDE_COLUMNS))})")
_SELECT_OUTSIDE = f"SELECT {', '.join(OutsideCallDetail._fields)} FROM outside_calls"
_SET_FORWARDING = (
    "INSERT INTO forwarding (run, phone, condition, target, t) VALUES (?,?,?,?,?)"
    " ON CONFLICT (phone, condition) DO UPDATE SET target = excluded.target, t = excluded.t,"
    " run = excluded.run")
_CAMPAIGN_COLUMNS = ("run", *CampaignNumberDetail._fields)
_INSERT_CAMPAIGN = (f"INSERT INTO campaign_numbers ({', '.join(_CAMPAIGN_COLUMNS)})"
                    f" VALUES ({', '.join('?' * len(_CAMPAIGN_COLUMNS))})")
_SELECT_CAMPAIGN = f"SELECT {', '.join(CampaignNumberDetail._fields)} FROM campaign_numbers"
_SET_PROGRESS = (
    "INSERT INTO campaign_progress (run, campaign, number, attempts, outcome, t, done)"
    " VALUES (?,?,?,?,?,?,?) ON CONFLICT (campaign, number) DO UPDATE SET"
    " attempts = excluded.attempts, outcome = excluded.outcome, t = excluded.t,"
    " done = excluded.done, run = excluded.run")
# Records that end a row: committed at once, not after COMMIT_INTERVAL.
_ENDS = (CallEnded, OutsideCallEnded, CampaignNumberDone)
_FINISHED = f"cause <> '{IN_PROGRESS}'"

PathLike = str | os.PathLike[str]
Row = tuple[Any, ...]


class RunBounds(NamedTuple):
    """A run that holds records, and the ``t`` of its first and last record (by seq)."""

    run: str
    first: float
    last: float


# Each end read through the (run, seq) key: two index lookups a run, whatever its length.
_RUN_BOUNDS = """
    SELECT run,
        (SELECT t FROM events e WHERE e.run = r.run ORDER BY seq LIMIT 1),
        (SELECT t FROM events e WHERE e.run = r.run ORDER BY seq DESC LIMIT 1)
    FROM runs r ORDER BY position
"""


class RecordReader:
    """Reads a records database; sees what its writers have committed."""

    def __init__(self, path: PathLike) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"no records database at {self.path}")

    def runs(self) -> list[str]:
        """Run ids in the order the runs started."""
        return [row[0] for row in self._query("SELECT run FROM runs ORDER BY position")]

    def clock_origins(self) -> dict[str, float]:
        """Each run's wall-clock time (Unix seconds) at its t = 0, where it was recorded."""
        try:
            rows = self._query("SELECT run, clock_origin FROM runs")
        except sqlite3.OperationalError:  # a database no writer of this version has opened
            return {}
        return {run: origin for run, origin in rows if origin is not None}

    def bounds(self) -> list[RunBounds]:
        """Every run that holds records, in the order the runs started, with its first and
        last ``t``; no other event is read."""
        return [RunBounds(*row) for row in self._query(_RUN_BOUNDS) if row[1] is not None]

    def events(self, run: str | None = None, start: float | None = None,
               end: float | None = None) -> list[Record]:
        """The event-log records of one run, or of every run one run after the other; with
        ``start`` or ``end``, only those with ``start <= t < end`` (on each run's own clock),
        chosen by the database, so that the others are never read."""
        where, params = _time_window(start, end)
        if run is None:
            sql = (
                f"SELECT e.json FROM events e JOIN runs r ON r.run = e.run WHERE {where}"
                " ORDER BY r.position, e.seq"
            )
        else:
            sql = f"SELECT json FROM events e WHERE e.run = ? AND {where} ORDER BY seq"
            params = (run, *params)
        return [record_from_json(row[0]) for row in self._query(sql, params)]

    def events_after(self, run: str, seq: int, limit: int = 10_000
                     ) -> list[tuple[int, Record]]:
        """(seq, record) of up to `limit` records of `run` numbered after `seq`, in order: a
        reader following a running appliance asks again from the last seq it got."""
        rows = self._query("SELECT seq, json FROM events WHERE run = ? AND seq > ?"
                           " ORDER BY seq LIMIT ?", (run, seq, limit))
        return [(number, record_from_json(text)) for number, text in rows]

    def calls(self, run: str | None = None) -> list[CallDetail]:
        """Call detail records of the ended calls of one run, or of every run, by run then
        call id."""
        return self._details(_FINISHED, run)

    def calls_in_progress(self, run: str | None = None) -> list[CallDetail]:
        """Detail records of calls answered and not ended (yet, or ever: a run killed and not
        yet repaired), as they read at their last answer or recording start: ``ended_at`` is
        that moment and ``cause`` is ``EndCause.INTERRUPTED``."""
        return [detail._replace(cause=EndCause.INTERRUPTED)
                for detail in self._details(f"NOT ({_FINISHED})", run, in_progress=True)]

    def _details(self, where: str, run: str | None, in_progress: bool = False
                 ) -> list[CallDetail]:
        if run is None:
            sql = (f"{_SELECT_CALLS} JOIN runs USING (run) WHERE {where}"
                   " ORDER BY runs.position, call")
            rows = self._query(sql)
        else:
            sql = f"{_SELECT_CALLS} WHERE run = ? AND {where} ORDER BY call"
            rows = self._query(sql, (run,))
        return [_detail_from_row(row, in_progress) for row in rows]

    def outside_calls(self, run: str | None = None) -> list[OutsideCallDetail]:
        """Detail rows of the ended outside calls of one run, or of every run, by run then
        the order they started in (call ids of outside calls count down)."""
        try:
            if run is None:
                rows = self._query(f"{_SELECT_OUTSIDE} JOIN runs USING (run)"
                                   " ORDER BY runs.position, call DESC")
            else:
                rows = self._query(f"{_SELECT_OUTSIDE} WHERE run = ? ORDER BY call DESC",
                                   (run,))
        except sqlite3.OperationalError:  # a database no writer of this version has opened
            return []
        return [OutsideCallDetail(*row) for row in rows]

    def answers_since(self, wall: float) -> list[tuple[str, str, float]]:
        """(caller number, agent, Unix time) of every answer at or after the Unix time
        ``wall``, oldest first, from the runs whose clock origin is known (the sticky
        memory's past, `StickyMemory.remember`)."""
        return [(ani, agent, at) for ani, agent, at in self._query(
            "SELECT c.ani, e.agent, r.clock_origin + e.t FROM events e"
            " JOIN runs r ON r.run = e.run JOIN calls c ON c.run = e.run AND c.call = e.call"
            " WHERE e.type = 'CallAnswered' AND r.clock_origin IS NOT NULL"
            " AND e.t >= ? - r.clock_origin ORDER BY r.position, e.t", (wall,))]

    def forwarding(self) -> list[ForwardingChanged]:
        """Each phone's last forwarding change of each condition (`Forwarding.restore`)."""
        try:
            rows = self._query("SELECT t, phone, condition, target FROM forwarding"
                               " JOIN runs USING (run) ORDER BY runs.position, t")
        except sqlite3.OperationalError:  # a database no writer of this version has opened
            return []
        return [ForwardingChanged(*row) for row in rows]

    def campaign_numbers(self, run: str | None = None,
                         campaign: str | None = None) -> list[CampaignNumberDetail]:
        """Campaign numbers with their final outcome, of one run or every run (and of one
        campaign or all), in the order they were done."""
        where = " AND ".join(f"{name} = ?" for name, value in (("run", run),
                                                                 ("campaign", campaign))
                             if value is not None)
        params = tuple(value for value in (run, campaign) if value is not None)
        try:
            rows = self._query(f"{_SELECT_CAMPAIGN}{' WHERE ' + where if where else ''}"
                               " ORDER BY done_at, rowid", params)
        except sqlite3.OperationalError:  # a database no writer of this version has opened
            return []
        return [CampaignNumberDetail(*row) for row in rows]

    def campaign_progress(self) -> list[CampaignProgress]:
        """Every campaign number's progress as the last run to move it left it, ``t`` in
        Unix seconds (from the Unix epoch where that run's clock origin is unknown: its
        retries are long due)."""
        try:
            rows = self._query(
                "SELECT c.campaign, c.number, c.attempts, c.outcome,"
                " COALESCE(r.clock_origin, 0) + c.t, c.done FROM campaign_progress c"
                " JOIN runs r ON r.run = c.run ORDER BY c.campaign, c.number")
        except sqlite3.OperationalError:  # a database no writer of this version has opened
            return []
        return [CampaignProgress(*row) for row in rows]

    def integrity_check(self) -> list[str]:
        """SQLite's own check of the file: ``["ok"]`` when sound."""
        return [row[0] for row in self._query("PRAGMA integrity_check")]

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        # A connection per read: reads come from any thread, and under WAL a
        # reader never waits for the writer.
        with closing(sqlite3.connect(self.path, timeout=10.0)) as db:
            return db.execute(sql, params).fetchall()


class RecordStore(RecordReader):
    """Writes one run's records to an SQLite database, created if missing.

    ``run`` names this run (a new uuid if not given) and must not be in the
    database yet. ``synchronous`` is SQLite's setting: with NORMAL, a commit
    survives the process being killed, and power loss may lose the last
    commits; FULL keeps those too at the cost of an fsync a commit.
    """

    def __init__(
        self, path: PathLike, run: str | None = None, *, synchronous: str = "NORMAL"
    ) -> None:
        self.path = Path(path)
        self.run = run or uuid.uuid4().hex
        self.dropped = 0  # records that could not be stored (logged as they happen)
        self.durable = 0
        """The highest mark whose records are committed (or could not be stored)."""
        self.on_durable: Callable[[int], None] | None = None
        """Called on the writer thread with ``durable`` each time marks are committed."""
        self._marks = count(1)
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        # Appending is the queue's own put: the caller never waits for the disk.
        self.append: Callable[[Record], None] = self._queue.put
        self._db = _open(self.path, synchronous)
        _register_run(self._db, self.run)
        self._writer = _Writer(self._db, self.run)
        self._thread = threading.Thread(
            target=self._write_loop, name=f"records-{self.run}", daemon=True
        )
        self._closed = False
        self._thread.start()

    @property
    def backlog(self) -> int:
        """Records (and flush requests) appended and not yet taken by the writer; approximate."""
        return self._queue.qsize()

    def subscribe_to(self, log: EventLog) -> None:
        """Store every record appended to ``log`` from now on; ``log.durability`` is this
        store."""
        log.subscribe(self.append)
        log.durability = self

    def mark(self) -> int:
        """A number for every record appended so far, larger than any mark before it.

        The writer commits at once what the mark covers, sets ``durable`` to it and calls
        ``on_durable``. Records that could not be stored count as done: they are logged and
        counted in ``dropped``, and waiting for them would not bring them back. Marks are
        taken on one thread (the one that appends).
        """
        mark = next(self._marks)
        self._queue.put(_Mark(mark))
        return mark

    def set_clock_origin(self, wall: float) -> None:
        """Record that this run's t = 0 is `wall` (Unix seconds), for reports on the box's
        clock; committed with the records that follow."""
        self._queue.put(_Origin(wall))

    def flush(self, timeout: float = 10.0) -> None:
        """Return once every record appended before the call is committed.

        Records that could not be stored are counted in ``dropped`` instead.
        Raises TimeoutError if that takes longer than ``timeout`` seconds.
        """
        if not self._thread.is_alive():
            raise RuntimeError(f"the writer of {self.path} has stopped")
        done = threading.Event()
        self._queue.put(_Flush(done))
        if not done.wait(timeout):
            raise TimeoutError(f"records not committed to {self.path} within {timeout} s")

    def close(self, timeout: float = 10.0) -> None:
        """Flush, then stop the writer. Records appended afterwards are not stored."""
        if self._closed:
            return
        self._closed = True
        self.flush(timeout)
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def __enter__(self) -> RecordStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _write_loop(self) -> None:
        try:
            self._drain_until_stopped()
        finally:
            self._db.close()

    def _drain_until_stopped(self) -> None:
        deadline: float | None = None  # when the open transaction must be committed
        while True:
            try:
                first = self._queue.get(timeout=_seconds_until(deadline))
            except queue.Empty:
                self._commit([])
                deadline = None
                continue
            batch = _take(self._queue, first)
            flushes, marks, call_ended, stop = self._write(batch)
            if call_ended or flushes or marks or stop or _passed(deadline):
                self._commit(flushes)
                deadline = None
                if marks:
                    self._report_durable(max(marks))
            elif deadline is None:
                deadline = time.monotonic() + COMMIT_INTERVAL
            if stop:
                return

    def _write(self, batch: list[Any]) -> tuple[list[threading.Event], list[int], bool, bool]:
        """Insert a batch's records; its flush requests, its marks, whether a call ended,
        whether to stop."""
        flushes = [item.done for item in batch if type(item) is _Flush]
        marks = [item.mark for item in batch if type(item) is _Mark]
        stop = any(item is _STOP for item in batch)
        records = [item for item in batch if type(item) not in _CONTROL and item is not _STOP]
        call_ended = any(type(record) in _ENDS for record in records)
        for item in batch:
            if type(item) is _Origin:
                self._writer.set_clock_origin(item.wall)
        try:
            self.dropped += self._writer.write(records)
        except Exception:
            # The last guard: the thread must live on to answer the flushes in this batch.
            logger.exception("the records writer failed on %d records", len(records))
            self.dropped += len(records)
        return flushes, marks, call_ended, stop

    def _commit(self, flushes: list[threading.Event]) -> None:
        self.dropped += self._writer.commit()
        for done in flushes:
            done.set()

    def _report_durable(self, mark: int) -> None:
        self.durable = mark
        listener = self.on_durable
        if listener is None:
            return
        try:
            listener(mark)
        except Exception:
            # The writer must live on: the next commit reports a later mark.
            logger.exception("the listener of committed records failed")


class _Flush:
    """A flush request travelling through the queue behind the records it waits for."""

    __slots__ = ("done",)

    def __init__(self, done: threading.Event) -> None:
        self.done = done


class _Mark:
    """A mark travelling through the queue behind the records it covers."""

    __slots__ = ("mark",)

    def __init__(self, mark: int) -> None:
        self.mark = mark


class _Origin:
    """The run's wall-clock origin, written by the writer thread like a record."""

    __slots__ = ("wall",)

    def __init__(self, wall: float) -> None:
        self.wall = wall


_CONTROL = (_Flush, _Mark, _Origin)
_STOP = object()


class _Writer:
    """The writer thread's side: rows into the open transaction, and commits."""

    def __init__(self, db: sqlite3.Connection, run: str) -> None:
        self.db = db
        self.run = run
        self.seq = 0
        self.builder = CdrBuilder()
        # The tables beside `calls` whose rows the records close: (insert, row of a record).
        self.side_tables = ((_INSERT_OUTSIDE, OutsideDetails().feed),
                            (_INSERT_CAMPAIGN, campaign_number_row),
                            (_SET_PROGRESS, campaign_progress_row),
                            (_SET_FORWARDING, _forwarding_row))
        self.pending = 0  # records in the open transaction

    def write(self, records: list[Any]) -> int:
        """Insert into the open transaction; returns how many records were dropped."""
        events, calls, side, dropped = self.rows(records)
        if not events:
            return dropped
        try:
            if not self.db.in_transaction:
                self.db.execute("BEGIN")
            self.db.executemany(_INSERT_EVENT, events)
            self.db.executemany(_INSERT_CALL, calls)
            for (insert, _), rows in zip(self.side_tables, side, strict=True):
                self.db.executemany(insert, rows)
        except sqlite3.Error:
            logger.exception("could not write %d records of run %s", len(events), self.run)
            return dropped + len(events) + self.rollback()
        self.pending += len(events)
        return dropped

    def rows(self, records: list[Any]) -> tuple[list[Row], list[Row], list[list[Row]], int]:
        """The events and calls rows of `records`, the rows of each side table, and how
        many records were dropped."""
        events: list[Row] = []
        calls: list[Row] = []
        side: list[list[Row]] = [[] for _ in self.side_tables]
        dropped = 0
        for record in records:
            try:
                event = self.event_row(record)
                detail = self.builder.feed(record)
                closed = [row_of(record) for _, row_of in self.side_tables]
            except Exception:
                # One bad record must not stop the log of a live appliance.
                logger.exception("dropped a record that could not be stored: %s", _describe(record))
                dropped += 1
                continue
            events.append(event)
            for rows, row in zip(side, closed, strict=True):
                if row is not None:
                    rows.append((self.run, *row))
            if detail is not None:
                calls.append(_detail_row(self.run, detail))
            elif type(record) in _PROGRESS:
                # From its answer on, a call has a row: a kill leaves it for the repair.
                so_far = self.builder.so_far(record.call, record.t)
                if so_far is not None and so_far.answered_at is not None:
                    calls.append(_detail_row(self.run, so_far, IN_PROGRESS))
        return events, calls, side, dropped

    def event_row(self, record: Record) -> tuple[Any, ...]:
        row = event_row(self.run, self.seq + 1, record)
        self.seq += 1  # counted once the row is built: a record that cannot be encoded takes none
        return row

    def set_clock_origin(self, wall: float) -> None:
        try:
            if not self.db.in_transaction:
                self.db.execute("BEGIN")
            self.db.execute("UPDATE runs SET clock_origin = ? WHERE run = ?", (wall, self.run))
        except sqlite3.Error:
            logger.exception("could not note the clock origin of run %s", self.run)

    def commit(self) -> int:
        """Commit the open transaction; returns how many records were lost if that failed."""
        if not self.db.in_transaction:
            return 0
        try:
            self.db.commit()
        except sqlite3.Error:
            logger.exception("could not commit %d records of run %s", self.pending, self.run)
            return self.rollback()
        self.pending = 0
        return 0

    def rollback(self) -> int:
        lost, self.pending = self.pending, 0
        try:
            self.db.rollback()
        except sqlite3.Error:
            logger.exception("could not roll back the records of run %s", self.run)
        return lost


def _time_window(start: float | None, end: float | None) -> tuple[str, tuple[float, ...]]:
    """The condition on ``e.t`` for ``start <= t < end`` (either may be open), and its
    parameters."""
    conditions = [("e.t >= ?", start), ("e.t < ?", end)]
    chosen = [(sql, value) for sql, value in conditions if value is not None]
    if not chosen:
        return "1 = 1", ()
    return " AND ".join(sql for sql, _ in chosen), tuple(value for _, value in chosen)


def _open(path: Path, synchronous: str) -> sqlite3.Connection:
    level = synchronous.upper()
    if level not in SYNCHRONOUS_LEVELS:
        raise ValueError(f"synchronous must be one of {sorted(SYNCHRONOUS_LEVELS)}, not {level!r}")
    # Autocommit mode (isolation_level None): the writer opens and commits its
    # own transactions. The connection is made here, so that errors reach the
    # caller, and then used by the writer thread alone.
    db = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
    mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if mode != "wal":
        db.close()
        raise ValueError(f"{path} cannot be put in WAL mode (journal mode {mode!r})")
    # In WAL mode a commit appends its pages to the -wal file with write(); with
    # NORMAL, SQLite fsyncs only at checkpoints. A killed process loses nothing
    # committed: the frames are already in the OS page cache and the next open
    # replays them. Power loss or a kernel crash may lose the last commits
    # (never corrupt the file); FULL fsyncs every commit to keep those too.
    db.execute(f"PRAGMA synchronous={level}")
    for statement in SCHEMA:
        db.execute(statement)
    _add_missing_columns(db)
    for statement in INDEXES:
        db.execute(statement)
    return db


def _add_missing_columns(db: sqlite3.Connection) -> None:
    """Bring a database made by an older version up to the schema (new nullable columns)."""
    for table, column, kind in ADDED_COLUMNS:
        present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")


def _register_run(db: sqlite3.Connection, run: str) -> None:
    # IMMEDIATE: two stores opening at once cannot both take the same position.
    db.execute("BEGIN IMMEDIATE")
    try:
        exists = db.execute("SELECT 1 FROM runs WHERE run = ?", (run,)).fetchone()
        if exists:
            raise ValueError(f"run {run!r} is already in the database")
        db.execute(
            "INSERT INTO runs (run, position) SELECT ?, COALESCE(MAX(position), 0) + 1 FROM runs",
            (run,),
        )
    except BaseException:
        db.rollback()
        db.close()
        raise
    db.commit()


def _take(source: queue.SimpleQueue[Any], first: Any) -> list[Any]:
    """``first`` and whatever else is queued, up to the batch limit, without waiting."""
    batch = [first]
    with suppress(queue.Empty):
        while len(batch) < _BATCH_LIMIT:
            batch.append(source.get_nowait())
    return batch


def _seconds_until(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _passed(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() >= deadline


def _forwarding_row(record: Record) -> tuple[str, str, str, float] | None:
    """A phone's forwarding change, upserted: the phone's state, not only its run's."""
    if type(record) is not ForwardingChanged:
        return None
    return record.phone, record.condition, record.target, record.t  # type: ignore[union-attr]


def _describe(record: Any) -> str:
    """A record's repr, also for a malformed one (whose own repr would raise)."""
    if isinstance(record, tuple):
        return f"{type(record).__name__}{tuple.__repr__(record)}"
    return object.__repr__(record)


def event_row(run: str, seq: int, record: Record) -> tuple[Any, ...]:
    """The ``events`` row (for ``_INSERT_EVENT``) of ``record``, the ``seq``-th of ``run``."""
    line = record_to_json(record)
    call = getattr(record, "call", 0) or None  # call ids start at 1; 0 is "no call"
    agent = getattr(record, "agent", "") or None
    return (run, seq, record.t, type(record).__name__, call, agent, line)


def _detail_row(run: str, detail: CallDetail, cause: str | None = None) -> tuple[Any, ...]:
    # Plain str and int, so that any DB-API driver takes them.
    return (run, *detail._replace(cause=cause or str(detail.cause),
                                  abandoned=int(detail.abandoned)))


def _detail_from_row(row: Iterable[Any], in_progress: bool = False) -> CallDetail:
    detail = CallDetail(*row)
    cause = EndCause.INTERRUPTED if in_progress else EndCause(detail.cause)
    return detail._replace(cause=cause, abandoned=bool(detail.abandoned))
