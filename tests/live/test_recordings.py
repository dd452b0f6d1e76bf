"""Recording files: paths by UTC day, free space, the clean-up by age and by free space, and
the desk that opens a call's WAVs.

Free space is faked through `disk_usage`: no test fills a real disk.
"""

from __future__ import annotations

import os
import wave
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from appliance.config.live import Recording
from appliance.live.recordings import (
    CleanupReport,
    WavDesk,
    clean_recordings,
    free_bytes,
    party_paths,
    recording_path,
)

DAY = 86_400
NOW = datetime(2024, 6, 30, 12, tzinfo=UTC).timestamp()


def fake_disk(free: int):
    calls: list[Path] = []

    def disk_usage(path: Path) -> SimpleNamespace:
        calls.append(Path(path))
        return SimpleNamespace(total=10 * free, used=9 * free, free=free)

    disk_usage.calls = calls  # type: ignore[attr-defined]
    return disk_usage


def recording(folder: Path, name: str, age_days: float, size: int = 1000) -> Path:
    """A recording of `size` bytes last written `age_days` before NOW."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(size))
    mtime = NOW - age_days * DAY
    os.utime(path, (mtime, mtime))
    return path


# ---- paths -----------------------------------------------------------------------------------


def test_recording_path_is_in_the_folder_of_the_utc_day(tmp_path: Path) -> None:
    # 23:59:59 UTC on 1 March: already 2 March east of Greenwich, still 1 March in UTC.
    started = datetime(2024, 3, 1, 23, 59, 59, tzinfo=UTC).timestamp()
    path = recording_path(tmp_path / "recordings", started, "run7", 42)
    assert path == tmp_path / "recordings" / "2024-03-01" / "run7-call42.wav"
    assert path.parent.is_dir() and not path.exists()
    assert recording_path(tmp_path / "recordings", started + 1, "run7", 43).parent.name == (
        "2024-03-02"
    )


def test_recording_path_reuses_an_existing_day_folder(tmp_path: Path) -> None:
    first = recording_path(tmp_path, NOW, "r", 1)
    first.write_bytes(b"x")
    assert recording_path(tmp_path, NOW + 60, "r", 2).parent == first.parent
    assert first.exists()


def test_party_paths_sit_beside_the_mix(tmp_path: Path) -> None:
    path = tmp_path / "2024-06-30" / "run1-call3.wav"
    assert party_paths(path) == (
        tmp_path / "2024-06-30" / "run1-call3-caller.wav",
        tmp_path / "2024-06-30" / "run1-call3-agent.wav",
    )


def test_free_bytes_creates_the_folder_and_measures_its_disk(tmp_path: Path) -> None:
    folder = tmp_path / "not" / "yet"
    free = free_bytes(folder)
    assert folder.is_dir() and isinstance(free, int) and free > 0


# ---- clean-up by age -------------------------------------------------------------------------


def test_recordings_older_than_the_retention_are_removed(tmp_path: Path) -> None:
    old = recording(tmp_path, "2024-03-01/r-call1.wav", age_days=91, size=300)
    older = recording(tmp_path, "2024-02-01/r-call2.wav", age_days=120, size=200)
    young = recording(tmp_path, "2024-06-01/r-call3.wav", age_days=29)
    report = clean_recordings(tmp_path, 90, keep_free_bytes=0, now=NOW, disk_usage=fake_disk(10**9))
    assert report == CleanupReport(removed=2, freed_bytes=500, still_short=False)
    assert not old.exists() and not older.exists() and young.exists()


def test_no_retention_keeps_recordings_of_any_age(tmp_path: Path) -> None:
    ancient = recording(tmp_path, "2000-01-01/r-call1.wav", age_days=9000)
    report = clean_recordings(
        tmp_path, None, keep_free_bytes=0, now=NOW, disk_usage=fake_disk(10**9)
    )
    assert report == CleanupReport(0, 0, False) and ancient.exists()


# ---- clean-up by free space ------------------------------------------------------------------


def test_oldest_go_first_until_enough_is_free(tmp_path: Path) -> None:
    files = [
        recording(tmp_path, f"2024-06-{day:02}/r-call{day}.wav", age_days=30 - day)
        for day in range(1, 6)
    ]  # 1 June is the oldest
    disk = fake_disk(7_500)
    report = clean_recordings(tmp_path, None, keep_free_bytes=10_000, now=NOW, disk_usage=disk)
    # 7,500 free + 1,000 per removal: three removals reach 10,500.
    assert report == CleanupReport(removed=3, freed_bytes=3000, still_short=False)
    assert [path.exists() for path in files] == [False, False, False, True, True]
    assert len(disk.calls) == 1  # measured once, then counted


def test_still_short_when_everything_removable_is_gone(tmp_path: Path) -> None:
    recording(tmp_path, "2024-06-01/r-call1.wav", age_days=29)
    report = clean_recordings(
        tmp_path, 90, keep_free_bytes=10_000, now=NOW, disk_usage=fake_disk(100)
    )
    assert report == CleanupReport(removed=1, freed_bytes=1000, still_short=True)


def test_enough_free_space_removes_nothing_young(tmp_path: Path) -> None:
    young = recording(tmp_path, "2024-06-29/r-call1.wav", age_days=1)
    report = clean_recordings(
        tmp_path, 90, keep_free_bytes=10_000, now=NOW, disk_usage=fake_disk(10_000)
    )
    assert report == CleanupReport(0, 0, False) and young.exists()


# ---- what is never touched -------------------------------------------------------------------


def test_active_recordings_are_never_removed(tmp_path: Path) -> None:
    running = recording(tmp_path, "2024-06-30/r-call9.wav", age_days=200)
    caller, agent = party_paths(running)
    for path in (caller, agent):
        recording(tmp_path, path.relative_to(tmp_path).as_posix(), age_days=200)
    done = recording(tmp_path, "2024-06-30/r-call8.wav", age_days=200)
    report = clean_recordings(
        tmp_path,
        90,
        keep_free_bytes=10**9,
        now=NOW,
        active=[running, caller, agent],
        disk_usage=fake_disk(0),
    )
    assert report == CleanupReport(removed=1, freed_bytes=1000, still_short=True)
    assert running.exists() and caller.exists() and agent.exists() and not done.exists()


def test_active_paths_match_however_they_are_spelled(tmp_path: Path, monkeypatch) -> None:
    running = recording(tmp_path, "2024-06-30/r-call9.wav", age_days=200)
    monkeypatch.chdir(tmp_path)
    clean_recordings(
        Path("."),
        90,
        0,
        NOW,
        active=[Path("2024-06-30/../2024-06-30/r-call9.wav")],
        disk_usage=fake_disk(10**9),
    )
    assert running.exists()


def test_only_wav_files_are_removed(tmp_path: Path) -> None:
    notes = tmp_path / "2024-01-01" / "notes.txt"
    recording(tmp_path, "2024-01-01/r-call1.wav", age_days=200)
    notes.write_text("keep me")
    os.utime(notes, (NOW - 200 * DAY, NOW - 200 * DAY))
    report = clean_recordings(tmp_path, 90, 10**9, NOW, disk_usage=fake_disk(0))
    assert report.removed == 1 and notes.exists()


def test_symlinks_are_not_followed_out_of_the_folder(tmp_path: Path) -> None:
    folder, outside = tmp_path / "recordings", tmp_path / "elsewhere"
    precious = recording(outside, "precious.wav", age_days=500)
    folder.mkdir()
    (folder / "linked-day").symlink_to(outside, target_is_directory=True)
    (folder / "linked.wav").symlink_to(precious)
    report = clean_recordings(folder, 90, 10**9, NOW, disk_usage=fake_disk(0))
    assert report == CleanupReport(0, 0, True)
    assert precious.exists() and (folder / "linked.wav").is_symlink()


# ---- folders and races -----------------------------------------------------------------------


def test_day_folders_emptied_are_removed_and_the_rest_kept(tmp_path: Path) -> None:
    folder = tmp_path / "recordings"
    recording(folder, "2024-01-01/r-call1.wav", age_days=200)
    recording(folder, "2024-01-02/r-call2.wav", age_days=199)
    recording(folder, "2024-01-02/r-call3.wav", age_days=10)  # its day is not empty after
    (folder / "2024-06-30").mkdir()  # empty already: a recording about to start
    clean_recordings(folder, 90, 0, NOW, disk_usage=fake_disk(10**9))
    assert sorted(p.name for p in folder.iterdir()) == ["2024-01-02", "2024-06-30"]
    assert folder.is_dir()


def test_the_folder_itself_is_kept_when_everything_goes(tmp_path: Path) -> None:
    recording(tmp_path, "r-call1.wav", age_days=200)
    recording(tmp_path, "2024-01-01/r-call2.wav", age_days=200)
    clean_recordings(tmp_path, 90, 0, NOW, disk_usage=fake_disk(10**9))
    assert tmp_path.is_dir() and list(tmp_path.iterdir()) == []


def test_a_file_that_vanishes_meanwhile_is_skipped(tmp_path: Path) -> None:
    gone = recording(tmp_path, "2024-01-01/r-call1.wav", age_days=200)
    kept_going = recording(tmp_path, "2024-01-02/r-call2.wav", age_days=199)

    def racing_disk_usage(path: Path) -> SimpleNamespace:
        gone.unlink()  # another clean-up, or an operator, got there first
        return SimpleNamespace(free=10**9)

    report = clean_recordings(tmp_path, 90, 0, NOW, disk_usage=racing_disk_usage)
    assert report == CleanupReport(removed=1, freed_bytes=1000, still_short=False)
    assert not kept_going.exists()


def test_a_missing_folder_is_created_and_nothing_removed(tmp_path: Path) -> None:
    folder = tmp_path / "new"
    report = clean_recordings(folder, 90, 100, NOW, disk_usage=fake_disk(50))
    assert report == CleanupReport(0, 0, True) and folder.is_dir()


@pytest.mark.parametrize("keep_free", [0, 2500, 10**9])
def test_freed_bytes_is_the_sum_of_what_was_removed(tmp_path: Path, keep_free: int) -> None:
    sizes = [100, 700, 1300, 2100]
    for n, size in enumerate(sizes):
        recording(tmp_path, f"d/r-call{n}.wav", age_days=40 - n, size=size)
    report = clean_recordings(tmp_path, None, keep_free, NOW, disk_usage=fake_disk(0))
    remaining = sum(path.stat().st_size for path in tmp_path.rglob("*.wav"))
    assert report.freed_bytes == sum(sizes) - remaining
    assert report.still_short == (report.freed_bytes < keep_free)


def _desk(tmp_path: Path, **settings: object) -> WavDesk:
    return WavDesk(Recording(folder=str(tmp_path / "rec"), **settings), "run1",
                   wall_clock=lambda: 1_700_000_000.0)


def test_the_desk_records_a_call_into_a_dated_wav_and_fsyncs_it_off_the_caller(tmp_path):
    desk = _desk(tmp_path)
    recorder, name = desk.open(7, now=10.0)
    assert name.endswith("2023-11-14/run1-call7.wav")
    assert Path(name) in desk.active
    packet = bytes([0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]) + b"\xff" * 160
    for index in range(100):
        recorder.packet(0, packet, 10.0 + index * 0.02)
    assert recorder.finish(12.0) == pytest.approx(2.0)
    assert not desk.active
    desk.shutdown()
    with wave.open(name, "rb") as wav:
        assert wav.getnframes() == 16_000


def test_split_recordings_give_one_file_per_party_beside_the_mixed_one(tmp_path):
    desk = _desk(tmp_path, split=True)
    recorder, name = desk.open(1, now=0.0)
    recorder.finish(1.0)
    desk.shutdown()
    caller, agent = party_paths(Path(name))
    for path in (Path(name), caller, agent):
        with wave.open(str(path), "rb") as wav:
            assert wav.getnframes() == 8000


def test_the_desk_refuses_while_the_disk_is_low_and_reports_the_alarm(tmp_path):
    desk = _desk(tmp_path, stop_below_mb=1, resume_above_mb=1)
    desk.guard.update(0, 0.0)  # as if the disk had filled
    assert desk.open(1, now=0.0) is None
    alarm = desk.check(5.0)  # this file system has room again
    assert alarm is not None and not alarm.raised
    assert desk.open(2, now=5.0) is not None
    desk.shutdown()
