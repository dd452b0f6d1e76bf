"""The running appliance's records, followed into the load's own event log.

What SIP does not carry - announcements, agents' states, callbacks - the models hear from the
box's event log (`LogView`); live, that log is the box's records database. `BoxLog` polls it
for the records after the last one it saw and appends them to an `EventLog` at the simulated
time they are read. Records keep the box's own `t` (seconds since the box started): the
models only react to them, at the time they are read, and never compare the two clocks.

A model about to decide on what the box may have done (a caller whose patience in the IVR
runs out, unaware yet that the box has queued the call) reads at once (`read_now`): what it
may still miss is only what the box has not committed yet.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from appliance.eventlog import EventLog
from appliance.events import Record
from appliance.records.store import RecordReader
from sim.load.realtime import Pacer

POLL_INTERVAL = 0.05  # seconds: how stale what the models hear from the box may be


class BoxLog:
    """Follows the records at `records` of the box's `run` (by default its newest run when
    first read: start following once the box is up) into `log`."""

    def __init__(self, records: Path, log: EventLog, pacer: Pacer, run: str | None = None,
                 interval: float = POLL_INTERVAL) -> None:
        self.records = records
        self.log = log
        self.pacer = pacer
        self.run = run
        self.interval = interval
        self.seq = 0  # the last record read
        self.read = 0
        self._reader: RecordReader | None = None
        # Read on a worker thread (`poll`) or the event loop's (`read_now`), appended on the
        # event loop's alone, in the order read: records read wait here until then.
        self._lock = threading.Lock()
        self._pending: list[Record] = []

    async def follow(self) -> None:
        """Poll every `interval` until cancelled."""
        while True:
            await self.poll()
            await asyncio.sleep(self.interval)

    async def poll(self) -> int:
        """Read what the box has committed since the last read into the log (off the event
        loop's thread); how many records that was."""
        count = await asyncio.to_thread(self._read)
        if count:
            self.pacer.hand_in(lambda _now: self._append())
        return count

    def read_now(self) -> int:
        """Read what the box has committed since the last read into the log at once, at the
        simulated time it is (from within the environment's events, on the event loop's
        thread); how many records were appended, those a poll read meanwhile first."""
        self._read()
        return self._append()

    def _read(self) -> int:
        with self._lock:
            records = self._records_after()
            self._pending.extend(records)
        return len(records)

    def _records_after(self) -> list[Record]:
        if self._reader is None:
            if not self.records.exists():
                return []  # the box has not opened its records yet
            self._reader = RecordReader(self.records)
        if self.run is None:
            runs = self._reader.runs()
            if not runs:
                return []
            self.run = runs[-1]
        rows = self._reader.events_after(self.run, self.seq)
        if rows:
            self.seq = rows[-1][0]
        return [record for _, record in rows]

    def _append(self) -> int:
        with self._lock:
            records, self._pending = self._pending, []
        append = self.log.append
        for record in records:
            append(record)
        self.read += len(records)
        return len(records)
