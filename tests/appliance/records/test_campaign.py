"""Campaign numbers' final outcomes: rows from the event log, in their own records table."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from appliance.cli import app
from appliance.eventlog import EventLog
from appliance.pbx.features.campaign import Contact, Dialer, DialerSettings, Past
from appliance.pbx.features.campaign_site import past_from
from appliance.records import RecordReader, RecordStore
from appliance.records.campaign import (
    CampaignNumberDetail,
    CampaignProgress,
    campaign_number_row,
)


def a_campaign_run() -> EventLog:
    log = EventLog()
    dialer = Dialer("survey", [Contact(n, {}) for n in ("1", "2", "3")], {"3"},
                    DialerSettings(attempts=2, retry={"busy": 60.0}), log)
    dialer.start(0.0)
    dialer.dial(2, 0.0)
    dialer.answered("1", agent_free=True, now=5.0)
    dialer.not_reached("2", "busy", 6.0)
    dialer.dial(2, 66.0)
    dialer.not_reached("2", "busy", 70.0)
    return log


def test_each_number_gets_one_row_when_its_outcome_is_final() -> None:
    rows = [row for row in map(campaign_number_row, a_campaign_run()) if row is not None]
    assert rows == [CampaignNumberDetail("survey", "3", "do_not_call", 0, 0.0),
                    CampaignNumberDetail("survey", "1", "connected", 1, 5.0),
                    CampaignNumberDetail("survey", "2", "busy", 2, 70.0)]


def test_the_rows_are_stored_and_read_back_by_run_and_campaign(tmp_path: Path) -> None:
    with RecordStore(tmp_path / "r.db", run="run1") as store:
        for record in a_campaign_run():
            store.append(record)
    reader = RecordReader(tmp_path / "r.db")
    assert [(r.number, r.outcome) for r in reader.campaign_numbers("run1", "survey")] == [
        ("3", "do_not_call"), ("1", "connected"), ("2", "busy")]
    assert reader.campaign_numbers(campaign="other") == []
    assert reader.calls() == []


def test_ccbox_campaign_shows_the_numbers_done_by_outcome(tmp_path: Path) -> None:
    with RecordStore(tmp_path / "r.db", run="run1") as store:
        for record in a_campaign_run():
            store.append(record)
    shown = CliRunner().invoke(app, ["campaign", str(tmp_path / "r.db")])
    assert shown.exit_code == 0, shown.output
    assert shown.output == ("survey: 3 numbers done - attempts 3, do_not_call 1, connected 1, "
                            "busy 1\n")
    missing = CliRunner().invoke(app, ["campaign", str(tmp_path / "none.db")])
    assert missing.exit_code == 2


def test_each_numbers_progress_outlives_its_run_and_takes_the_campaign_up(
        tmp_path: Path) -> None:
    with RecordStore(tmp_path / "r.db", run="run1") as store:
        store.set_clock_origin(1000.0)
        for record in a_campaign_run():
            store.append(record)
    rows = RecordReader(tmp_path / "r.db").campaign_progress()
    assert [(r.number, r.attempts, r.outcome, r.t, r.done) for r in rows] == [
        ("1", 1, "connected", 1005.0, 1), ("2", 2, "busy", 1070.0, 1),
        ("3", 0, "do_not_call", 1000.0, 1)]
    past = past_from(rows, origin=1100.0)
    assert past["survey"]["2"] == Past(2, "busy", -30.0, True)
    dialer = Dialer("survey", [Contact(n, {}) for n in ("1", "2", "3", "4")], {"3"},
                    DialerSettings(attempts=2, retry={"busy": 60.0}), EventLog())
    dialer.restore(past["survey"])
    dialer.start(0.0)
    assert [a.contact.number for a in dialer.dial(4, 0.0)] == ["4"]


def test_a_number_left_pending_is_read_back_with_its_last_outcome(tmp_path: Path) -> None:
    with RecordStore(tmp_path / "r.db", run="run1") as store:
        store.set_clock_origin(1000.0)
        log = EventLog()
        dialer = Dialer("survey", [Contact("1", {})], (), DialerSettings(attempts=3), log)
        dialer.start(0.0)
        dialer.dial(1, 0.0)
        dialer.not_reached("1", "no_answer", 30.0)
        for record in log:
            store.append(record)
    [row] = RecordReader(tmp_path / "r.db").campaign_progress()
    assert row == CampaignProgress("survey", "1", 1, "no_answer", 1030.0, 0)
