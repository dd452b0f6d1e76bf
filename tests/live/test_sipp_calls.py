"""The live appliance (`ccbox serve`) with SIPp as callers and as agents' phones, on 127.0.0.1.

Every test registers SIPp phones with digest authentication, starts a SIPp agent (UAS) on the
port the phones registered from, and places calls from a SIPp caller whose port is the trunk's
configured peer. The records the appliance wrote to SQLite are then read back.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.events import EndCause
from appliance.records.store import RecordReader
from sim.traffic.sipp import SippConfig, SippRun, free_udp_port, scenario_path
from sim.live import ApplianceProcess, phone_passwords, write_site

BOUND = 60.0
pytestmark = pytest.mark.slow


class Floor:
    """The appliance, its phones' port and its caller's port for one test."""

    def __init__(self, tmp_path: Path, **queue: object) -> None:
        self.tmp = tmp_path
        self.caller_port = free_udp_port()
        self.phone_port = free_udp_port()
        config = write_site(tmp_path / "site.yaml", self.caller_port, **queue)
        self.box = ApplianceProcess(config, tmp_path)

    def register_phones(self, scenario: str = "register.xml") -> None:
        users = len(phone_passwords())
        config = SippConfig(scenario_path(scenario), remote=self.box.address,
                            local_port=self.phone_port, rate=20, call_limit=1, max_calls=users,
                            injection=scenario_path("users.csv"))
        result = SippRun(config, timeout=BOUND, workdir=self.tmp / "register").run()
        assert (result.successful, result.failed) == (users, 0), result

    def agents(self, scenario: str = "agent.xml", **variables: object) -> SippRun:
        config = SippConfig(scenario_path(scenario), local_port=self.phone_port,
                            variables=variables)  # type: ignore[arg-type]
        run = SippRun(config, timeout=BOUND, workdir=self.tmp / "agents").start()
        run.wait_started()
        return run

    def callers(self, scenario: str = "caller.xml", calls: int = 5, talk_ms: int = 1000,
                rate: float = 5) -> SippRun:
        config = SippConfig(scenario_path(scenario), remote=self.box.address,
                            local_port=self.caller_port, rate=rate, max_calls=calls,
                            duration_ms=talk_ms, service="100")
        return SippRun(config, timeout=BOUND, workdir=self.tmp / "callers")

    def stop(self) -> list:
        assert self.box.stop() == 0, self.box.log()
        return RecordReader(self.box.records).calls()


@pytest.fixture
def floor(tmp_path: Path):
    floor = Floor(tmp_path)
    yield floor
    floor.box.stop()


def test_answered_calls_reach_registered_sipp_agents_and_land_in_the_records(floor):
    floor.register_phones()
    with floor.agents() as agents:
        result = floor.callers(calls=6).run()
        agents.stop()
    assert (result.successful, result.failed) == (6, 0), result
    details = floor.stop()
    assert len(details) == 6
    assert {d.cause for d in details} == {EndCause.CALLER_HANGUP}
    assert all(d.agent in phone_passwords() for d in details)
    assert all(d.talk >= 0.9 for d in details)


def test_caller_abandons_while_queued(floor):
    # No phone registered: every agent is logged out, the calls wait until the caller leaves.
    result = floor.callers("caller_abandon.xml", calls=3, talk_ms=500).run()
    assert (result.successful, result.failed) == (3, 0), result
    details = floor.stop()
    assert [d.cause for d in details] == [EndCause.ABANDONED] * 3


def test_agent_hangs_up(floor):
    floor.register_phones()
    with floor.agents("agent_hangup.xml") as agents:
        result = floor.callers(calls=3, talk_ms=5000).run()
        agents.stop()
    assert result.successful == 3, result
    details = floor.stop()
    assert [d.cause for d in details] == [EndCause.AGENT_HANGUP] * 3
