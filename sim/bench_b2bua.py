"""The appliance's own call rate: SIPp callers -> `ccbox serve` (queue + ACD) -> SIPp agents.

Phones for `agents` seats register with digest authentication, one SIPp UAS answers for all
of them, and a SIPp caller places calls at rising rates. With `transfer`, every call is
blind-transferred once: the agents of a first queue answer and, a third of the call in, send
REFER to a second queue (agent_transfer.xml), whose agents (as many again, another SIPp UAS)
answer and talk until the caller hangs up - two agent legs, a REFER, a NOTIFY and a requeue
a call. A step passes when fewer than 1 call
in 10,000 failed (or none, when the step had fewer than 10,000 calls) and the appliance kept
up with the rate. The appliance's CPU time per call is read from /proc.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from appliance.events import CallTransferred
from appliance.records.store import RecordReader
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
    untransferred: int = 0  # successful calls the appliance has no transfer of, in a transfer run

    @property
    def passed(self) -> bool:
        failed = (self.failed + max(0, self.placed - self.successful - self.failed)
                  + self.untransferred)
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


def _users(count: int, base: int = 2000) -> dict[str, str]:
    return {str(base + n): f"pw-{base + n}" for n in range(1, count + 1)}


FIRST, SECOND = "service", "second"  # the queues of a transfer run: callers reach the first


def _two_queues(config: Path, first: dict[str, str], second: dict[str, str]) -> None:
    """`config` (write_site's one-queue site) with a second queue that `second`'s phones
    serve, the first queue's phones being `first`'s."""
    site = yaml.safe_load(config.read_text())
    queue = site["queues"][0]
    site["queues"] = [queue, {**queue, "name": SECOND}]
    site["agents"] = [{"id": f"{min(first)}-{max(first)}", "skills": {FIRST: 5}},
                      {"id": f"{min(second)}-{max(second)}", "skills": {SECOND: 5}}]
    config.write_text(yaml.safe_dump(site, sort_keys=False))


class _Floor:
    """The appliance with `agents` registered SIPp phones answering for them."""

    def __init__(self, workdir: Path, agents: int, session_expires: int = 1800,
                 transfer_after_ms: int | None = None) -> None:
        self.workdir = workdir
        self.caller_port = free_udp_port()
        users = _users(agents)
        second = _users(agents, 3000) if transfer_after_ms is not None else {}
        # Every relay port this process may use: 5,500 calls' worth on its own, half that
        # beside another pytest worker.
        low, high = media_port_window()
        # Each group of phones registers through one SIPp port, as phones behind an SBC do:
        # exempt from the per-source request limit.
        config = write_site(workdir / "site.yaml", self.caller_port, users | second,
                            sip={"session_expires": session_expires, "max_calls": 100_000,
                                 "request_limit": {"exempt": ["127.0.0.1"]}},
                            media={"rtp_port_min": low, "rtp_port_max": high},
                            channels=100_000, ring_timeout=30)
        if second:
            _two_queues(config, users, second)
        self.box = ApplianceProcess(config, workdir, log_level="warning")
        self.phones: list[SippRun] = []
        try:
            if second:
                self._phones("agents", users, "agent_transfer.xml", service=SECOND,
                             variables={"talk_ms": transfer_after_ms})
                self._phones("second", second, "agent.xml")
            else:
                self._phones("agents", users, "agent.xml")
        except BaseException:
            self.close()  # phones that failed to register: stop what was started
            raise

    def _phones(self, name: str, users: dict[str, str], scenario: str,
                service: str | None = None, variables: dict[str, int] | None = None) -> None:
        """`users` register from one port, where a SIPp UAS playing `scenario` answers."""
        port = free_udp_port()
        csv = self.workdir / f"{name}.csv"
        csv.write_text("SEQUENTIAL\n" + "".join(f"{u};{p}\n" for u, p in users.items()))
        register = SippConfig(scenario_path("register.xml"), remote=self.box.address,
                              local_port=port, rate=500, call_limit=100,
                              max_calls=len(users), injection=csv)
        result = SippRun(register, timeout=120, workdir=self.workdir / f"register-{name}").run()
        if result.successful != len(users):
            raise RuntimeError(f"only {result.successful} of {len(users)} phones registered")
        agent = SippConfig(scenario_path(scenario), local_port=port, buff_size=BUFF_SIZE,
                           service=service, variables=variables or {})
        phones = SippRun(agent, timeout=3600, workdir=self.workdir / name).start()
        self.phones.append(phones)
        phones.wait_started()

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

    def transfers(self) -> int:
        """Calls blind-transferred so far, by the appliance's records."""
        reader = RecordReader(self.box.records)
        return sum(1 for record in reader.events() if isinstance(record, CallTransferred))

    def close(self) -> None:
        for phones in self.phones:
            phones.stop()
            phones.kill()
        self.box.stop()


def measure_b2bua(rates: Sequence[int] = DEFAULT_RATES, seconds: float = 10.0,
                  talk_ms: int = 1000, agents: int = 1000,
                  transfer: bool = False) -> dict[str, object]:
    """Step the call rate up until a step fails; the highest passing rate is `sustained`.
    With `transfer`, every call is blind-transferred once, a third of its talk time in, and a
    step passes only if the appliance's records hold a transfer for every successful call."""
    steps: list[B2buaStep] = []
    with tempfile.TemporaryDirectory(prefix="ccbox-bench-b2bua-") as tmp:
        floor = _Floor(Path(tmp), agents, transfer_after_ms=talk_ms // 3 if transfer else None)
        try:
            for rate in rates:
                steps.append(_step(floor, rate, seconds, talk_ms, transfer))
                if not steps[-1].passed:
                    break
        finally:
            floor.close()
    passing = [step.rate for step in steps if step.passed]
    return {"sustained": max(passing, default=0), "agents": agents, "talk_ms": talk_ms,
            "seconds": seconds, "transfer": transfer,
            "steps": [asdict(s) | {"passed": s.passed} for s in steps]}


def _step(floor: _Floor, rate: int, seconds: float, talk_ms: int, transfer: bool) -> B2buaStep:
    before = floor.transfers() if transfer else 0
    run = floor.calls(rate, seconds, talk_ms)
    untransferred = max(0, run.successful - (floor.transfers() - before)) if transfer else 0
    cpu_ms = 1000 * run.cpu_seconds / run.placed if run.placed else 0.0
    return B2buaStep(rate, run.placed, run.successful, run.failed, run.achieved_rate, cpu_ms,
                     run.failures, run.timed_out, untransferred)


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
