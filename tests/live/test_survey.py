"""The post-call survey on the live box: a SIPp caller reaches a SIPp agent, the agent hangs up
first, the caller stays on the line and keys the score as RFC 4733 events in its RTP, and the
records show the score against the agent."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from appliance.events import CallEnded, EndCause, SurveyScored
from appliance.records.store import RecordReader
from sim.live import ApplianceProcess, ensure_default_prompts, phone_passwords, write_site
from sim.traffic.rtp_pcap import tone, write_rtp_pcap
from sim.traffic.sipp import SippConfig, SippRun, free_udp_port, scenario_path
from tests.sim.traffic.test_survey import PROMPTS, RATING

pytestmark = pytest.mark.slow

AGENT, ANI, TALK_MS, LAST = "1001", "13800000000", 2000, 60.0
# The caller keys "4" every second and a half, from before the rating prompt to well after it:
# whichever falls in the rating's window is the score, wherever the prompts' real lengths end.
KEYS = tuple((4.0 + 1.5 * i, "4") for i in range(20))


def prompts(tmp_path: Path) -> Path:
    """The default prompts, and the survey's own spoken as the welcome is (a stand-in: the
    keys do not depend on their length)."""
    folder = shutil.copytree(ensure_default_prompts("en"), tmp_path / "prompts" / "en")
    for name in PROMPTS:
        shutil.copy(folder / "welcome.wav", folder / f"{name}.wav")
    return folder


def survey_site(tmp_path: Path, caller_port: int) -> Path:
    users = {AGENT: phone_passwords()[AGENT]}
    config = write_site(tmp_path / "site.yaml", caller_port, users,
                        media={"prompts": str(prompts(tmp_path))},
                        survey={"flow": "rating", "score": "SCORE"})
    data: dict[str, Any] = yaml.safe_load(config.read_text())
    data["ivr"] = {"variables": ["SCORE"], "prompts": PROMPTS, "flows": [RATING]}
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    return config


def register(box: ApplianceProcess, tmp_path: Path, phone_port: int) -> None:
    csv = tmp_path / "phone.csv"
    csv.write_text(f"SEQUENTIAL\n{AGENT};{phone_passwords()[AGENT]}\n")
    config = SippConfig(scenario_path("register.xml"), remote=box.address, local_port=phone_port,
                        rate=1, call_limit=1, max_calls=1, injection=csv)
    result = SippRun(config, timeout=30, workdir=tmp_path / "register").run()
    assert (result.successful, result.failed) == (1, 0), result


def test_the_agent_hangs_up_and_the_caller_keys_a_score_against_them(tmp_path: Path) -> None:
    caller_port, phone_port = free_udp_port(), free_udp_port()
    box = ApplianceProcess(survey_site(tmp_path, caller_port), tmp_path)
    try:
        register(box, tmp_path, phone_port)
        agent = SippRun(SippConfig(scenario_path("agent_hangup.xml"), local_port=phone_port,
                                   duration_ms=TALK_MS), timeout=LAST + 30,
                        workdir=tmp_path / "agent").start()
        agent.wait_started()
        with agent:
            pcap = write_rtp_pcap(tmp_path / "caller.pcap", tone(0.0, LAST), digits=KEYS)
            caller = SippRun(SippConfig(scenario_path("caller_ivr.xml"), remote=box.address,
                                        local_port=caller_port, rate=1, max_calls=1,
                                        call_limit=1, duration_ms=round(LAST * 1000),
                                        service="100", keys={"pcap": str(pcap), "ani": ANI}),
                             timeout=LAST + 30, workdir=tmp_path / "caller").run()
            agent.stop()
    finally:
        assert box.stop() == 0, box.log()
    assert (caller.successful, caller.failed) == (1, 0), (caller, box.log())
    records = RecordReader(box.records).events()
    scored = [r for r in records if isinstance(r, SurveyScored)]
    assert [(r.agent, r.queue, r.score) for r in scored] == [(AGENT, "service", "4")], box.log()
    [ended] = [r for r in records if isinstance(r, CallEnded)]
    assert ended.cause is EndCause.AGENT_HANGUP and ended.t >= scored[0].t
    [detail] = RecordReader(box.records).calls()
    assert (detail.agent, detail.survey_score) == (AGENT, "4")
