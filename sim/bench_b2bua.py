"""The appliance's own call rate: SIPp callers -> `ccbox serve` (queue + ACD) -> SIPp agents.

Phones for `agents` seats register with digest authentication, one SIPp UAS answers for all
of them, and a SIPp caller places calls at rising rates. A step passes when fewer than 1 call
in 10,000 failed (or none, when the step had fewer than 10,000 calls) and the appliance kept
up with the rate. The appliance's CPU time per call is read from /proc.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from sim.live import ApplianceProcess, media_port_window, write_site
from sim.traffic.sipp import SippConfig, SippRun, free_udp_port, scenario_path

ASTERISK_ANCHOR = ("Asterisk 23.4 app_queue + chan_pjsip, same set-up: 0 failures at 125 calls/s "
                   "(about 12 ms CPU per call), 7 % failures at 150 calls/s; 1,794 concurrent")
BUFF_SIZE = 4194304
MAX_FAILURE_RATIO = 1e-4
MIN_KEPT_UP = 0.95
DEFAULT_RATES = (50, 100, 200, 300, 400, 500, 700)


@dataclass(frozen=True)
class B2buaStep:
    rate: int
    placed: int
    successful: int
    failed: int
    achieved_rate: float
    cpu_ms_per_call: float
    failures: dict[str, int]
    timed_out: bool

    @property
    def passed(self) -> bool:
        failed = self.failed + max(0, self.placed - self.successful - self.failed)
        ratio = failed / self.placed if self.placed else 1.0
        return (not self.timed_out and self.achieved_rate >= MIN_KEPT_UP * self.rate
                and ratio < MAX_FAILURE_RATIO)


@dataclass(frozen=True)
class CallerRun:
    placed: int
    successful: int
    failed: int
    timed_out: bool
    failures: dict[str, int]
    cpu_seconds: float
    achieved_rate: float


def _users(count: int) -> dict[str, str]:
    return {str(2000 + n): f"pw-{2000 + n}" for n in range(1, count + 1)}


class _Floor:
    """The appliance with `agents` registered SIPp phones answering for them."""

    def __init__(self, workdir: Path, agents: int, session_expires: int = 1800) -> None:
        self.workdir = workdir
        self.caller_port = free_udp_port()
        self.phone_port = free_udp_port()
        users = _users(agents)
        # Every relay port this process may use: 5,500 calls' worth on its own, half that
        # beside another pytest worker.
        low, high = media_port_window()
        config = write_site(workdir / "site.yaml", self.caller_port, users,
                            sip={"session_expires": session_expires, "max_calls": 100_000},
                            media={"rtp_port_min": low, "rtp_port_max": high},
                            channels=100_000, ring_timeout=30)
        self.box = ApplianceProcess(config, workdir, log_level="warning")
        csv = workdir / "phones.csv"
        csv.write_text("SEQUENTIAL\n" + "".join(f"{u};{p}\n" for u, p in users.items()))
        register = SippConfig(scenario_path("register.xml"), remote=self.box.address,
                              local_port=self.phone_port, rate=500, call_limit=100,
                              max_calls=agents, injection=csv)
        result = SippRun(register, timeout=120, workdir=workdir / "register").run()
        if result.successful != agents:
            raise RuntimeError(f"only {result.successful} of {agents} phones registered")
        agent = SippConfig(scenario_path("agent.xml"), local_port=self.phone_port,
                           buff_size=BUFF_SIZE)
        self.agents = SippRun(agent, timeout=3600, workdir=workdir / "agents").start()
        self.agents.wait_started()

    def calls(self, rate: float, seconds: float, talk_ms: int) -> CallerRun:
        caller = SippConfig(scenario_path("caller.xml"), remote=self.box.address,
                            local_port=self.caller_port, rate=rate,
                            max_calls=int(rate * seconds), duration_ms=talk_ms,
                            service="100", buff_size=BUFF_SIZE)
        cpu = self.box.cpu_seconds()
        bound = seconds + talk_ms / 1000 + 40
        workdir = self.workdir / f"callers-{rate}"
        with SippRun(caller, timeout=bound, workdir=workdir) as run:
            run.wait_started()
            result = run.wait()
        used = self.box.cpu_seconds() - cpu
        # The run lasts from the first call placed to the last one ended: placing took that
        # long less one call's ring and talk time (SIPp falls behind if the appliance does).
        placing = max(seconds, result.elapsed - talk_ms / 1000 - 0.5)
        return CallerRun(result.total, result.successful, result.failed, result.timed_out,
                         dict(result.failures), used, result.total / placing)

    def close(self) -> None:
        self.agents.stop()
        self.agents.kill()
        self.box.stop()


def measure_b2bua(rates: Sequence[int] = DEFAULT_RATES, seconds: float = 10.0,
                  talk_ms: int = 1000, agents: int = 1000) -> dict[str, object]:
    """Step the call rate up until a step fails; the highest passing rate is `sustained`."""
    steps: list[B2buaStep] = []
    with tempfile.TemporaryDirectory(prefix="ccbox-bench-b2bua-") as tmp:
        floor = _Floor(Path(tmp), agents)
        try:
            for rate in rates:
                run = floor.calls(rate, seconds, talk_ms)
                cpu_ms = 1000 * run.cpu_seconds / run.placed if run.placed else 0.0
                steps.append(B2buaStep(rate, run.placed, run.successful, run.failed,
                                       run.achieved_rate, cpu_ms, run.failures, run.timed_out))
                if not steps[-1].passed:
                    break
        finally:
            floor.close()
    passing = [step.rate for step in steps if step.passed]
    return {"sustained": max(passing, default=0), "agents": agents, "talk_ms": talk_ms,
            "seconds": seconds, "steps": [asdict(s) | {"passed": s.passed} for s in steps]}


def measure_concurrent(target: int = 1000, rate: int = 100, talk_ms: int = 30_000,
                       agents: int | None = None) -> dict[str, object]:
    """Hold `target` calls up at once (calls of `talk_ms` placed at `rate`): how many of
    them completed, and the appliance's CPU time while they were up."""
    agents = agents or target + 100
    with tempfile.TemporaryDirectory(prefix="ccbox-bench-concurrent-") as tmp:
        floor = _Floor(Path(tmp), agents)
        try:
            run = floor.calls(rate, target / rate, talk_ms)
        finally:
            floor.close()
    # Calls last talk_ms and arrive at `rate`: at the peak rate x talk are up at once.
    peak = min(run.placed, int(rate * talk_ms / 1000))
    return {"target": target, "peak_concurrent": peak, "rate": rate, "talk_ms": talk_ms,
            "placed": run.placed, "successful": run.successful, "failed": run.failed,
            "timed_out": run.timed_out, "failures": run.failures,
            "cpu_seconds": run.cpu_seconds, "held": run.successful == run.placed}
