"""The live appliance (`ccbox serve`) with SIPp as callers and as agents' phones, on 127.0.0.1.

Every test registers SIPp phones with digest authentication, starts a SIPp agent (UAS) on the
port the phones registered from, and places calls from a SIPp caller whose port is the trunk's
configured peer. The records the appliance wrote to SQLite are then read back.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
import yaml

from appliance.events import CallAnswered, EndCause
from appliance.records.store import RecordReader
from sim.live import ApplianceProcess, phone_passwords, wait_until, write_site
from sim.traffic.sipp import SippConfig, SippResult, SippRun, free_udp_port, scenario_path

BOUND = 60.0
pytestmark = pytest.mark.slow


class Floor:
    """The appliance, its phones' port and its caller's port for one test."""

    def __init__(self, tmp_path: Path, sip: dict | None = None, media: dict | None = None,
                 trunk_kind: str = "sip", outbound: int | None = None,
                 supervisors: Sequence[str] = (), **queue: object) -> None:
        self.tmp = tmp_path
        self.caller_port = free_udp_port()
        self.phone_port = free_udp_port()
        config = write_site(tmp_path / "site.yaml", self.caller_port, sip=sip, media=media,
                            trunk_kind=trunk_kind, **queue)
        if outbound is not None:
            add_gateway(config, outbound)
        if supervisors:
            mark_supervisors(config, supervisors)
        self.box = ApplianceProcess(config, tmp_path)

    def register_phones(self, scenario: str = "register.xml", users: list[str] | None = None,
                        port: int | None = None, expect_ok: bool = True) -> SippResult:
        """Register `users` (all of users.csv by default) from `port` (the phones' port)."""
        passwords = phone_passwords()
        users = users or sorted(passwords)
        csv = self.tmp / f"phones-{'-'.join(users)}.csv"
        csv.write_text("SEQUENTIAL\n" + "".join(f"{u};{passwords[u]}\n" for u in users))
        config = SippConfig(scenario_path(scenario), remote=self.box.address,
                            local_port=port or self.phone_port, rate=20, call_limit=1,
                            max_calls=len(users), injection=csv)
        result = SippRun(config, timeout=BOUND, workdir=self.tmp / f"register-{csv.stem}").run()
        if expect_ok:
            assert (result.successful, result.failed) == (len(users), 0), result
        return result

    def agents(self, scenario: str = "agent.xml", port: int | None = None,
               keys: dict[str, str] | None = None, **variables: object) -> SippRun:
        config = SippConfig(scenario_path(scenario), local_port=port or self.phone_port,
                            variables=variables, keys=keys or {})  # type: ignore[arg-type]
        run = SippRun(config, timeout=BOUND, workdir=self.tmp / f"agents-{scenario}").start()
        run.wait_started()
        return run

    def callers(self, scenario: str = "caller.xml", calls: int = 5, talk_ms: int = 1000,
                rate: float = 5, keys: dict[str, str] | None = None) -> SippRun:
        config = SippConfig(scenario_path(scenario), remote=self.box.address,
                            local_port=self.caller_port, rate=rate, max_calls=calls,
                            duration_ms=talk_ms, service="100", keys=keys or {})
        return SippRun(config, timeout=BOUND, workdir=self.tmp / "callers")

    def stop(self) -> list:
        assert self.box.stop() == 0, self.box.log()
        return RecordReader(self.box.records).calls()

    def phone_config(self, user: str, number: str, talk_ms: int,
                     scenario: str = "phone_call.xml", port: int | None = None) -> SippConfig:
        """`user`'s SIPp phone (on `port`, any if None) dialling `number` once and talking
        `talk_ms`, its INVITE digest authenticated."""
        host, port_of_box = self.box.address
        return SippConfig(scenario_path(scenario), remote=self.box.address, local_port=port,
                          rate=1, max_calls=1, duration_ms=talk_ms, service=number,
                          keys={"user": user, "password": phone_passwords()[user]},
                          # The digest's uri must be the INVITE's Request-URI (RFC 3261 22.4).
                          extra_args=("-auth_uri", f"{number}@{host}:{port_of_box}"))


def add_gateway(config: Path, port: int) -> None:
    """Calls out of the site's trunk go to a gateway on 127.0.0.1:`port` (numbers dialled
    with the prefix 9)."""
    site = yaml.safe_load(config.read_text())
    site["trunk_groups"][0]["outbound"] = {"gateway": f"127.0.0.1:{port}", "prefix": "9"}
    config.write_text(yaml.safe_dump(site, sort_keys=False))


def mark_supervisors(config: Path, users: Sequence[str]) -> None:
    """The site's phones of `users` may listen to, whisper to and barge into agents' calls."""
    site = yaml.safe_load(config.read_text())
    for phone in site["sip"]["phones"]:
        phone["supervisor"] = phone["user"] in users
    config.write_text(yaml.safe_dump(site, sort_keys=False))


def answered(floor: Floor) -> int:
    """Calls the event log shows answered so far."""
    events = RecordReader(floor.box.records).events()
    return sum(type(record) is CallAnswered for record in events)


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


def test_agent_who_does_not_answer_is_cancelled_and_the_next_agent_answers(tmp_path):
    floor = Floor(tmp_path, ring_timeout=3, strategy="linear")
    try:
        silent_port = free_udp_port()
        floor.register_phones(users=["1001"], port=silent_port)  # rung first (linear)
        floor.register_phones(users=["1002", "1003"])
        with floor.agents("agent_noanswer.xml", port=silent_port) as silent, floor.agents() as ok:
            result = floor.callers(calls=1).run()
            silent.stop()
            ok.stop()
        assert (result.successful, result.failed) == (1, 0), result
        details = floor.stop()
        assert [(d.agent, d.ring_no_answers, d.cause) for d in details] == [
            ("1002", 1, EndCause.CALLER_HANGUP)]
    finally:
        floor.box.stop()


def test_busy_phone_declines_and_another_agent_answers(tmp_path):
    floor = Floor(tmp_path, strategy="linear")
    try:
        busy_port = free_udp_port()
        floor.register_phones(users=["1001"], port=busy_port)
        floor.register_phones(users=["1002", "1003"])
        with floor.agents("agent_busy.xml", port=busy_port) as busy, floor.agents() as ok:
            result = floor.callers(calls=1).run()
            busy.stop()
            ok.stop()
        assert result.successful == 1, result
        assert [d.agent for d in floor.stop()] == ["1002"]
    finally:
        floor.box.stop()


def test_caller_holds_and_resumes_through_the_appliance(floor):
    floor.register_phones()
    with floor.agents() as agents:
        result = floor.callers("caller_hold.xml", calls=2, talk_ms=500).run()
        agents.stop()
    assert (result.successful, result.failed) == (2, 0), result
    assert [d.cause for d in floor.stop()] == [EndCause.CALLER_HANGUP] * 2


def test_lost_bye_is_ended_by_the_session_timer(tmp_path):
    # 30 s sessions (a lab value; RFC 4028's floor is 90): the appliance refreshes after
    # 15 s, the vanished caller never answers, and the call is ended.
    floor = Floor(tmp_path, sip={"session_expires": 30, "min_se": 30})
    try:
        floor.register_phones()
        with floor.agents() as agents:
            result = floor.callers("caller_lost_bye.xml", calls=1, talk_ms=1000).run()
            wait_until(lambda: bool(RecordReader(floor.box.records).calls()), 70,
                       "the call ended by the session timer")
            agents.stop()
        assert result.successful == 1, result
        details = floor.stop()
        assert [d.cause for d in details] == [EndCause.CALLER_HANGUP]
        assert details[0].talk > 14  # ended by the refresh, not by anything sooner
    finally:
        floor.box.stop()


def test_a_phone_with_the_wrong_password_is_refused(tmp_path):
    floor = Floor(tmp_path)
    try:
        csv = tmp_path / "wrong.csv"
        csv.write_text("SEQUENTIAL\n1001;not-the-password\n")
        config = SippConfig(scenario_path("register.xml"), remote=floor.box.address,
                            local_port=floor.phone_port, rate=5, max_calls=1, injection=csv)
        result = SippRun(config, timeout=BOUND, workdir=tmp_path / "wrong").run()
        assert (result.successful, result.failed) == (0, 1)
        assert "not-the-password" not in floor.box.log()
    finally:
        floor.box.stop()


def test_sigterm_ends_calls_with_bye_and_flushes_records(floor):
    floor.register_phones()
    with floor.agents() as agents:
        callers = floor.callers(calls=3, talk_ms=60_000, rate=20).start()  # one per agent
        callers.wait_started()
        wait_until(lambda: answered(floor) == 3, BOUND, "every call answered")
        status = floor.box.stop()
        result = callers.wait()
        agents.stop()
    assert status == 0, floor.box.log()
    # caller.xml counts a BYE from the far end as a completed call
    assert (result.successful, result.failed) == (3, 0), result
    assert "all calls ended" in floor.box.log()
    details = RecordReader(floor.box.records).calls()
    assert len(details) == 3 and all(d.answered_at is not None for d in details)


def test_calls_that_ended_survive_kill_9_under_load(floor):
    floor.register_phones()
    with floor.agents() as agents:
        result = floor.callers(calls=300, talk_ms=200, rate=100).run()
        # At once: the appliance answers a BYE only once the call's end is on disk.
        floor.box.process.kill()  # SIGKILL to the appliance's PID: no chance to flush
        floor.box.process.wait(10)
        agents.stop()
    assert result.successful == 300, result
    reader = RecordReader(floor.box.records)
    assert reader.integrity_check() == ["ok"]
    assert len(reader.calls()) == 300


def test_sighup_reload_adds_a_phone_and_a_broken_file_keeps_the_running_one(tmp_path):
    import signal

    import yaml

    floor = Floor(tmp_path)
    try:
        config = tmp_path / "site.yaml"
        site = yaml.safe_load(config.read_text())
        removed = site["sip"]["phones"].pop()  # 1003 unknown at start
        config.write_text(yaml.safe_dump(site, sort_keys=False))
        floor.box.process.send_signal(signal.SIGHUP)
        floor.box.wait_for_log("configuration reloaded", within=10)
        assert floor.register_phones(users=["1003"], expect_ok=False).successful == 0
        config.write_text("site: live\nqueues: [oops\n")  # broken: refused, still running
        floor.box.process.send_signal(signal.SIGHUP)
        floor.box.wait_for_log("configuration not reloaded", within=10)
        assert "site.yaml" in floor.box.log()
        site["sip"]["phones"].append(removed)
        config.write_text(yaml.safe_dump(site, sort_keys=False))
        floor.box.process.send_signal(signal.SIGHUP)
        floor.box.wait_for_log(r"configuration reloaded[\s\S]*configuration reloaded", within=10)
        floor.register_phones(users=["1003"])  # now it may register
        assert floor.box.stop() == 0
    finally:
        floor.box.stop()
