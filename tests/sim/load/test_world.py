"""A tiny site's live load against `ccbox serve`: the model drives the box over real UDP."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.config import Site
from appliance.config.loader import load_site
from appliance.events import EndCause
from appliance.live.prompt_build import ensure_default_music, ensure_default_prompts
from appliance.records.store import RecordReader
from sim.live import ApplianceProcess, media_port_range
from sim.load.world import LiveLoad, lab_site_file

pytestmark = pytest.mark.slow

# What the model's callers and agents may end a call with (no IVR, no overflow here).
MODEL_CAUSES = {EndCause.ABANDONED, EndCause.CALLER_HANGUP, EndCause.AGENT_HANGUP}


def tiny_site() -> Site:
    return Site.model_validate({
        "site": "tiny",
        "trunk_groups": [{"name": "pstn", "kind": "sip", "channels": 30,
                          "peers": ["127.0.0.1:5070"]}],
        "queues": [{"name": "service", "strategy": "longest_idle", "ring_timeout": 15,
                    "wrap_up": 1}],
        "agents": [{"id": "2001-2002", "skills": {"service": 5},
                    "shift": {"start": "08:00", "end": "17:00"}}],
        "routes": [{"trunk_group": "pstn", "queue": "service"}],
        "traffic": {
            "start": "08:00", "interval_minutes": 60, "calls_per_hour": [600],
            "call_types": [{"name": "service", "trunk_group": "pstn", "callers": 100000,
                            "talk_time": {"dist": "lognormal", "mean": 3, "sd": 1},
                            "patience": {"dist": "exponential", "mean": 60}}]},
        "agent_behaviour": {"answer_delay": {"dist": "lognormal", "mean": 1, "sd": 0.3},
                            "no_answer_probability": 0.0},
    })


def test_a_tiny_site_is_answered_by_its_agents_over_udp(tmp_path: Path) -> None:
    low, high = media_port_range()
    media = {"prompts": str(ensure_default_prompts("en")), "music": str(ensure_default_music()),
             "rtp_port_min": low, "rtp_port_max": high,
             "recording": {"enabled": False, "folder": str(tmp_path / "recordings")}}
    lab = load_site(lab_site_file(tiny_site(), tmp_path, 40 / 60, media))
    box = ApplianceProcess(tmp_path / "tiny-lab.yaml", tmp_path)
    try:
        load = LiveLoad(lab, seed=7, minutes=40 / 60, box=box.address, records=box.records)
        sockets = list(load.net.sockets.values())
        seen = load.run()
    finally:
        box.stop()
    assert all(sock.fileno() == -1 for sock in sockets)
    calls = RecordReader(box.records).calls()
    answered = [c for c in calls if c.agent is not None]
    assert seen.calls_placed >= 1 and answered
    assert {c.agent for c in answered} <= {"2001", "2002"}
    assert {c.cause for c in calls} <= MODEL_CAUSES, box.log()
    assert not seen.failures and not seen.registration_failures
    assert seen.drained
    assert seen.media.streams and seen.media.flowed, seen.media  # to the end of every call
