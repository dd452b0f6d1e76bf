"""Calibration from a live run's records: what is measured on hand-made record lists, the
site file section it writes (valid, and read back as written), and the causes it names."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from appliance.config import Site
from appliance.config.loader import builtin_site_path, load_site
from appliance.events import (
    AgentRung,
    AgentState,
    AgentStateChanged,
    CallAnnounced,
    CallAnswered,
    CallOffered,
    CallQueued,
    RingNoAnswer,
)
from sim.load.calibrate import (
    MARK,
    Calibration,
    Sample,
    Timing,
    calibrated_behaviour,
    measure,
    section_text,
    shifted,
    with_section,
    write_calibrated,
)
from sim.load.compress import compress
from sim.load.report import ANSWER_DELAY, RING_TIME, measured_cause

SMALL_PATH = builtin_site_path("small")
SMALL = load_site(SMALL_PATH)
FAST = compress(SMALL, 30)  # answer delay: lognormal, mean 0.1 s; the queue's wrap-up 0.5 s
WRAP = AgentState.WRAP_UP


def answered_call(call: int, offered: float, ring: float, answer: float, agent: str = "1001",
                  ) -> list:
    """A call offered, queued at once, rung and answered."""
    return [CallOffered(offered, call, "pstn", "100", "200", 1),
            CallQueued(offered + 0.002, call, "service", 0, 1),
            AgentRung(ring, call, "service", agent),
            CallAnswered(answer, call, "service", agent, answer - offered)]


def timings_of(records: list, site: Site = FAST, seconds=None) -> dict[str, Timing]:
    return measure(records, site, 30, seconds).timings


def test_ring_to_answer_is_measured_per_call_and_agent_beside_the_configured_delay() -> None:
    records = [*answered_call(1, 0.0, 0.1, 0.4), *answered_call(2, 1.0, 1.1, 1.6, "1002")]
    answer = timings_of(records)["answer_delay"]
    assert answer.measured.n == 2 and answer.measured.mean == pytest.approx(0.4)
    assert answer.configured == pytest.approx(0.1)
    assert answer.excess == pytest.approx(0.3)


def test_a_ring_that_went_unanswered_counts_as_missed_and_not_as_an_answer() -> None:
    records = [CallOffered(0.0, 1, "pstn", "1", "2", 1), CallQueued(0.0, 1, "service", 0, 1),
               AgentRung(0.1, 1, "service", "1001"), RingNoAnswer(0.6, 1, "service", "1001"),
               AgentRung(0.7, 1, "service", "1002"), CallAnswered(0.9, 1, "service", "1002", 0.9)]
    timings = timings_of(records)
    assert timings["answer_delay"].measured.n == 1
    assert timings["answer_delay"].measured.mean == pytest.approx(0.2)
    assert timings["missed_rings"].measured.mean == pytest.approx(0.5)
    assert timings["setup"].measured.mean == 0.0


def test_wrap_up_runs_from_the_wrap_up_state_to_the_agents_next_state() -> None:
    records = [*answered_call(1, 0.0, 0.1, 0.2),
               AgentStateChanged(3.0, "1001", WRAP, "", 1),
               AgentStateChanged(3.7, "1001", AgentState.READY, "", 0)]
    wrap = timings_of(records)["wrap_up"]
    assert (wrap.measured.n, wrap.configured) == (1, 0.5)
    assert wrap.measured.mean == pytest.approx(0.7)


def test_announcements_last_what_the_prompts_play_beside_the_configured_duration() -> None:
    records = [CallAnnounced(1.0, 1, "service", 3, 60.0), CallAnnounced(2.0, 2, "service", 1, None)]
    played = timings_of(records, seconds=lambda position, wait: 2.0 + position)
    assert played["announcements"].measured.mean == pytest.approx(4.0)
    assert played["announcements"].configured == SMALL.queue("service").announcements.duration
    configured = timings_of(records)["announcements"]
    assert configured.excess == 0.0


def test_nothing_measured_is_no_measurement() -> None:
    timings = timings_of([])
    assert all(t.measured.n == 0 and t.measured.mean is None for t in timings.values())
    assert not any(t.significant for t in timings.values())


def test_a_difference_is_significant_only_beyond_noise() -> None:
    assert Timing("a", "A", Sample(40, 0.5, 0.2), 0.1).significant
    assert not Timing("a", "A", Sample(4, 0.2, 0.5), 0.1).significant
    assert not Timing("a", "A", Sample(40, 0.501, 0.0), 0.5).significant  # under the floor
    # No unanswered ring in 13 says little about a 2 % chance.
    assert not Timing("m", "M", Sample(13, 0.0, 0.0), 0.02, "share").significant


@pytest.mark.parametrize(("dist", "expected"), [
    ({"dist": "fixed", "value": 2.0}, {"dist": "fixed", "value": 2.5}),
    ({"dist": "uniform", "low": 1.0, "high": 3.0}, {"dist": "uniform", "low": 1.5, "high": 3.5}),
    ({"dist": "empirical", "values": [1.0, 2.0]}, {"dist": "empirical", "values": [1.5, 2.5]}),
    ({"dist": "lognormal", "mean": 3.0, "sd": 1.5}, {"dist": "lognormal", "mean": 3.5, "sd": 1.5}),
    ({"dist": "exponential", "mean": 2.0}, {"dist": "lognormal", "mean": 2.5, "sd": 2.0}),
])
def test_a_distribution_moves_by_the_measured_excess(dist: dict, expected: dict) -> None:
    assert shifted(dist, 0.5) == expected


def test_a_distribution_never_moves_below_zero() -> None:
    assert shifted({"dist": "fixed", "value": 0.2}, -0.5) == {"dist": "fixed", "value": 0.0}
    assert shifted({"dist": "exponential", "mean": 0.2}, -0.5) == {"dist": "fixed", "value": 0.0}


def late_answers(excess: float, n: int = 40) -> list:
    """`n` calls each answered `excess` seconds later than the compressed model's mean
    (0.1 s), give or take 10 ms."""
    records = []
    for call in range(1, n + 1):
        ring = call * 10.0
        answer = ring + 0.1 + excess + (0.01 if call % 2 else -0.01)
        records += answered_call(call, ring - 0.01, ring, answer)
    return records


def test_the_calibrated_section_adds_the_excess_unscaled_to_the_real_speed_site() -> None:
    calibration = measure(late_answers(0.25), FAST, 30)
    behaviour = calibrated_behaviour(SMALL, calibration)
    assert behaviour["answer_delay"] == {"dist": "lognormal", "mean": 3.25, "sd": 1.5}
    assert behaviour["no_answer_probability"] == SMALL.agent_behaviour.no_answer_probability
    assert "wrap_up" not in behaviour  # the site leaves wrap-up to its queues


def test_an_answer_delay_within_noise_is_left_as_configured() -> None:
    behaviour = calibrated_behaviour(SMALL, measure(late_answers(0.0), FAST, 30))
    assert behaviour["answer_delay"] == SMALL.agent_behaviour.answer_delay.model_dump(mode="json")


def test_the_written_site_validates_and_reads_back_what_was_written(tmp_path: Path) -> None:
    calibration = measure(late_answers(0.25), FAST, 30)
    target = tmp_path / "small.yaml"
    site = write_calibrated(SMALL_PATH, SMALL, calibration, target)
    assert site.agent_behaviour.answer_delay.mean_value == pytest.approx(3.25)
    assert site.model_dump(exclude={"agent_behaviour"}) == SMALL.model_dump(
        exclude={"agent_behaviour"})
    text = target.read_text()
    assert text.count(MARK) == 1 and "Ring to answer: 0.35 s over 40" in text
    assert yaml.safe_load(text)["agent_behaviour"] == calibrated_behaviour(SMALL, calibration)
    again = write_calibrated(target, site, measure(late_answers(0.0), FAST, 30), target)
    assert again.agent_behaviour == site.agent_behaviour  # within noise now: left alone
    assert target.read_text().count(MARK) == 1


def test_only_the_section_changes_and_the_rest_of_the_file_is_kept() -> None:
    text = "site: a\n# about b\nagent_behaviour:\n  answer_delay: {dist: fixed, value: 1}\n" \
           "\n# about c\nsip:\n  realm: x\n"
    section = section_text({"answer_delay": {"dist": "fixed", "value": 2.0}},
                           Calibration(10, {}))
    written = with_section(text, section)
    assert written.startswith("site: a\n# about b\n" + MARK)
    assert written.endswith("value: 2.0}\n\n# about c\nsip:\n  realm: x\n")
    assert with_section(written, section) == written
    assert with_section("site: a\n", section) == "site: a\n\n" + section


def test_the_measured_timings_name_the_cause_of_a_difference() -> None:
    late = measure(late_answers(0.25), FAST, 30)
    cause = measured_cause("asa", "higher", late)
    assert cause is not None and cause.startswith(ANSWER_DELAY)
    assert "0.35 s over 40, configured 0.10 s" in cause
    assert measured_cause("asa", "higher", measure(late_answers(0.0), FAST, 30)) is None
    missed = Calibration(30, {"missed_rings": Timing("missed_rings", "Rings unanswered",
                                                     Sample(100, 0.3, 0.46), 0.02, "share")})
    assert measured_cause("service_level", "lower", missed).startswith(RING_TIME)
