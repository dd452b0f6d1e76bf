"""Campaign numbers' final outcomes: rows from the event log, in their own records table."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from appliance.cli import app
from appliance.eventlog import EventLog
from appliance.pbx.features.campaign import Contact, Dialer, DialerSettings
from appliance.records import RecordReader, RecordStore
from appliance.records.campaign import CampaignNumberDetail, campaign_number_row


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
