"""The post-call survey through the B2BUA on the simulated network: the agent's BYE leaves
the caller's dialog up, the caller keys the score by SIP INFO, and the survey's end BYEs
the caller."""

from __future__ import annotations

from datetime import datetime

from appliance.events import CallEnded, EndCause, SurveyScored
from appliance.wallclock import from_origin
from tests.appliance.pbx.b2bua.harness import live_site
from tests.appliance.pbx.b2bua.test_ivr import answer_agent, kinds
from tests.appliance.pbx.b2bua.test_races import CheckedLab
from tests.appliance.pbx.test_survey import PROMPTS, RATING


def survey_lab() -> CheckedLab:
    more = {"ivr": {"variables": ["SCORE"], "prompts": PROMPTS, "flows": [RATING]}}
    site = live_site(agents=1, queue={"survey": {"flow": "rating", "score": "SCORE"}},
                     more=more)
    lab = CheckedLab(site, wallclock=from_origin(datetime(2026, 12, 7, 10, 0)),
                     prompt_seconds=lambda names, language: 0.2 * len(names))
    lab.register_all()
    return lab


def test_the_caller_stays_after_the_agents_bye_and_keys_the_score_by_info() -> None:
    lab = survey_lab()
    call = lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    answer_agent(lab)
    kinds(lab)
    phone = lab.phones["a1"]
    (agent_call,) = phone.calls
    lab.do(phone, "hangup", agent_call)
    lab.run(0.5)
    assert "ended_by_peer" not in kinds(lab)  # the caller's dialog is up
    lab.do(lab.gateway, "press", call, "5")
    lab.run(2)
    assert [(r.agent, r.queue, r.score) for r in lab.log if isinstance(r, SurveyScored)] == [
        ("a1", "service", "5")]
    assert kinds(lab) == ["ended_by_peer"]
    assert [r.cause for r in lab.log if isinstance(r, CallEnded)] == [EndCause.AGENT_HANGUP]
    lab.settle()
