"""`ccbox report` on the records of a live SIPp run: the KPIs of its event log, figure by figure.

The appliance (`ccbox serve`) takes SIPp calls as in `test_sipp_calls.py`; the report is
read while it runs and after it stopped, and compared with `compute_kpis` on the event log
the records database holds.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from appliance.kpi import KpiSettings, compute_kpis
from appliance.kpi.timeline import run_started
from appliance.records.store import RecordReader
from tests.live.test_sipp_calls import Floor

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def ccbox_report(records: Path) -> dict:
    """`ccbox report RECORDS --json`, run as a user runs it."""
    done = subprocess.run([sys.executable, "-m", "appliance", "report", str(records), "--json"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_report_of_a_live_run_equals_the_kpis_of_its_event_log(tmp_path: Path) -> None:
    floor = Floor(tmp_path)
    try:
        floor.register_phones()
        with floor.agents() as agents:
            result = floor.callers(calls=6).run()
            agents.stop()
        assert (result.successful, result.failed) == (6, 0), result
        while_running = ccbox_report(floor.box.records)
        assert while_running["report"]["center"]["answered"] == 6
    finally:
        assert floor.box.stop() == 0, floor.box.log()
    reader = RecordReader(floor.box.records)
    (run,) = reader.runs()
    # The box recorded the wall-clock time of its t = 0 when its SIP socket came up.
    started = datetime.fromtimestamp(reader.clock_origins()[run])
    assert abs((started - run_started(run)).total_seconds()) < 60, run
    clock = started.hour * 3600.0 + started.minute * 60.0 + started.second + \
        started.microsecond / 1e6
    expected = compute_kpis(reader.events(run), KpiSettings(interval=1800.0, clock_origin=clock))
    document = ccbox_report(floor.box.records)
    assert document["report"] == expected.to_dict()
    assert document["report"]["center"]["answered"] == 6
    assert document["runs"][0]["run"] == run
