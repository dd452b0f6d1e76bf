"""`ccbox load` end to end: the small reference site driven live, its figures beside the
simulation's; and an appliance killed mid-run."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from appliance.config import resolve_site
from appliance.events import EndCause
from appliance.records.store import RecordReader
from sim.live import ROOT, wait_until
from sim.load.run import LoadOptions, run_load

pytestmark = pytest.mark.slow

# What the small site's callers and agents may end a call with.
MODEL_CAUSES = {EndCause.ABANDONED, EndCause.CALLER_HANGUP, EndCause.AGENT_HANGUP,
                EndCause.BLOCKED}
HEADLINE = ("center.service_level", "center.asa", "center.abandon_rate",
            "center.blocked_rate")


def test_the_small_site_live_agrees_with_its_simulation(tmp_path: Path) -> None:
    """Two minutes at 30x: an hour of the small site's traffic (4 trunks, 16 agents)."""
    options = LoadOptions(minutes=2, speedup=30, seed=3, replications=10)
    outcome = run_load(resolve_site("small"), options, tmp_path)
    rows = {row.key: row for row in outcome.comparison.rows}
    assert {key: rows[key].verdict for key in HEADLINE} == dict.fromkeys(HEADLINE, "inside")
    seen = outcome.seen
    assert seen.calls_placed >= 20 and seen.drained
    assert not seen.failures and not seen.registration_failures
    causes = {call.cause for call in RecordReader(tmp_path / "records.sqlite").calls()}
    assert causes <= MODEL_CAUSES
    assert outcome.box_status == 0


IVR_CAUSES = MODEL_CAUSES | {EndCause.IVR_ABANDONED, EndCause.IVR_COMPLETED}
IVR_HEADLINE = (*HEADLINE, "center.att", "ivr.center.entered", "ivr.center.completed",
                "ivr.center.abandoned", "ivr.center.to_queue", "ivr.center.answer_rate")


def test_the_small_site_with_its_ivr_live_agrees_with_its_simulation(tmp_path: Path) -> None:
    """Two minutes at 30x of small-ivr: callers walk the menu by keys, found in the lab's
    customer table as often as in simulation, connected to agents after it. A caller whose
    patience in the IVR runs out reads the box's records first: one the box has just queued
    waits in the queue, as in simulation, and service level agrees too."""
    options = LoadOptions(minutes=2, speedup=30, seed=3, replications=10)
    outcome = run_load(resolve_site("small-ivr"), options, tmp_path)
    rows = {row.key: row for row in outcome.comparison.rows}
    assert {key: rows[key].verdict for key in IVR_HEADLINE} == dict.fromkeys(
        IVR_HEADLINE, "inside")
    seen = outcome.seen
    assert seen.calls_placed >= 20 and seen.drained
    assert not seen.failures and not seen.registration_failures
    calls = RecordReader(tmp_path / "records.sqlite").calls()
    assert {call.cause for call in calls} <= IVR_CAUSES
    assert any(call.ivr_path and "ask_pin" in call.ivr_path for call in calls)  # found
    assert outcome.box_status == 0


def calls_ended(records: Path) -> bool:
    """Whether the box has ended a call yet (its database may not be made yet)."""
    try:
        return bool(RecordReader(records).calls())
    except (OSError, sqlite3.Error):
        return False


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def test_an_appliance_killed_mid_run_is_reported_and_nothing_is_left_behind(
        tmp_path: Path) -> None:
    command = [sys.executable, "-m", "appliance", "load", "small", "--minutes", "3",
               "--speedup", "30", "--replications", "2", "--keep", str(tmp_path)]
    load = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        wait_until(lambda: calls_ended(tmp_path / "records.sqlite"), 60, "calls ended")
        [box] = children(load.pid)
        os.kill(box, signal.SIGKILL)
        started = time.monotonic()
        _, err = load.communicate(timeout=30)
    finally:
        if load.poll() is None:  # the test failed: its box too, or it would live on
            for child in children(load.pid):
                os.kill(child, signal.SIGKILL)
            load.kill()
            load.wait()
    assert load.returncode == 3, err
    assert "the appliance exited with status -9" in err and "appliance.log" in err, err
    assert time.monotonic() - started < 10  # seen at once, not at the run's end
    assert not Path(f"/proc/{box}").exists()
