"""The post-call survey in call control: when the agent hangs up first, the caller stays on
the line (the trunk seized) and walks the queue's survey flow, which reads the agent's id as
AGENT; the score lands in the log against the agent, the queue and the call."""

from __future__ import annotations

from datetime import datetime
from random import Random
from typing import Any

import pytest
import yaml

from appliance.config import ConfigError, parse_site
from appliance.eventlog import EventLog
from appliance.events import CallEnded, EndCause, IvrExited, IvrFlowEntered, SurveyScored
from appliance.pbx.actions import HangUpCaller, PlayPrompts, StartSurvey
from appliance.pbx.callcontrol import CallControl
from appliance.wallclock import from_origin
from tests.factories import site_dict

RATING = {
    "name": "rating", "start": "agent", "nodes": [
        {"name": "agent", "kind": "play_number", "prompts": "served_by", "value": "${AGENT}",
         "barge_in": False, "next": "score"},
        {"name": "score", "kind": "play_digit", "prompts": "rate", "variable": "SCORE",
         "max_digits": 1, "terminator": None, "next": "thanks", "default": "thanks"},
        {"name": "thanks", "kind": "stop_flow", "prompts": "thanks"},
    ],
}
PROMPTS = {"served_by": {"en": "The agent who served you was number"},
           "rate": {"en": "Please rate them from 1 to 5."}, "thanks": {"en": "Thank you."}}


def survey_data(**queue: Any) -> dict[str, Any]:
    data = site_dict(agents=1, trunks=1, queue={"survey": {"flow": "rating", "score": "SCORE"},
                                                **queue})
    data["agents"][0]["id"] = "1007"
    data["ivr"] = {"variables": ["SCORE"], "prompts": PROMPTS, "flows": [RATING]}
    return data


def control(data: dict[str, Any] | None = None) -> tuple[CallControl, EventLog]:
    log = EventLog()
    site = parse_site(yaml.safe_dump(data or survey_data()), source="<test>")
    cc = CallControl(site, log, Random(1), wallclock=from_origin(datetime(2026, 12, 7, 10)),
                     prompt_seconds=lambda names, language: float(len(names)))
    cc.agent_login(0.0, "1007")
    return cc, log


def talking(cc: CallControl) -> int:
    call = cc.offer_call(1.0, "pstn", "13800000000", "100")
    cc.agent_answer(2.0, "1007", call)
    cc.take_actions()
    return call


def test_the_agent_hanging_up_keeps_the_caller_for_the_survey_which_says_the_agent() -> None:
    cc, _ = control()
    call = talking(cc)
    assert cc.agent_hangup(30.0, "1007")
    actions = cc.take_actions()
    assert actions[0] == StartSurvey(call, "1007")
    assert actions[1] == PlayPrompts(call, ("served_by", "digit-1", "digit-0", "digit-0",
                                            "digit-7"), "en", False)
    assert not any(isinstance(a, HangUpCaller) for a in actions)
    assert cc.offer_call(31.0, "pstn") and cc.take_actions()[-1].cause is EndCause.BLOCKED


def test_the_score_lands_in_the_log_then_the_call_ends_as_the_agent_ended_it() -> None:
    cc, log = control()
    call = talking(cc)
    cc.agent_hangup(30.0, "1007")
    cc.on_deadline(35.0)  # the agent's number is said; the rating prompt begins
    cc.caller_digit(35.5, call, "4")
    cc.on_deadline(36.5)  # thanks
    assert [r for r in log if isinstance(r, SurveyScored)] == [
        SurveyScored(36.5, call, "1007", "service", "4")]
    assert HangUpCaller(call, EndCause.AGENT_HANGUP) in cc.take_actions()
    assert list(log)[-1] == CallEnded(36.5, call, EndCause.AGENT_HANGUP)


def test_a_caller_who_hangs_up_in_the_survey_leaves_no_score() -> None:
    cc, log = control()
    call = talking(cc)
    cc.agent_hangup(30.0, "1007")
    cc.take_actions()
    assert cc.caller_hangup(32.0, call)
    assert not any(isinstance(r, SurveyScored) for r in log)
    assert list(log)[-1] == CallEnded(32.0, call, EndCause.AGENT_HANGUP)
    assert not any(isinstance(a, HangUpCaller) for a in cc.take_actions())


def test_a_caller_who_hangs_up_first_gets_no_survey() -> None:
    cc, log = control()
    call = talking(cc)
    cc.caller_hangup(30.0, call)
    assert not any(isinstance(r, IvrFlowEntered) for r in log)
    assert list(log)[-1] == CallEnded(30.0, call, EndCause.CALLER_HANGUP)


def test_a_survey_names_a_flow_and_a_declared_variable() -> None:
    data = survey_data(survey={"flow": "ratings", "score": "MARK"})
    with pytest.raises(ConfigError) as error:
        parse_site(yaml.safe_dump(data), source="<test>")
    assert "no flow named 'ratings'" in str(error.value)
    assert "no user variable named 'MARK'" in str(error.value)


def test_the_survey_reads_the_variables_of_the_first_ivr_pass_but_the_score() -> None:
    data = survey_data()
    data["ivr"]["variables"] = ["SCORE", "ACCOUNT"]
    data["ivr"]["flows"].append({"name": "main", "start": "account", "nodes": [
        {"name": "account", "kind": "play_digit", "prompts": "rate", "variable": "ACCOUNT",
         "max_digits": 1, "terminator": None, "next": "service", "default": "service"},
        {"name": "service", "kind": "to_queue", "queue": "service"}]})
    data["routes"] = [{"trunk_group": "pstn", "flow": "main"}]
    cc, log = control(data)
    call = cc.offer_call(1.0, "pstn", "13800000000", "100")
    cc.caller_digit(1.5, call, "7")
    cc.agent_answer(2.0, "1007", call)
    cc.agent_hangup(30.0, "1007")
    cc.caller_hangup(31.0, call)
    survey_exit = [r for r in log if isinstance(r, IvrExited)][-1]
    assert survey_exit.variables == {"SCORE": "", "ACCOUNT": "7"}
