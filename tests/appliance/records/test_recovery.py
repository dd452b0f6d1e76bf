"""Calls left up by a killed appliance are closed, with their recordings repaired, once."""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import wave
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
    Record,
    RecordingStarted,
    RecordingStopped,
)
from appliance.media.recording import wav_header
from appliance.records import SCHEMA, RecordReader, RecordStore, call_details
from appliance.records.recovery import (
    RecordingsAccount,
    Recovered,
    account_for_recordings,
    close_interrupted_calls,
)

ROOT = Path(__file__).resolve().parents[3]
RATE = 8000
RUN = "killed"
LAST_T = 3.5  # the last event of `before_the_kill`
KILL_AFTER = 2.5  # seconds of audio written before the kill: past two header rewrites


def finished_call(call: int, t: float) -> list[Record]:
    return [
        CallOffered(t, call, "pstn", "5551000", "800", 1),
        CallQueued(t + 0.5, call, "sales", 0, 1),
        AgentRung(t + 0.5, call, "sales", "a1"),
        CallAnswered(t + 1.0, call, "sales", "a1", 0.5),
        CallEnded(t + 2.0, call, EndCause.CALLER_HANGUP),
    ]


def answered_call(call: int, t: float, wav: str) -> list[Record]:
    """Offered at ``t``, answered and recording from ``t + 0.5``, never ended."""
    return [
        CallOffered(t, call, "pstn", "5552000", "800", 1),
        CallQueued(t, call, "sales", 0, 1),
        AgentRung(t, call, "sales", "a2"),
        CallAnswered(t + 0.5, call, "sales", "a2", 0.5),
        RecordingStarted(t + 0.5, call, wav),
    ]


def queued_call(call: int, t: float) -> list[Record]:
    return [CallOffered(t, call, "pstn", "5553000", "800", 1), CallQueued(t, call, "sales", 0, 1)]


def before_the_kill(wav: str) -> list[Record]:
    """Call 1 ended, call 2 answered at 2.0 and recorded in ``wav``, call 3 queued at 2.5."""
    return [
        *finished_call(1, 0.0)[:-1],
        *answered_call(2, 1.5, wav),
        finished_call(1, 0.0)[-1],
        *queued_call(3, 2.5),
        AgentStateChanged(LAST_T, "a1", AgentState.READY, "", 0),
    ]


def store_run(database: Path, run: str, records: list[Record]) -> None:
    """A run that stopped with the calls of ``records`` that have no CallEnded still up."""
    log = EventLog(retain=False)
    with RecordStore(database, run=run) as store:
        store.subscribe_to(log)
        for record in records:
            log.append(record)


def seqs(database: Path, run: str) -> list[int]:
    with closing(sqlite3.connect(database)) as db:
        return [row[0] for row in db.execute("SELECT seq FROM events WHERE run = ?", (run,))]


def read_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


# The appliance: stores the records, then records call 2 at ten times real time until killed.
CHILD = textwrap.dedent(f"""
    import sys, time
    import numpy as np
    from appliance.eventlog import EventLog
    from appliance.storage.wavfile import open_recording
    from appliance.records import RecordStore
    from tests.appliance.records.test_recovery import before_the_kill

    database, wav = sys.argv[1], sys.argv[2]
    log = EventLog(retain=False)
    store = RecordStore(database, run={RUN!r})
    store.subscribe_to(log)
    for record in before_the_kill(wav):
        log.append(record)
    store.flush()
    rate = {RATE}
    tone = np.round(6000 * np.sin(2 * np.pi * 440 * np.arange(rate // 10) / rate))
    recorder = open_recording(wav, rate)
    print("ready", flush=True)
    started = time.monotonic()
    while time.monotonic() - started < 30:  # ends the child even if it is never killed
        recorder.write(tone.astype(np.int16))
        print(f"{{recorder.seconds_written:.3f}}", flush=True)
        time.sleep(0.01)
""")


def kill_while_recording(database: Path, wav: Path) -> float:
    """Run the child until it has recorded KILL_AFTER seconds, SIGKILL it; its last figure."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(database), str(wav)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    watchdog = threading.Timer(60.0, child.kill)  # bounds the test if the child hangs
    watchdog.start()
    try:
        assert child.stdout is not None and child.stderr is not None
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        printed = ["0"]
        for line in child.stdout:
            printed.append(line)
            if float(line) > KILL_AFTER:
                os.kill(child.pid, signal.SIGKILL)
                break
        child.wait(timeout=30.0)
        printed.extend(child.stdout.read().split())
    finally:
        watchdog.cancel()
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30.0)
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                stream.close()
    assert child.returncode == -signal.SIGKILL
    return float(printed[-1])


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_calls_up_at_a_kill_are_closed_and_their_recording_repaired(tmp_path: Path) -> None:
    database, wav = tmp_path / "records.db", tmp_path / "call2.wav"
    last = kill_while_recording(database, wav)
    reader = RecordReader(database)
    before = before_the_kill(str(wav))
    assert reader.events(RUN) == before
    (finished,) = reader.calls(RUN)

    recovered = close_interrupted_calls(database)

    (recorded, queued) = recovered
    seconds = recorded.recording_seconds
    assert recorded == Recovered(RUN, 2, str(wav), seconds, agent="a2")
    assert queued == Recovered(RUN, 3, None, None)
    # What the child had handed the kernel: all but at most the last second (not yet synced),
    # and at most one 0.1 s chunk more than it printed (a kill between write and print).
    assert seconds is not None and last - 1.0 <= seconds <= last + 0.1 + 1e-9
    assert read_seconds(wav) == seconds  # parses with `wave`, with the duration repaired
    cut_off = 2.0 + seconds  # recording started at 2.0; later than the last event (3.5)
    assert cut_off > LAST_T
    assert reader.events(RUN) == [
        *before,
        RecordingStopped(cut_off, 2, "interrupted"),
        CallEnded(cut_off, 2, EndCause.INTERRUPTED),
        CallEnded(LAST_T, 3, EndCause.INTERRUPTED),
    ]
    assert seqs(database, RUN) == list(range(1, len(before) + 4))

    calls = reader.calls(RUN)
    assert calls == sorted(call_details(reader.events(RUN)))  # as the run would have stored them
    assert calls[0] == finished
    assert calls[1] == calls[1]._replace(
        answered_at=2.0,
        agent="a2",
        ended_at=cut_off,
        cause=EndCause.INTERRUPTED,
        wait=0.5,
        talk=cut_off - 2.0,
        abandoned=False,
        recording=str(wav),
        recording_status="interrupted",
    )
    assert calls[2] == calls[2]._replace(
        queued_at=2.5,
        answered_at=None,
        ended_at=LAST_T,
        cause=EndCause.INTERRUPTED,
        wait=LAST_T - 2.5,
        talk=0.0,
        abandoned=False,
        recording=None,
        recording_status=None,
    )
    assert reader.integrity_check() == ["ok"]


def test_a_second_closing_changes_nothing(tmp_path: Path) -> None:
    database, wav = tmp_path / "records.db", tmp_path / "call2.wav"
    store_run(database, RUN, before_the_kill(str(wav)))
    wav.write_bytes(b"")  # broken: closed all the same
    assert [done.call for done in close_interrupted_calls(database)] == [2, 3]
    reader = RecordReader(database)
    events, calls = reader.events(RUN), reader.calls(RUN)

    assert close_interrupted_calls(database) == []
    assert reader.events(RUN) == events
    assert reader.calls(RUN) == calls
    assert wav.read_bytes() == b""
    assert reader.integrity_check() == ["ok"]


def test_a_missing_or_broken_recording_is_logged_and_its_call_closed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = tmp_path / "records.db"
    missing, broken = tmp_path / "missing.wav", tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF....not a wave at all")
    store_run(
        database, "r", [*answered_call(1, 0.0, str(missing)), *answered_call(2, 1.0, str(broken))]
    )

    with caplog.at_level(logging.WARNING, logger="appliance.records.recovery"):
        recovered = close_interrupted_calls(database)

    assert recovered == [
        Recovered("r", 1, str(missing), None, "a2"),
        Recovered("r", 2, str(broken), None, "a2"),
    ]
    assert str(missing) in caplog.text and str(broken) in caplog.text
    for detail in RecordReader(database).calls("r"):
        # Nothing tells when they were cut off but the last event, the second RecordingStarted.
        assert detail.ended_at == 1.5
        assert detail.cause == EndCause.INTERRUPTED
        assert detail.recording_status == "interrupted"
        assert detail.talk == 1.5 - detail.answered_at


def test_every_run_is_closed_on_its_own_seq_and_clock(tmp_path: Path) -> None:
    database = tmp_path / "records.db"
    stopped = [*answered_call(1, 0.0, "one.wav"), RecordingStopped(4.0, 1, "disk_low")]
    store_run(database, "first", [*stopped, *queued_call(2, 5.0)])
    store_run(database, "second", [*finished_call(1, 0.0), *answered_call(2, 2.0, "two.wav")])
    repaired: list[str] = []

    def repair(file: str) -> float:
        repaired.append(file)
        return 10.0

    recovered = close_interrupted_calls(database, repair)

    assert repaired == ["one.wav", "two.wav"]
    assert recovered == [
        Recovered("first", 1, "one.wav", 10.0, "a2"),
        Recovered("first", 2, None, None),
        Recovered("second", 2, "two.wav", 10.0, "a2"),
    ]
    reader = RecordReader(database)
    # A recording stopped before the kill keeps its reason, and its length (the fake 10 s) does
    # not date the kill: the run's last event does.
    first = reader.events("first")
    assert first[-2:] == [
        CallEnded(5.0, 1, EndCause.INTERRUPTED),
        CallEnded(5.0, 2, EndCause.INTERRUPTED),
    ]
    assert [d.recording_status for d in reader.calls("first")] == ["disk_low", None]
    assert reader.events("second")[-2:] == [
        RecordingStopped(12.5, 2, "interrupted"),
        CallEnded(12.5, 2, EndCause.INTERRUPTED),
    ]
    assert [d.cause for d in reader.calls("second")] == [
        EndCause.CALLER_HANGUP,
        EndCause.INTERRUPTED,
    ]
    assert seqs(database, "first") == list(range(1, len(first) + 1))
    assert seqs(database, "second") == list(range(1, len(reader.events("second")) + 1))


def test_a_new_run_after_the_closing_is_stored_as_usual(tmp_path: Path) -> None:
    database = tmp_path / "records.db"
    store_run(database, "old", queued_call(1, 0.0))
    close_interrupted_calls(database)
    store_run(database, "new", finished_call(1, 0.0))
    reader = RecordReader(database)
    assert reader.runs() == ["old", "new"]
    assert [(d.call, d.cause) for d in reader.calls()] == [
        (1, EndCause.INTERRUPTED),
        (1, EndCause.CALLER_HANGUP),
    ]
    assert close_interrupted_calls(database) == []


def test_a_missing_database_is_not_created(tmp_path: Path) -> None:
    assert close_interrupted_calls(tmp_path / "none.db") == []
    assert not (tmp_path / "none.db").exists()


def test_a_database_without_runs_has_nothing_to_close(tmp_path: Path) -> None:
    database = tmp_path / "records.db"
    with closing(sqlite3.connect(database)) as db:
        for statement in SCHEMA:
            db.execute(statement)
    assert close_interrupted_calls(str(database)) == []
    assert RecordReader(database).runs() == []
    assert RecordReader(database).integrity_check() == ["ok"]


# ---- recordings that no detail record names ---------------------------------------------------


def header_only(path: Path) -> Path:
    """A recording as a kill right after its creation leaves it: a header and no audio."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(wav_header(RATE, 1, 0))
    return path


def test_recordings_of_no_record_are_attached_to_their_call_or_moved_aside(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database, folder = tmp_path / "records.db", tmp_path / "recordings"
    day = folder / "2026-12-07"
    named = header_only(day / "r-call1.wav")  # its record names it
    # Call 2 was answered and recorded, but the kill came before RecordingStarted was stored.
    unnamed = header_only(day / "r-call2.wav")
    unnamed_parties = [header_only(day / f"r-call2-{party}.wav") for party in ("caller", "agent")]
    unknown_call = header_only(day / "r-call9.wav")  # not even its CallOffered was stored
    unknown_run = header_only(day / "gone-call1.wav")
    notes = day / "notes.wav.txt"
    notes.write_text("an operator's file")
    store_run(database, "r", [*answered_call(1, 0.0, str(named)), *queued_call(2, 1.0)])
    close_interrupted_calls(database)

    with caplog.at_level(logging.WARNING, logger="appliance.records.recovery"):
        account = account_for_recordings(database, folder)

    assert account.attached == [str(unnamed)]
    orphans = folder / "orphans" / "2026-12-07"
    assert sorted(account.orphans) == sorted([
        (str(unknown_run), str(orphans / "gone-call1.wav")),
        (str(unknown_call), str(orphans / "r-call9.wav")),
    ])
    assert sorted(p.name for p in orphans.iterdir()) == ["gone-call1.wav", "r-call9.wav"]
    assert named.exists() and unnamed.exists() and all(p.exists() for p in unnamed_parties)
    assert notes.exists()
    assert "r-call9.wav" in caplog.text and "gone-call1.wav" in caplog.text
    details = {d.call: d for d in RecordReader(database).calls("r")}
    assert details[2].recording == str(unnamed)
    assert details[2].recording_status == "interrupted"
    assert details[1].recording == str(named)
    # A second start finds everything accounted for, the orphans folder included.
    assert account_for_recordings(database, folder) == RecordingsAccount([], [])


def test_a_recording_beside_one_its_record_names_is_moved_aside(tmp_path: Path) -> None:
    database, folder = tmp_path / "records.db", tmp_path / "recordings"
    kept = header_only(folder / "a" / "r-call1.wav")
    stray = header_only(folder / "b" / "r-call1.wav")  # same name, not the one named
    store_run(database, "r", [*finished_call(1, 0.0)[:-1], RecordingStarted(1.0, 1, str(kept)),
                              finished_call(1, 0.0)[-1]])
    account = account_for_recordings(database, folder)
    assert account.orphans == [(str(stray), str(folder / "orphans" / "b" / "r-call1.wav"))]
    assert kept.exists()


def test_no_database_or_no_folder_changes_nothing(tmp_path: Path) -> None:
    header_only(tmp_path / "rec" / "r-call1.wav")
    assert account_for_recordings(tmp_path / "none.db", tmp_path / "rec") == RecordingsAccount(
        [], []
    )
    assert not (tmp_path / "none.db").exists()
    store_run(tmp_path / "r.db", "r", [])
    assert account_for_recordings(tmp_path / "r.db", tmp_path / "no-folder") == (
        RecordingsAccount([], [])
    )


def test_the_row_an_answered_call_had_in_progress_is_completed(tmp_path: Path) -> None:
    database = tmp_path / "records.db"
    store_run(database, "r", [*answered_call(1, 0.0, "one.wav"), *queued_call(2, 1.0)])
    reader = RecordReader(database)
    (so_far,) = reader.calls_in_progress("r")
    assert (so_far.call, so_far.agent, so_far.recording) == (1, "a2", "one.wav")

    close_interrupted_calls(database, lambda file: 2.0)

    assert reader.calls_in_progress("r") == []
    answered, queued = reader.calls("r")
    assert (answered.agent, answered.answered_at, answered.talk) == ("a2", 0.5, 2.0)
    assert (answered.cause, answered.recording_status) == (EndCause.INTERRUPTED, "interrupted")
    assert queued.answered_at is None


def test_a_recording_cut_off_before_its_header_is_moved_aside_not_attached(
    tmp_path: Path,
) -> None:
    database, folder = tmp_path / "records.db", tmp_path / "recordings"
    empty = folder / "d" / "r-call1.wav"
    empty.parent.mkdir(parents=True)
    empty.write_bytes(b"")  # killed between creating the file and writing its header
    agent_side = header_only(folder / "d" / "r-call1-agent.wav")
    store_run(database, "r", queued_call(1, 0.0))
    close_interrupted_calls(database)

    account = account_for_recordings(database, folder)

    assert account.attached == []
    assert sorted(account.orphans) == [
        (str(agent_side), str(folder / "orphans" / "d" / "r-call1-agent.wav")),
        (str(empty), str(folder / "orphans" / "d" / "r-call1.wav")),
    ]
    (detail,) = RecordReader(database).calls("r")
    assert detail.recording is None
