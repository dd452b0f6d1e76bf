"""What storing the records costs the code that appends them.

The figure that matters on the box is the caller's: how much slower
``EventLog.append`` gets once a ``RecordStore`` is subscribed. The writer's own
time (off the caller's thread) is reported apart, as the drain time.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from pathlib import Path

from appliance.eventlog import EventLog
from appliance.events import (
    AgentRung,
    AgentState,
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallOffered,
    CallQueued,
    EndCause,
    Record,
)
from appliance.records.store import RecordStore


def sample_records(n: int) -> list[Record]:
    """``n`` records shaped like a busy center's log: answered calls, eight records each."""
    records: list[Record] = []
    call = 0
    while len(records) < n:
        call += 1
        records.extend(_answered_call(call, float(call)))
    return records[:n]


def _answered_call(call: int, t: float) -> list[Record]:
    agent = f"a{call % 50}"
    return [
        CallOffered(t, call, "pstn", "5551234", "800", 1),
        CallQueued(t, call, "service", 0, 1),
        AgentRung(t + 1, call, "service", agent),
        AgentStateChanged(t + 1, agent, AgentState.RINGING, "", call),
        CallAnswered(t + 3, call, "service", agent, 3.0),
        AgentStateChanged(t + 3, agent, AgentState.TALKING, "", call),
        CallEnded(t + 90, call, EndCause.CALLER_HANGUP),
        AgentStateChanged(t + 90, agent, AgentState.READY, "", 0),
    ]


def measure_append_overhead(n: int, directory: Path | None = None) -> dict[str, float]:
    """Append ``n`` records to an event log without and with a store subscribed.

    Returns ``records`` (n), ``plain_per_s`` and ``store_per_s`` (records
    appended a second), ``ratio`` (plain_per_s / store_per_s: how many times
    slower appending gets), ``added_ns_per_record`` (what the store adds to one
    append) and ``drain_s`` (from the last append until the store had
    committed everything). The database goes to a temporary directory, made in
    ``directory`` if given.
    """
    records = sample_records(n)
    plain = _time_appends(EventLog(), records)
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        store = RecordStore(Path(tmp) / "bench.db", run="bench")
        log = EventLog()
        store.subscribe_to(log)
        stored = _time_appends(log, records)
        started = time.perf_counter()
        store.close(timeout=600.0)
        drain = time.perf_counter() - started
    return {
        "records": float(n),
        "plain_per_s": n / plain,
        "store_per_s": n / stored,
        "ratio": stored / plain,
        "added_ns_per_record": (stored - plain) / n * 1e9,
        "drain_s": drain,
    }


def _time_appends(log: EventLog, records: list[Record]) -> float:
    append = log.append
    started = time.perf_counter()
    for record in records:
        append(record)
    return time.perf_counter() - started


def measure_durable_wait(calls: int, directory: Path | None = None) -> dict[str, float]:
    """How long an answer that ends a call waits for the call's end to be committed.

    Each of ``calls`` calls appends its records, takes a mark (as the B2BUA does before its
    200 to a BYE) and waits until the store reports the mark: one commit a call, the worst
    case (under load one commit covers many calls). Returns ``calls``, ``median_ms``,
    ``p99_ms`` and ``max_ms`` of that wait, and ``calls_per_s`` so handled one after the
    other. The database goes to a temporary directory, made in ``directory`` if given.
    """
    records = sample_records(calls * 8)
    waits: list[float] = []
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        store = RecordStore(Path(tmp) / "bench.db", run="bench")
        committed = threading.Condition()

        def reported(mark: int) -> None:
            with committed:
                committed.notify_all()

        store.on_durable = reported
        log = EventLog(retain=False)
        store.subscribe_to(log)
        started = time.perf_counter()
        for call in range(calls):
            for record in records[call * 8:(call + 1) * 8]:
                log.append(record)
            marked = time.perf_counter()
            mark = store.mark()
            with committed:
                committed.wait_for(lambda mark=mark: store.durable >= mark, timeout=60.0)
            waits.append(time.perf_counter() - marked)
        elapsed = time.perf_counter() - started
        store.close(timeout=600.0)
    waits.sort()
    return {
        "calls": float(calls),
        "median_ms": statistics.median(waits) * 1e3,
        "p99_ms": waits[min(len(waits) - 1, int(len(waits) * 0.99))] * 1e3,
        "max_ms": waits[-1] * 1e3,
        "calls_per_s": calls / elapsed,
    }
