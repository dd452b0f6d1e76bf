"""Simulated callers in a post-call survey: they wait for the agent to hang up, stay with the
call type's probability, key a score drawn from its distribution, and hold the trunk for the
survey's prompts plus their key delay."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pytest
import yaml

from appliance.config import ConfigError, Site, parse_site
from appliance.eventlog import EventLog, record_to_json
from appliance.events import (
    CallEnded,
    EndCause,
    IvrExited,
    IvrExitKind,
    IvrFlowEntered,
    SurveyScored,
)
from appliance.kpi.compute import compute_kpis
from appliance.kpi.settings import KpiSettings
from sim.media import AnnouncementTiming
from sim.sipfidelity import SipRunSpec, SipWorld
from sim.world import RunSpec, World
from tests.factories import site_dict

SERVED_BY, DIGIT, RATE, THANKS, DELAY = 3.0, 0.5, 2.0, 1.0, 1.5
SCORES = {"5": 0.5, "4": 0.3, "3": 0.1, "1": 0.1}
STAY = 0.6
RATING = {
    "name": "rating", "start": "agent", "nodes": [
        {"name": "agent", "kind": "play_number", "prompts": "served_by", "value": "${AGENT}",
         "barge_in": False, "next": "score"},
        {"name": "score", "kind": "play_digit", "prompts": "rate", "variable": "SCORE",
         "max_digits": 1, "terminator": None, "barge_in": False, "next": "thanks",
         "default": "thanks"},
        {"name": "thanks", "kind": "stop_flow", "prompts": "thanks"},
    ],
}
PROMPTS = {"served_by": {"en": "The agent who served you was number"},
           "rate": {"en": "Please rate them from 1 to 5."}, "thanks": {"en": "Thank you."}}
LENGTHS = {"served_by": SERVED_BY, "rate": RATE, "thanks": THANKS}


def survey_site(survey: dict[str, Any] | None = None) -> Site:
    call_type = {"name": "general", "trunk_group": "pstn",
                 "talk_time": {"dist": "exponential", "mean": 60},
                 "ivr": {"key_delay": {"dist": "fixed", "value": DELAY}},
                 "survey": {"stay": STAY, "scores": SCORES} if survey is None else survey}
    data = site_dict(agents=4, queue={"survey": {"flow": "rating", "score": "SCORE"}},
                     traffic={"calls_per_hour": 120, "call_types": [call_type]})
    for number, agent in enumerate(data["agents"], start=1):
        agent["id"] = f"100{number}"
    data["ivr"] = {"variables": ["SCORE"], "prompts": PROMPTS, "flows": [RATING]}
    return parse_site(yaml.safe_dump(data), source="<test>")


def seconds_each(names: Sequence[str], language: str) -> float:
    return sum(LENGTHS.get(name, DIGIT) for name in names)  # the agent's number: digits


TIMING = AnnouncementTiming(None, "", prompt_seconds=seconds_each)


def run(site: Site, hours: float = 40, seed: int = 5) -> EventLog:
    return World(site, RunSpec(hours=hours, seed=seed), TIMING).run()


def test_the_share_who_stay_and_the_mean_score_are_the_configured_ones() -> None:
    log = run(survey_site())
    surveyed = [r.call for r in log if isinstance(r, IvrFlowEntered)]
    scores = [int(r.score) for r in log if isinstance(r, SurveyScored)]
    n = len(surveyed)
    assert n > 3000
    share = len(scores) / n
    assert abs(share - STAY) <= 1.96 * math.sqrt(STAY * (1 - STAY) / n)  # its 95 % interval
    mean = sum(int(k) * p for k, p in SCORES.items())
    variance = sum(int(k) ** 2 * p for k, p in SCORES.items()) - mean**2
    assert abs(sum(scores) / len(scores) - mean) <= 1.96 * math.sqrt(variance / len(scores))


def test_every_talk_ends_with_the_agent_hanging_up_and_the_survey_on_its_trunk() -> None:
    log = run(survey_site(), hours=4)
    entered = {r.call: r.t for r in log if isinstance(r, IvrFlowEntered)}
    scored = {r.call for r in log if isinstance(r, SurveyScored)}
    left = {r.call: r.kind for r in log if isinstance(r, IvrExited)}
    ended = [r for r in log if isinstance(r, CallEnded) and r.call in entered]
    assert entered and {r.cause for r in ended} == {EndCause.AGENT_HANGUP}
    # By hand: the agent's number (four digits) and the rating prompt play through, the key
    # comes DELAY later, then the thanks; who does not stay hangs up at once.
    survey = SERVED_BY + 4 * DIGIT + RATE + DELAY + THANKS
    for r in ended:
        expected = survey if r.call in scored else 0.0
        assert r.t - entered[r.call] == pytest.approx(expected)
        assert (left[r.call] is IvrExitKind.ABANDONED) == (r.call not in scored)


def test_a_survey_run_replays_byte_for_byte() -> None:
    site = survey_site()

    def records() -> list[str]:
        return [record_to_json(r) for r in run(site, hours=2)]

    assert records() == records()


def test_the_scores_may_not_add_up_to_more_than_one() -> None:
    with pytest.raises(ConfigError, match=r"add up to 1\.2"):
        survey_site({"scores": {"5": 0.7, "4": 0.5}})


def test_sip_fidelity_callers_stay_for_the_survey_after_the_agents_bye() -> None:
    world = SipWorld(survey_site({"stay": 1.0, "scores": {"4": 1.0}}),
                     SipRunSpec(hours=0.5, seed=3), TIMING)
    log = world.run()
    world.drain(600)
    calls = {r.call for r in log if isinstance(r, IvrFlowEntered)}
    scored = [r for r in log if isinstance(r, SurveyScored)]
    assert calls and {r.call for r in scored} == calls
    assert {r.score for r in scored} == {"4"}
    assert {r.agent for r in scored} <= {"1001", "1002", "1003", "1004"}
    ended = {r.call: r.cause for r in log if isinstance(r, CallEnded)}
    assert all(ended.get(call) is EndCause.AGENT_HANGUP for call in calls)


def test_the_simulated_report_shows_the_scores_per_queue_and_agent() -> None:
    log = run(survey_site(), hours=4)
    scores = [int(r.score) for r in log if isinstance(r, SurveyScored)]
    surveys = compute_kpis(log, KpiSettings()).surveys
    assert surveys is not None
    queue = surveys.queues["service"]
    assert (queue.scored, queue.mean_score) == (len(scores), pytest.approx(
        sum(scores) / len(scores)))
    assert sum(a.scored for a in surveys.agents.values()) == len(scores)
