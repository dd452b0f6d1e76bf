"""SIGHUP on the media side: new recordings, prompts, music and media timeout for new calls,
while what is in progress finishes as it started."""

from __future__ import annotations

from pathlib import Path
from random import Random

import numpy as np

from appliance.clock import Deadlines
from appliance.config.live import Media, Recording
from appliance.live.reconfigure import reconfigure_media
from appliance.live.recordings import MB, WavDesk
from appliance.media.plane import MediaPlane


class Tone:
    """Every prompt is 0.1 s at one level."""

    def __init__(self, level: int) -> None:
        self.level = level

    def samples(self, name: str) -> np.ndarray:
        return np.full(800, self.level, dtype=np.int16)


def desk_in(folder: Path) -> WavDesk:
    return WavDesk(Recording(folder=str(folder)), "run1", wall_clock=lambda: 1_700_000_000.0)


def plane_with(desk: WavDesk) -> MediaPlane:
    return MediaPlane("127.0.0.1", range(40000, 40040), Deadlines(), Random(1),
                      media_timeout=60, prompts=Tone(1000), music=np.zeros(800, np.int16),
                      recordings=desk)


def test_new_recordings_go_to_the_new_folder_and_the_one_in_progress_stays(tmp_path: Path):
    desk = desk_in(tmp_path / "old")
    plane = plane_with(desk)
    in_progress, old_name = desk.open(1, now=0.0)
    media = Media(recording=Recording(folder=str(tmp_path / "new"), split=True,
                                      stop_below_mb=10, resume_above_mb=20))
    reconfigure_media(plane, desk, media, Tone(2000), np.ones(800, np.int16))
    recorder, new_name = desk.open(2, now=1.0)
    in_progress.finish(2.0)
    recorder.finish(2.0)
    desk.shutdown()
    assert Path(old_name).is_relative_to(tmp_path / "old") and Path(old_name).is_file()
    assert Path(new_name).is_relative_to(tmp_path / "new") and Path(new_name).is_file()
    assert len(list((tmp_path / "new").rglob("*.wav"))) == 3  # split: one file per party too
    assert (desk.guard.stop_below, desk.guard.resume_above) == (10 * MB, 20 * MB)


def test_recording_switched_off_records_no_new_call(tmp_path: Path) -> None:
    desk = desk_in(tmp_path / "rec")
    plane = plane_with(desk)
    media = Media(recording=Recording(folder=str(tmp_path / "rec"), enabled=False))
    reconfigure_media(plane, desk, media, Tone(1000), np.zeros(800, np.int16))
    assert desk.open(1, now=0.0) is None


def heard(plane: MediaPlane, call: int, prompt: str, now: float) -> set[bytes]:
    """The RTP payloads the caller of `call` gets for `prompt` (PCMU, 12-byte headers)."""
    plane.play(call, [prompt], now)
    payloads: set[bytes] = set()
    deadlines = plane.deadlines
    while (due := deadlines.next_deadline()) is not None and due <= now + 0.5:
        deadlines.run_due(due)
        payloads |= {data[12:] for _, data, _ in plane.take_datagrams()}
    return payloads


def test_new_prompts_and_media_timeout_apply_to_calls_from_the_reload_on(tmp_path: Path):
    desk = desk_in(tmp_path / "rec")
    plane = plane_with(desk)
    plane.open(1, 0.0)
    plane.set_caller(1, ("127.0.0.1", 50000), 0, None, False)
    before = heard(plane, 1, "welcome", 0.0)
    reconfigure_media(plane, desk, Media(media_timeout=5), Tone(2000), np.zeros(800, np.int16))
    plane.open(2, 1.0)
    plane.set_caller(2, ("127.0.0.1", 50002), 0, None, False)
    after = heard(plane, 2, "welcome", 1.0)
    assert before and after and not before & after
    assert plane.relay.media_timeout == 5
    desk.shutdown()
