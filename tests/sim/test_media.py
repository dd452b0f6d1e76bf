"""Announcements take the prompt set's real length in both fidelities; recordings are sized."""

from __future__ import annotations

import json
import wave
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from appliance.cli import _register_plugins, app
from appliance.config import Site, parse_site
from appliance.events import CallAbandoned, CallAnnounced
from appliance.live.prompt_build import tools_available
from appliance.media.prompts import AnnouncementTimings
from appliance.storage.promptfiles import PromptSet
from sim.experiment import Experiment, run_once
from sim.media import announcement_timing, recording_storage_of
from sim.sipfidelity import SipRunSpec, SipWorld
from sim.world import RunSpec, World
from tests.factories import site_dict

FIRST_AFTER, EVERY, CONFIGURED = 5.0, 20.0, 8.0

# Lengths no configuration would choose, so that a match cannot be a coincidence.
LENGTHS = {"position-before": 1.125, "position-after": 0.625, "wait-before": 0.875,
           "wait-minutes": 0.5, "wait-unknown": 1.75,
           **{f"digit-{d}": 0.25 + d / 64 for d in range(10)}}


def write_prompts(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, seconds in LENGTHS.items():
        with wave.open(str(folder / f"{name}.wav"), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(8000)
            wav.writeframes(b"\0\0" * round(seconds * 8000))
    return folder


def announcing_site(prompts: Path | None, *, patience: float | None = None,
                    media: dict[str, Any] | None = None) -> Site:
    """One agent and long calls: callers queue and hear announcements; with `patience`
    shorter than the wait they are told, each leaves as soon as the first one ends."""
    call_type: dict[str, Any] = {"name": "a", "trunk_group": "pstn",
                                 "talk_time": {"dist": "fixed", "value": 400}}
    if patience is not None:
        call_type.update(patience={"dist": "fixed", "value": patience},
                         leave_after_announcement=1.0)
    data = site_dict(
        agents=1,
        queue={"announcements": {"first_after": FIRST_AFTER, "every": EVERY,
                                 "duration": CONFIGURED}},
        traffic={"calls_per_hour": 30, "call_types": [call_type]},
        behaviour={"answer_delay": {"dist": "fixed", "value": 2},
                   "no_answer_probability": 0},
    )
    data["media"] = {**(media or {}), **({"prompts": str(prompts)} if prompts else {})}
    return parse_site(yaml.safe_dump(data), source="<test>")


def announcements(records: list) -> dict[int, list[CallAnnounced]]:
    by_call: dict[int, list[CallAnnounced]] = {}
    for record in records:
        if isinstance(record, CallAnnounced):
            by_call.setdefault(record.call, []).append(record)
    return by_call


def assert_spaced_by_real_lengths(records: list, timings: AnnouncementTimings) -> int:
    """Each next announcement of a call comes `every` seconds after the last one ended."""
    gaps = 0
    for heard in announcements(records).values():
        for before, after in pairwise(heard):
            length = timings(before.position, before.expected_wait)
            assert after.t - before.t == pytest.approx(length + EVERY)
            assert length != CONFIGURED
            gaps += 1
    return gaps


def test_in_call_fidelity_a_caller_decides_when_the_real_announcement_ends(tmp_path: Path):
    site = announcing_site(write_prompts(tmp_path / "en"), patience=120)
    timings = AnnouncementTimings(PromptSet(tmp_path / "en"))
    world = World(site, RunSpec(hours=4, seed=3))
    assert world.timing.note.startswith("Announcements play for the real length")
    records = world.run().records
    heard = {call: first[0] for call, first in announcements(records).items()}
    left = [r for r in records if isinstance(r, CallAbandoned) and r.call in heard]
    assert len(left) > 10
    for abandoned in left:
        announced = heard[abandoned.call]
        length = timings(announced.position, announced.expected_wait)
        assert abandoned.t == pytest.approx(announced.t + length)
        assert abandoned.wait == pytest.approx(FIRST_AFTER + length)


def test_in_call_fidelity_the_next_announcement_follows_the_real_length(tmp_path: Path):
    site = announcing_site(write_prompts(tmp_path / "en"))
    records = World(site, RunSpec(hours=4, seed=3)).run().records
    timings = AnnouncementTimings(PromptSet(tmp_path / "en"))
    assert assert_spaced_by_real_lengths(records, timings) > 20


def test_in_sip_fidelity_the_next_announcement_follows_the_real_length(tmp_path: Path):
    site = announcing_site(write_prompts(tmp_path / "en"))
    world = SipWorld(site, SipRunSpec(hours=4, seed=3))
    records = world.run().records
    timings = AnnouncementTimings(PromptSet(tmp_path / "en"))
    assert assert_spaced_by_real_lengths(records, timings) > 20


def test_without_usable_prompts_the_configured_duration_stands_in(tmp_path: Path):
    folder = write_prompts(tmp_path / "en")
    (folder / "digit-4.wav").unlink()
    timing = announcement_timing(announcing_site(folder))
    assert timing.seconds is None
    assert "configured duration" in timing.note and "digit-4.wav" in timing.note
    records = World(announcing_site(folder), RunSpec(hours=2, seed=3)).run().records
    for heard in announcements(records).values():
        for before, after in pairwise(heard):
            assert after.t - before.t == pytest.approx(CONFIGURED + EVERY)


def test_without_espeak_or_sox_the_report_says_so(monkeypatch: pytest.MonkeyPatch):
    import appliance.live.prompt_build as prompt_build

    monkeypatch.setattr(prompt_build, "tools_available", lambda: False)
    timing = announcement_timing(announcing_site(None))
    assert timing.seconds is None
    assert timing.note == ("Announcements last the queues' configured duration: espeak-ng "
                           "or sox is not installed to build the default prompts.")


def test_a_site_whose_queues_do_not_announce_needs_no_prompts():
    data = site_dict(traffic={"calls_per_hour": 1, "call_types": [
        {"name": "a", "trunk_group": "pstn", "talk_time": {"dist": "fixed", "value": 60}}]})
    timing = announcement_timing(parse_site(yaml.safe_dump(data), source="<test>"))
    assert timing.seconds is None and timing.note == ""


@pytest.mark.slow
@pytest.mark.skipif(not tools_available(), reason="espeak-ng and sox not installed")
def test_the_default_prompts_are_built_and_timed():
    timing = announcement_timing(announcing_site(None))
    assert isinstance(timing.seconds, AnnouncementTimings)
    assert timing.seconds.prompts.folder.name == "en"
    assert 2.0 < timing.seconds(3, 200.0) < 20.0  # speech, not silence or a stray file


def test_recordings_are_sized_from_the_run(tmp_path: Path):
    site = announcing_site(write_prompts(tmp_path / "en"),
                           media={"recording": {"split": True, "retention_days": 30}})
    report = run_once(Experiment(site, hours=2, seed=3))
    storage = recording_storage_of(site, report, day_hours=8)
    assert storage is not None
    agents = report.center_agents
    assert storage.seconds == agents.talk_time + agents.hold_time > 0
    assert storage.calls == agents.calls_handled > 0
    assert storage.bytes == 3 * (round(storage.seconds * 16_000) + 44 * storage.calls)
    assert storage.bytes_per_day == pytest.approx(4 * storage.bytes)
    quiet = announcing_site(None, media={"recording": {"enabled": False}})
    assert recording_storage_of(quiet, report, day_hours=8) is None


def test_the_command_prints_the_recordings_line(tmp_path: Path):
    site = announcing_site(write_prompts(tmp_path / "en"))
    config = tmp_path / "site.yaml"
    config.write_text(yaml.safe_dump(site.model_dump(mode="json")), encoding="utf-8")
    _register_plugins()
    runner = CliRunner()
    result = runner.invoke(app, ["sim", str(config), "--hours", "1"], catch_exceptions=False)
    assert result.exit_code == 0
    assert "Recordings: " in result.stdout and "90 days' retention needs" in result.stdout
    assert "Announcements play for the real length" in result.stdout
    result = runner.invoke(app, ["sim", str(config), "--hours", "1", "--json"],
                           catch_exceptions=False)
    figures = json.loads(result.stdout)
    assert figures["recordings"]["files_per_call"] == 1
    assert figures["announcements"].startswith("Announcements play")


# --- IVR prompts ----------------------------------------------------------------------------


def test_ivr_prompts_without_files_are_estimated_from_their_text() -> None:
    from sim.media import PromptLengths, estimated_seconds, ivr_prompt_lengths
    from tests.sim.traffic.test_ivr import ivr_site

    lengths = ivr_prompt_lengths(ivr_site(), {})
    assert isinstance(lengths, PromptLengths)
    text = "For your balance press 1, for an agent press 2."
    assert estimated_seconds(text, "en") == pytest.approx(10 / 2.5 + 0.4)
    assert lengths(["menu", "bye"], "en") == pytest.approx(
        estimated_seconds(text, "en") + estimated_seconds("Goodbye.", "en"))
    assert lengths(["goodbye"], "en") > 0  # a built-in prompt, from its default text


def test_ivr_prompts_play_for_the_length_of_their_files(tmp_path: Path) -> None:
    from sim.media import ivr_prompt_lengths
    from tests.sim.traffic.test_ivr import ivr_site

    with wave.open(str(tmp_path / "menu.wav"), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\0\0" * 8000 * 3)
    lengths = ivr_prompt_lengths(ivr_site(), {"en": PromptSet(tmp_path)})
    assert lengths(["menu"], "en") == pytest.approx(3.0)


def test_a_site_without_an_ivr_has_no_prompt_lengths() -> None:
    timing = announcement_timing(parse_site(yaml.safe_dump(site_dict()), source="<t>"))
    assert timing.prompt_seconds is None and timing.prompt_note == ""
