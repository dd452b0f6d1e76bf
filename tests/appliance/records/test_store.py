"""The SQLite record store: round trips, batching, bad records, reopening."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

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
    ForwardingChanged,
    OutsideCallAnswered,
    OutsideCallEnded,
    OutsideCallStarted,
    Record,
    RecordingStarted,
    new,
)
from appliance.records import SCHEMA, CallDetail, RecordReader, RecordStore, call_details
from appliance.records.bench import sample_records
from appliance.records.outside import OutsideCallDetail, outside_call_details
from sim.world import RunSpec, World
from tests.appliance.records.test_cdr import EVENTFUL_SITE
from tests.appliance.test_reduce_ivr import day


def simulated_records(hours: float = 1, seed: int = 3) -> list[Record]:
    return World(EVENTFUL_SITE, RunSpec(hours=hours, seed=seed)).run().records


def store_all(path: Path, run: str, records: list[Record]) -> None:
    with RecordStore(path, run=run) as store:
        for record in records:
            store.append(record)


def wait_for(condition: Callable[[], bool], within: float = 10.0) -> bool:
    """Poll until ``condition()`` holds; False if it still does not after ``within`` s."""
    give_up = time.monotonic() + within
    while not condition():
        if time.monotonic() > give_up:
            return False
        time.sleep(0.01)
    return True


def columns(path: Path, table: str) -> tuple[str, ...]:
    with closing(sqlite3.connect(path)) as db:
        return tuple(row[1] for row in db.execute(f"PRAGMA table_info({table})"))


def test_schema_is_plain_sql_statements_whose_call_columns_are_the_detail_fields(
    tmp_path: Path,
) -> None:
    assert all(statement.lstrip().startswith("CREATE TABLE") for statement in SCHEMA)
    store_all(tmp_path / "r.db", "run1", [])
    assert columns(tmp_path / "r.db", "calls") == ("run", *CallDetail._fields)
    assert columns(tmp_path / "r.db", "events") == (
        "run", "seq", "t", "type", "call", "agent", "json"
    )  # fmt: skip


def test_events_and_details_come_back_as_they_went_in(tmp_path: Path) -> None:
    records = simulated_records()
    store_all(tmp_path / "r.db", "run1", records)
    reader = RecordReader(tmp_path / "r.db")
    assert reader.runs() == ["run1"]
    assert reader.events("run1") == records
    details = reader.calls("run1")
    assert details == sorted(call_details(records))  # by call id, not by end
    assert all(type(d.cause) is EndCause and type(d.abandoned) is bool for d in details)


def test_calls_routing_sent_away_read_back_with_their_causes(tmp_path: Path) -> None:
    causes = (EndCause.NO_ROUTE, EndCause.BLACKLISTED, EndCause.CLOSED,
              EndCause.AGENT_UNREACHABLE)
    records: list[Record] = []
    for call, cause in enumerate(causes, 1):
        records += [CallOffered(call, call, "pstn", "555", "800", 1),
                    CallEnded(call + 0.5, call, cause)]
    store_all(tmp_path / "r.db", "run1", records)
    with closing(sqlite3.connect(tmp_path / "r.db")) as db:
        stored = [row[0] for row in db.execute("SELECT cause FROM calls ORDER BY call")]
    assert stored == ["no_route", "blacklisted", "closed", "agent_unreachable"]
    assert [d.cause for d in RecordReader(tmp_path / "r.db").calls("run1")] == list(causes)


def test_event_columns_are_filled_from_the_record(tmp_path: Path) -> None:
    records: list[Record] = [
        AgentStateChanged(0.0, "a1", AgentState.READY, "", 0),
        CallOffered(1.5, 1, "pstn", "555", "800", 1),
    ]
    store_all(tmp_path / "r.db", "run1", records)
    with closing(sqlite3.connect(tmp_path / "r.db")) as db:
        rows = db.execute("SELECT seq, t, type, call, agent FROM events ORDER BY seq").fetchall()
    assert rows == [(1, 0.0, "AgentStateChanged", None, "a1"), (2, 1.5, "CallOffered", 1, None)]


def test_subscribed_store_gets_every_record_appended_to_the_log(tmp_path: Path) -> None:
    log = EventLog()
    with RecordStore(tmp_path / "r.db", run="live") as store:
        store.subscribe_to(log)
        for record in sample_records(80):
            log.append(record)
    assert RecordReader(tmp_path / "r.db").events("live") == log.records


def test_writer_keeps_up_with_a_hundred_thousand_records(tmp_path: Path) -> None:
    records = sample_records(100_000)
    with RecordStore(tmp_path / "r.db", run="big") as store:
        for record in records:
            store.append(record)
        store.flush(timeout=300.0)
        assert store.dropped == 0
        with closing(sqlite3.connect(tmp_path / "r.db")) as db:
            events = db.execute("SELECT COUNT(*), MIN(seq), MAX(seq) FROM events").fetchone()
            (calls,) = db.execute("SELECT COUNT(*) FROM calls").fetchone()
    assert events == (len(records), 1, len(records))
    assert calls == sum(type(r) is CallEnded for r in records)


def test_an_ended_call_is_committed_without_a_flush(tmp_path: Path) -> None:
    with RecordStore(tmp_path / "r.db", run="r") as store:
        reader = RecordReader(tmp_path / "r.db")
        for record in sample_records(8):  # one whole call
            store.append(record)
        assert wait_for(lambda: len(reader.calls("r")) == 1)


def test_records_without_an_ended_call_are_committed_by_the_timer(tmp_path: Path) -> None:
    with RecordStore(tmp_path / "r.db", run="r") as store:
        reader = RecordReader(tmp_path / "r.db")
        store.append(AgentStateChanged(0.0, "a1", AgentState.READY, "", 0))
        assert wait_for(lambda: len(reader.events("r")) == 1)


def test_a_mark_is_reported_once_what_it_covers_is_committed(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    with RecordStore(tmp_path / "r.db", run="r") as store:
        reader = RecordReader(tmp_path / "r.db")
        # What the reader sees when the store reports the mark: everything appended before it.
        store.on_durable = lambda mark: seen.append((mark, len(reader.events("r"))))
        log = EventLog(retain=False)
        store.subscribe_to(log)
        assert log.durability is store
        records = sample_records(12)
        for record in records[:5]:
            log.append(record)
        first = store.mark()
        for record in records[5:]:
            log.append(record)
        second = store.mark()
        assert wait_for(lambda: store.durable == second)
    assert first < second
    assert seen[-1] == (second, 12)
    assert all(count >= 5 for mark, count in seen if mark == first)


def test_marks_are_reported_even_when_their_records_could_not_be_stored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR), RecordStore(tmp_path / "r.db", run="r") as store:
        store.append(new(CallEnded, (1.0, 1)))  # a field missing: dropped
        mark = store.mark()
        assert wait_for(lambda: store.durable == mark)
        assert store.dropped == 1


def test_a_failing_listener_is_logged_and_marks_go_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(mark: int) -> None:
        raise RuntimeError("listener broke")

    with caplog.at_level(logging.ERROR), RecordStore(tmp_path / "r.db", run="r") as store:
        store.on_durable = broken
        store.mark()
        later = store.mark()
        assert wait_for(lambda: store.durable == later)
    assert any("listener" in r.getMessage() for r in caplog.records)


def test_an_answered_call_has_a_row_in_progress_until_it_ends(tmp_path: Path) -> None:
    records = sample_records(8)  # offered 1, answered 4, ended 91
    answered = next(i for i, r in enumerate(records) if type(r) is CallAnswered)
    with RecordStore(tmp_path / "r.db", run="r") as store:
        reader = RecordReader(tmp_path / "r.db")
        for record in records[: answered + 1]:
            store.append(record)
        store.append(RecordingStarted(4.0, 1, "call1.wav"))
        store.flush()
        (so_far,) = reader.calls_in_progress("r")
        assert reader.calls("r") == []  # not ended: not among the detail records
        assert (so_far.answered_at, so_far.agent, so_far.ended_at) == (4.0, "a1", 4.0)
        assert (so_far.recording, so_far.cause) == ("call1.wav", EndCause.INTERRUPTED)
        for record in records[answered + 1:]:
            store.append(record)
        store.flush()
        (ended,) = reader.calls("r")
        assert reader.calls_in_progress("r") == []
    assert ended.cause is EndCause.CALLER_HANGUP and ended.recording == "call1.wav"
    assert ended == call_details([*records[: answered + 1],
                                  RecordingStarted(4.0, 1, "call1.wav"),
                                  *records[answered + 1:]])[0]


def test_a_call_never_answered_has_no_row_until_it_ends(tmp_path: Path) -> None:
    with RecordStore(tmp_path / "r.db", run="r") as store:
        store.append(CallOffered(0.0, 1, "pstn", "5551234", "800", 1))
        store.flush()
        reader = RecordReader(tmp_path / "r.db")
        assert reader.calls_in_progress("r") == [] and reader.calls("r") == []


def test_a_record_that_cannot_be_stored_is_logged_and_the_writer_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = sample_records(16)
    short = new(CallEnded, (1.0, 1))  # a field missing
    unserializable = CallOffered(0.0, 99, "pstn", object(), "800", 1)  # type: ignore[arg-type]
    logged = caplog.at_level(logging.ERROR, logger="appliance.records.store")
    with logged, RecordStore(tmp_path / "r.db", run="r") as store:
        for record in [short, *good[:8], unserializable, *good[8:]]:
            store.append(record)
        store.flush()
        assert store.dropped == 2
    reader = RecordReader(tmp_path / "r.db")
    assert reader.events("r") == good
    assert len(reader.calls("r")) == 2
    assert sum("could not be stored" in r.getMessage() for r in caplog.records) == 2


def test_reopening_a_database_appends_a_new_run(tmp_path: Path) -> None:
    first, second = sample_records(16), sample_records(8)
    store_all(tmp_path / "r.db", "monday", first)
    store_all(tmp_path / "r.db", "tuesday", second)
    reader = RecordReader(tmp_path / "r.db")
    assert reader.runs() == ["monday", "tuesday"]
    assert reader.events() == first + second
    assert reader.events("tuesday") == second
    # Call ids restart with every run; (run, call) keeps both call 1s.
    assert [d.call for d in reader.calls()] == [1, 2, 1]
    assert [d.call for d in reader.calls("monday")] == [1, 2]


def test_a_run_id_cannot_be_used_twice(tmp_path: Path) -> None:
    store_all(tmp_path / "r.db", "monday", [])
    with pytest.raises(ValueError, match="already"):
        RecordStore(tmp_path / "r.db", run="monday")


def test_a_run_gets_an_id_when_none_is_given(tmp_path: Path) -> None:
    with RecordStore(tmp_path / "r.db") as store:
        run = store.run
    assert RecordReader(tmp_path / "r.db").runs() == [run]


def test_database_is_in_wal_mode(tmp_path: Path) -> None:
    store_all(tmp_path / "r.db", "r", [])
    with closing(sqlite3.connect(tmp_path / "r.db")) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_synchronous_is_configurable(tmp_path: Path) -> None:
    records = sample_records(8)
    with RecordStore(tmp_path / "r.db", run="r", synchronous="full") as store:
        for record in records:
            store.append(record)
    assert RecordReader(tmp_path / "r.db").events("r") == records
    with pytest.raises(ValueError, match="synchronous"):
        RecordStore(tmp_path / "other.db", synchronous="sometimes")


def test_close_is_idempotent_and_flush_after_close_fails(tmp_path: Path) -> None:
    store = RecordStore(tmp_path / "r.db", run="r")
    store.close()
    store.close()
    with pytest.raises(RuntimeError, match="stopped"):
        store.flush()


def test_reading_a_missing_database_fails_without_creating_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        RecordReader(tmp_path / "none.db")
    assert not (tmp_path / "none.db").exists()


def test_the_clock_origin_of_a_run_is_stored_with_the_records_that_follow(
        tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite"
    with RecordStore(path, "run-1") as store:
        store.set_clock_origin(1_765_094_400.25)
        store.append(CallOffered(1.0, 1, "pstn", "1", "2", 1))
    with RecordStore(path, "run-2"):
        pass
    assert RecordReader(path).clock_origins() == {"run-1": 1_765_094_400.25}


def offers(*times: float) -> list[Record]:
    return [CallOffered(t, call, "pstn", "1", "2", 1) for call, t in enumerate(times, start=1)]


def test_the_bounds_of_each_run_are_its_first_and_last_records(tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite"
    store_all(path, "run-1", offers(2.0, 5.0, 9.5))
    store_all(path, "empty", [])
    store_all(path, "run-2", offers(0.5))
    assert RecordReader(path).bounds() == [("run-1", 2.0, 9.5), ("run-2", 0.5, 0.5)]


def test_events_in_a_time_window_are_chosen_by_the_database(tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite"
    store_all(path, "run-1", offers(1.0, 2.0, 3.0, 4.0))
    store_all(path, "run-2", offers(2.5, 3.5))
    reader = RecordReader(path)
    assert [r.t for r in reader.events("run-1", start=2.0, end=4.0)] == [2.0, 3.0]
    assert [r.t for r in reader.events("run-1", end=2.0)] == [1.0]
    assert [r.t for r in reader.events(start=3.0)] == [3.0, 4.0, 3.5]
    assert reader.events("run-1") == offers(1.0, 2.0, 3.0, 4.0)
    with closing(sqlite3.connect(path)) as db:
        plan = db.execute("EXPLAIN QUERY PLAN SELECT json FROM events e"
                          " WHERE e.run = ? AND e.t >= ? AND e.t < ?", ("run-1", 2, 4)).fetchall()
    assert "events_by_time" in str(plan)


def test_a_database_made_before_the_time_index_gets_it_from_its_next_writer(
        tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite"
    store_all(path, "run-1", offers(1.0, 2.0))
    with closing(sqlite3.connect(path)) as db:
        db.execute("DROP INDEX events_by_time")
    # Read without the index (a reader never changes a database), then reopened by a writer.
    assert [r.t for r in RecordReader(path).events("run-1", start=1.5)] == [2.0]
    store_all(path, "run-2", [])
    with closing(sqlite3.connect(path)) as db:
        names = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "events_by_time" in names
    assert [r.t for r in RecordReader(path).events("run-1", start=1.5)] == [2.0]


def test_a_detail_record_of_an_ivr_call_round_trips(tmp_path: Path) -> None:
    records = day()
    store_all(tmp_path / "r.db", "run1", records)
    details = RecordReader(tmp_path / "r.db").calls("run1")
    assert details == call_details(records)
    assert details[0].ivr_path == "main/menu > main/find > main/done > completed"
    assert details[0].language == "en"


def test_a_database_made_before_the_ivr_columns_gets_them_from_its_next_writer(
        tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite"
    store_all(path, "run-1", [])
    with closing(sqlite3.connect(path)) as db:
        # sticky_agent, survey_score, parks, the voicemail and the features' columns came
        # after the IVR's: a database this old lacks them too.
        for column in ("ivr_path", "ivr_exit", "language", "ivr_variables", "ivr_lookups",
                       "ivr_nodes", "sticky_agent", "survey_score", "parks", "voicemail_box",
                       "voicemail_file", "transfers_to_queue", "transfers_to_agent",
                       "transfers_attended", "transfers_to_extension", "transfers_outside",
                       "recalls", "picked_up_by", "pickup",
                       "callback_number", "callback_attempts", "callback_outcome",
                       "supervised_by", "supervision_modes", "forced_off_by"):
            db.execute(f"ALTER TABLE calls DROP COLUMN {column}")
    assert "ivr_path" not in columns(path, "calls")
    store_all(path, "run-2", offers(1.0))
    assert columns(path, "calls") == ("run", *CallDetail._fields)


def test_outside_calls_have_their_own_table_read_back_in_the_order_they_started(
    tmp_path: Path,
) -> None:
    records: list[Record] = [
        OutsideCallStarted(10.0, -1, "pstn", "0301234", "a1", "dialled"),
        OutsideCallStarted(11.0, -2, "pstn", "00441234", "a2", "dialled"),
        OutsideCallEnded(11.0, -2, "barred", 403),
        OutsideCallAnswered(16.0, -1),
        OutsideCallEnded(76.0, -1, "far_hangup", 200),
    ]
    store_all(tmp_path / "r.db", "run1", records)
    assert columns(tmp_path / "r.db", "outside_calls") == ("run", *OutsideCallDetail._fields)
    reader = RecordReader(tmp_path / "r.db")
    assert reader.outside_calls("run1") == list(outside_call_details(records))[::-1]
    assert [(d.call, d.outcome) for d in reader.outside_calls()] == [
        (-1, "answered"), (-2, "barred")]
    assert reader.calls() == []  # queue calls' rows are untouched


def test_outside_calls_of_a_database_without_their_table_are_none(tmp_path: Path) -> None:
    with closing(sqlite3.connect(tmp_path / "old.db")) as db:
        db.execute("CREATE TABLE runs (run TEXT PRIMARY KEY, position INTEGER)")
    assert RecordReader(tmp_path / "old.db").outside_calls() == []


def test_the_last_forwarding_change_of_each_phone_outlives_its_run(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    store_all(path, "run1", [ForwardingChanged(1.0, "a1", "always", "a2"),
                             ForwardingChanged(2.0, "a1", "busy", "90301234")])
    store_all(path, "run2", [ForwardingChanged(0.5, "a1", "always", "")])
    assert RecordReader(path).forwarding() == [
        ForwardingChanged(2.0, "a1", "busy", "90301234"),
        ForwardingChanged(0.5, "a1", "always", "")]


def test_a_voicemail_calls_row_names_its_message(tmp_path: Path) -> None:
    from appliance.events import VoicemailLeft

    path = tmp_path / "records.sqlite"
    store_all(path, "r1", [CallOffered(0.0, 1, "pstn", "5551234", "800", 1),
                           CallEnded(9.0, 1, EndCause.VOICEMAIL),
                           VoicemailLeft(9.0, 1, "night", "5551234", 6.5, "night/m1.wav"),
                           CallOffered(10.0, 2, "pstn", "5551235", "800", 1),
                           CallEnded(12.0, 2, EndCause.ABANDONED)])
    first, second = RecordReader(path).calls("r1")
    assert (first.voicemail_box, first.voicemail_file) == ("night", "night/m1.wav")
    assert (second.voicemail_box, second.voicemail_file) == (None, None)


def test_answers_since_a_moment_are_read_on_the_wall_clock_across_runs(tmp_path: Path) -> None:
    def answered(call: int, t: float, ani: str, agent: str) -> list[Record]:
        return [CallOffered(t, call, "pstn", ani, "100", 1), CallQueued(t, call, "q", 0, 1),
                AgentRung(t, call, "q", agent), CallAnswered(t + 2, call, "q", agent, 2.0),
                CallEnded(t + 60, call, EndCause.CALLER_HANGUP)]

    path = tmp_path / "r.db"
    for run, origin, records in (
            ("run-1", 1000.0, answered(1, 0, "0301", "a1") + answered(2, 100, "0302", "a2")),
            ("run-2", 5000.0, answered(1, 10, "0301", "a3")),
            ("run-3", None, answered(1, 10, "0303", "a4"))):  # no wall clock: left out
        with RecordStore(path, run) as store:
            if origin is not None:
                store.set_clock_origin(origin)
            for record in records:
                store.append(record)
    reader = RecordReader(path)
    assert reader.answers_since(0.0) == [("0301", "a1", 1002.0), ("0302", "a2", 1102.0),
                                         ("0301", "a3", 5012.0)]
    assert reader.answers_since(1102.0) == [("0302", "a2", 1102.0), ("0301", "a3", 5012.0)]
