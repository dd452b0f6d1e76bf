"""A process killed with SIGKILL loses no call it had reported ended, and leaves a sound file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

from appliance.events import CallEnded
from appliance.records import RecordReader, RecordStore
from appliance.records.bench import sample_records

ROOT = Path(__file__).resolve().parents[3]
RUN_FOR = 1.0  # seconds of calls before the kill
MARGIN = 0.2  # a call reported this long before the kill must be in the database
PAUSE = 0.0005  # the child's pause after each call (see crash_child.py)


class Reports:
    """The child's "ended <call>" lines, each with the parent's monotonic time of reading it."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[tuple[float, int]] = []
        self.first = threading.Event()
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.append((time.monotonic(), int(line.split()[1])))
            self.first.set()

    def before(self, t: float) -> set[int]:
        return {call for read_at, call in self.lines if read_at <= t}


def start_child(database: Path, stderr: IO[str]) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "tests.appliance.records.crash_child"]
    return subprocess.Popen(
        [*command, str(database), "child", str(PAUSE)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )


def kill_after_calls(database: Path, errors: Path) -> tuple[Reports, float]:
    """Run the child until it has made calls for RUN_FOR seconds, then SIGKILL it."""
    with errors.open("w") as stderr:
        child = start_child(database, stderr)
        try:
            assert child.stdout is not None
            reports = Reports(child.stdout)
            assert reports.first.wait(60.0), errors.read_text()
            time.sleep(RUN_FOR)
            killed_at = time.monotonic()
            os.kill(child.pid, signal.SIGKILL)
            assert child.wait(timeout=30.0) == -signal.SIGKILL
            reports.thread.join(timeout=30.0)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait(timeout=30.0)
    return reports, killed_at


def test_calls_reported_ended_survive_sigkill(tmp_path: Path) -> None:
    database = tmp_path / "records.db"
    reports, killed_at = kill_after_calls(database, tmp_path / "child.err")

    reported = reports.before(killed_at - MARGIN)
    assert len(reported) > 10  # the child really was making calls
    reader = RecordReader(database)
    assert reader.integrity_check() == ["ok"]
    stored = {detail.call for detail in reader.calls("child")}
    assert reported <= stored
    # A call's detail row and its CallEnded commit in the same transaction.
    ended = {r.call for r in reader.events("child") if type(r) is CallEnded}
    assert ended == stored


def test_a_database_left_by_a_killed_process_takes_new_runs(tmp_path: Path) -> None:
    database = tmp_path / "records.db"
    kill_after_calls(database, tmp_path / "child.err")
    before = RecordReader(database).calls("child")
    records = sample_records(16)
    with RecordStore(database, run="after") as store:
        for record in records:
            store.append(record)
    reader = RecordReader(database)
    assert reader.runs() == ["child", "after"]
    assert reader.events("after") == records
    assert reader.calls("child") == before
    assert reader.integrity_check() == ["ok"]
