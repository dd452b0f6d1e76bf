"""The PBX features in the KPIs and in `ccbox report`: a known event sequence, its exact
figures, and the same figures from a records database the box wrote."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from appliance.cli import _register_plugins, app
from appliance.events import (
    AgentRung,
    CallAnswered,
    CallbackFailed,
    CallbackGivenUp,
    CallbackOffered,
    CallbackPlaced,
    CallbackRequested,
    CallEnded,
    CallForcedOff,
    CallOffered,
    CallOverflowed,
    CallParked,
    CallPickedUp,
    CallQueued,
    CallTransferred,
    CampaignNumberDone,
    ConferenceJoined,
    ConferenceLeft,
    EndCause,
    OverflowCause,
    Record,
    RingNoAnswer,
    SupervisionChanged,
    SupervisionEnded,
    SupervisionStarted,
    VoicemailLeft,
)
from appliance.kpi import KpiSettings, compute_kpis
from appliance.records import call_details
from appliance.records.store import RecordReader, RecordStore

_register_plugins()
HANGUP = EndCause.CALLER_HANGUP


def answered(call: int, t: float, ani: str, agent: str = "a1") -> list[Record]:
    return [CallOffered(t, call, "pstn", ani, "100", 1), CallQueued(t, call, "sales", 0, 1),
            AgentRung(t + 1, call, "sales", agent), CallAnswered(t + 5, call, "sales", agent, 5.0)]


def day() -> list[Record]:
    """Six calls and the features' own records, every new figure moved."""
    return [
        # 1: a blind transfer to a queue, listened to then whispered to by s1.
        *answered(1, 0, "0301"), CallTransferred(20, 1, "a1", "support"),
        CallQueued(20, 1, "support", 0, 1), AgentRung(21, 1, "support", "a2"),
        CallAnswered(25, 1, "support", "a2", 10.0),
        SupervisionStarted(30, 1, "s1", "a2", "listen"), SupervisionChanged(35, 1, "s1", "whisper"),
        SupervisionEnded(40, 1, "s1", "supervisor_hangup"), CallEnded(60, 1, HANGUP),
        # 2: a blind transfer to a2 not taken, recalled to a1.
        *answered(2, 100, "0302"), CallTransferred(120, 2, "a1", "agent:a2"),
        CallQueued(120, 2, "agent:a2", 0, 1), AgentRung(120, 2, "agent:a2", "a2"),
        RingNoAnswer(135, 2, "agent:a2", "a2"), CallQueued(135, 2, "agent:a1", 0, 1),
        AgentRung(135, 2, "agent:a1", "a1"), CallAnswered(138, 2, "agent:a1", "a1", 23.0),
        CallEnded(190, 2, HANGUP),
        # 3: an attended transfer to a2, whom s1 barges in on and forces off.
        *answered(3, 200, "0303"), CallTransferred(240, 3, "a1", "agent:a2"),
        CallQueued(240, 3, "agent:a2", 0, 1), CallAnswered(240, 3, "agent:a2", "a2", 5.0),
        SupervisionStarted(260, 3, "s1", "a2", "barge"), CallForcedOff(270, 3, "a2", "s1"),
        CallEnded(270, 3, EndCause.AGENT_HANGUP), SupervisionEnded(270, 3, "s1", "call_ended"),
        # 4: 0301 again (call 1 not resolved), picked up by a2 from a1's phone, then parked
        # and the caller hangs up there.
        CallOffered(300, 4, "pstn", "0301", "100", 1), CallQueued(300, 4, "sales", 0, 1),
        AgentRung(301, 4, "sales", "a1"), CallPickedUp(304, 4, "a2", "a1", True),
        AgentRung(304, 4, "sales", "a2"), CallAnswered(304, 4, "sales", "a2", 4.0),
        CallParked(320, 4, "a2", 701, "sales"), CallEnded(340, 4, HANGUP),
        # 5: a callback connected 110 s after the caller first queued.
        CallOffered(400, 5, "pstn", "0305", "100", 1), CallQueued(400, 5, "sales", 0, 1),
        CallbackOffered(460, 5, "sales"), CallbackRequested(465, 5, "sales", "0305"),
        AgentRung(498, 5, "sales", "a1"), CallbackPlaced(500, 5, "0305", 1, "a1"),
        CallAnswered(510, 5, "sales", "a1", 110.0), CallEnded(600, 5, HANGUP),
        # 6: a callback given up.
        CallOffered(700, 6, "pstn", "0306", "100", 1), CallQueued(700, 6, "sales", 0, 1),
        CallbackOffered(710, 6, "sales"), CallbackRequested(712, 6, "sales", "0306"),
        CallbackPlaced(720, 6, "0306", 1, ""), CallbackFailed(750, 6, 1, "busy"),
        CallbackGivenUp(750, 6, 1), CallEnded(750, 6, EndCause.CALLBACK_GIVEN_UP),
        # 7: to voicemail, a message left.
        CallOffered(760, 7, "pstn", "0307", "100", 1), CallQueued(760, 7, "sales", 0, 1),
        CallOverflowed(790, 7, "sales", OverflowCause.MAX_WAIT, "voicemail"),
        CallEnded(800, 7, EndCause.VOICEMAIL), VoicemailLeft(800, 7, "sales", "0307", 12.0, ""),
        # A conference room: three joins of two parties.
        ConferenceJoined(800, "1000", -5, "a3"), ConferenceJoined(805, "1000", -6, "s1"),
        ConferenceLeft(865, "1000", -5, "a3"), ConferenceLeft(865, "1000", -6, "s1"),
        ConferenceJoined(900, "1000", -7, "a3"), ConferenceLeft(910, "1000", -7, "a3"),
        # A campaign's numbers done.
        CampaignNumberDone(950, "renewals", "0401", "connected", 1),
        CampaignNumberDone(960, "renewals", "0402", "no_answer", 3),
        CampaignNumberDone(970, "renewals", "0403", "connected", 2),
    ]


def test_the_features_figures_of_a_known_day() -> None:
    report = compute_kpis(day(), KpiSettings())
    c = report.center
    assert (c.offered, c.answered, c.transferred) == (7, 5, 3)
    assert (c.transferred_to_queue, c.transferred_to_agent, c.transferred_attended,
            c.recalls) == (1, 1, 1, 1)
    assert (c.transfer_rate_queue, c.transfer_rate_agent, c.transfer_rate_attended) == (
        0.2, 0.2, 0.2)
    assert (c.callbacks_offered, c.callbacks_requested, c.callbacks_connected,
            c.callback_given_up, c.callbacks_within_sl, c.callback_service_level) == (
        2, 2, 1, 1, 0, 0.0)
    assert (c.parked, c.picked_up) == (1, 1)
    sales = report.queues["sales"]
    assert (sales.transferred_to_queue, sales.transferred_to_agent,
            sales.transferred_attended, sales.recalls) == (1, 1, 1, 1)
    assert (sales.callbacks_offered, sales.callbacks_requested, sales.callbacks_connected,
            sales.callback_given_up, sales.callback_service_level) == (2, 2, 1, 1, 0.0)
    assert report.queues["support"].transferred == 0
    r = report.resolution
    assert r is not None
    assert (r.calls, r.repeated, r.first_call_resolution) == (7, 1, 6 / 7)
    assert (r.repeat_answers, r.by_last_agent) == (1, 1)  # 0301 last answered by a2
    f = report.features
    assert f is not None
    s1 = f.supervisors["s1"]
    assert (s1.sessions, s1.listen, s1.whisper, s1.barge, s1.forced_off, s1.mean_seconds) == (
        2, 1, 1, 1, 1, 10.0)
    room = f.rooms["1000"]
    assert (room.joins, room.parties, room.mean_seconds) == (3, 2, 45.0)
    renewals = f.campaigns["renewals"]
    assert (renewals.numbers_done, renewals.connected, renewals.attempts) == (3, 2, 6)
    assert renewals.outcomes == {"connected": 2, "no_answer": 1}
    assert report.voicemail is not None and report.voicemail.mailboxes["sales"].messages == 1


def test_a_callback_connected_within_the_threshold_counts_in_its_service_level() -> None:
    records = [CallOffered(0, 1, "pstn", "0301", "100", 1), CallQueued(0, 1, "sales", 0, 1),
               CallbackRequested(3, 1, "sales", "0301"), AgentRung(8, 1, "sales", "a1"),
               CallbackPlaced(9, 1, "0301", 1, "a1"), CallAnswered(15, 1, "sales", "a1", 15.0),
               CallEnded(60, 1, HANGUP)]
    c = compute_kpis(records, KpiSettings()).center
    assert (c.callbacks_within_sl, c.callback_service_level) == (1, 1.0)
    assert compute_kpis(records, KpiSettings(default_sl_threshold=10)).center \
        .callback_service_level == 0.0


def test_first_call_resolution_counts_a_repeat_only_within_the_window() -> None:
    records = [*answered(1, 0, "0301"), CallEnded(60, 1, HANGUP),
               *answered(2, 3661, "0301"), CallEnded(3700, 2, HANGUP)]  # 3601 s on
    hour = compute_kpis(records, KpiSettings(repeat_window=3600)).resolution
    day_ = compute_kpis(records, KpiSettings()).resolution
    assert hour is not None and (hour.calls, hour.repeated) == (2, 0)
    assert day_ is not None and (day_.calls, day_.repeated, day_.first_call_resolution) == (
        2, 1, 0.5)


def test_withheld_numbers_are_not_judged() -> None:
    records = [*answered(1, 0, "anonymous"), CallEnded(60, 1, HANGUP),
               *answered(2, 100, "anonymous"), CallEnded(160, 2, HANGUP)]
    assert compute_kpis(records, KpiSettings()).resolution is None


def test_a_site_without_the_features_reads_as_before() -> None:
    report = compute_kpis([*answered(1, 0, "anonymous"), CallEnded(60, 1, HANGUP)],
                          KpiSettings())
    assert report.features is None and report.resolution is None
    assert "features" not in report.to_dict() and "resolution" not in report.to_dict()


def store(path: Path, records: list[Record]) -> Path:
    with RecordStore(path, "20261207T080000-4242") as writer:
        for record in records:
            writer.append(record)
    return path


def test_the_box_report_shows_the_features_from_its_records(tmp_path: Path) -> None:
    path = store(tmp_path / "records.sqlite", day())
    result = CliRunner().invoke(app, ["report", str(path), "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)["report"]
    expected = compute_kpis(day(), KpiSettings(clock_origin=8 * 3600.0)).to_dict()
    assert document["features"] == expected["features"]
    assert document["resolution"] == expected["resolution"]
    assert document["voicemail"] == {"sales": {"messages": 1, "mean_seconds": 12.0}}
    assert document["center"]["transferred_attended"] == 1
    shown = CliRunner().invoke(app, ["report", str(path)]).stdout
    for said in ("Transfer rate, attended", "Transfers not taken, recalled",
                 "Callback service level", "Calls picked up", "First-call resolution",
                 "CB requested", "CB SL", "Supervisor", "Whisper", "Forced off", "Room",
                 "Parties", "Campaign", "Numbers done", "No answer", "Mailbox",
                 "Messages left"):
        assert said in shown, said


def test_the_detail_rows_the_box_wrote_hold_the_features(tmp_path: Path) -> None:
    path = store(tmp_path / "records.sqlite", day())
    rows = {d.call: d for d in RecordReader(path).calls()}
    assert list(rows.values()) == call_details(day())
    assert (rows[2].transfers_to_agent, rows[2].recalls) == (1, 1)
    assert (rows[3].transfers_attended, rows[3].forced_off_by, rows[3].supervision_modes) == (
        1, "s1", "barge")
    assert (rows[4].picked_up_by, rows[4].pickup, rows[4].parks) == ("a2", "directed", 1)
    assert (rows[5].callback_outcome, rows[6].callback_outcome) == ("connected", "given_up")
    assert rows[1].supervised_by == "s1"
