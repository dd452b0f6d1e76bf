"""The load generator's own ceiling: SIPp uac -> SIPp uas on 127.0.0.1.

Before SIPp's figures say anything about the appliance, we need to know how
many calls per second SIPp itself carries on this machine. This steps the rate
up (500, 1000, 2000 ... calls/s) with 1 s calls over UDP, both sides with
``-buff_size 4194304`` as in the anchor, and reports the highest rate at which
fewer than 1 call in 10,000 failed and SIPp kept up with the rate asked.

The overload step (`measure_overload`) then drives the appliance itself past what it sustains:
SIPp callers ramping to four times the sustained rate while calls put up before the ramp go
on and a probe sends OPTIONS, and reports what overload must not break - every INVITE
answered, every OPTIONS answered quickly, nothing left held inside the appliance after it.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import yaml

from appliance.events import CallEnded, CallOffered
from appliance.net import Address
from appliance.records.store import RecordReader
from sim.live import ApplianceProcess, media_port_range, write_site
from sim.traffic.sipp import (
    LOCALHOST,
    SippConfig,
    SippResult,
    SippRun,
    free_udp_port,
    invite_outcomes,
    scenario_path,
)

ANCHOR = (
    "SIPp 3.6.1 uac -> uas on 127.0.0.1, UDP, 1 s calls: < 1 % failures up to 8,000 calls/s "
    "with default socket buffers; 25,600 calls/s with -buff_size 4194304 on both sides"
)
DEFAULT_RATES = (500, 1000, 2000, 4000, 8000, 16000, 32000)
BUFF_SIZE = 4194304
MAX_FAILURE_RATIO = 1e-4
# SIPp must place at least this share of the calls asked for in the step's time.
MIN_KEPT_UP = 0.95
# After the last call is placed SIPp gets this long (beyond the calls' hold time) to
# finish the calls in flight; a call still unfinished then counts as failed. It
# covers normal UDP retransmissions (T2 = 4 s) without waiting out Timer B (32 s).
DRAIN = 8.0
_START_UP = 2.0


@dataclass(frozen=True)
class StepFigures:
    """One rate step: what was asked, what SIPp placed and how many failed."""

    rate: int
    placed: int
    successful: int
    failed: int
    unfinished: int
    achieved_rate: float
    failure_ratio: float
    retransmissions: int
    failures: dict[str, int]
    timed_out: bool

    @property
    def passed(self) -> bool:
        return (
            not self.timed_out
            and self.failure_ratio < MAX_FAILURE_RATIO
            and self.achieved_rate >= MIN_KEPT_UP * self.rate
        )


def _step_figures(rate: int, seconds: float, result: SippResult) -> StepFigures:
    unfinished = max(0, result.total - result.successful - result.failed)
    return StepFigures(
        rate=rate,
        placed=result.total,
        successful=result.successful,
        failed=result.failed,
        unfinished=unfinished,
        achieved_rate=result.total / seconds,
        failure_ratio=(result.failed + unfinished) / result.total if result.total else 1.0,
        retransmissions=result.retransmissions,
        failures=dict(result.failures),
        timed_out=result.timed_out,
    )


def _step_bound(seconds: float, call_ms: int) -> float:
    """Longest a step may take, start-up to the end of the drain."""
    return _START_UP + seconds + call_ms / 1000 + DRAIN


def measure_step(rate: int, seconds: float, call_ms: int = 1000) -> StepFigures:
    """Place calls at ``rate`` per second for ``seconds`` and count the outcome.

    A step that ends on its deadline is not a pass (``timed_out``): its calls
    still in flight are counted as ``unfinished`` failures.
    """
    # Failing steps write large error logs: keep them only for the step.
    with tempfile.TemporaryDirectory(prefix="ccbox-bench-sip-") as tmp:
        result = _run_step(Path(tmp), rate, seconds, call_ms)
    return _step_figures(rate, seconds, result)


def _run_step(workdir: Path, rate: int, seconds: float, call_ms: int) -> SippResult:
    bound = _step_bound(seconds, call_ms)
    uas_config = SippConfig("uas", buff_size=BUFF_SIZE)
    with SippRun(uas_config, timeout=bound, workdir=workdir / "uas") as uas:
        uas.wait_started()
        config = SippConfig(
            "uac", remote=uas.address, rate=rate, duration_ms=call_ms, buff_size=BUFF_SIZE
        )
        with SippRun(config, timeout=bound, workdir=workdir / "uac") as uac:
            uac.wait_started()
            time.sleep(seconds)
            uac.stop()
            return uac.wait()


def measure_sipp_ceiling(
    duration_per_step: float = 5.0,
    *,
    rates: Sequence[int] = DEFAULT_RATES,
    call_ms: int = 1000,
    budget: float = 60.0,
) -> dict[str, object]:
    """Step the rate up until a step fails or ``budget`` seconds would be exceeded.

    Returns ``ceiling`` (the highest passing rate in calls/s, 0 if none), the
    ``steps`` (each a dict of :class:`StepFigures` plus ``passed``) and the
    settings used.
    """
    started = time.monotonic()
    steps: list[StepFigures] = []
    for rate in rates:
        spent = time.monotonic() - started
        if spent + _step_bound(duration_per_step, call_ms) > budget:
            break
        steps.append(measure_step(rate, duration_per_step, call_ms))
        if not steps[-1].passed:
            break
    passing = [step.rate for step in steps if step.passed]
    return {
        "ceiling": max(passing, default=0),
        "steps": [asdict(step) | {"passed": step.passed} for step in steps],
        "call_ms": call_ms,
        "duration_per_step": duration_per_step,
        "buff_size": BUFF_SIZE,
        "elapsed": time.monotonic() - started,
    }


def format_figures(figures: dict[str, object]) -> str:
    """The figures as a small table, with the anchor beside the ceiling."""
    head = f"{'rate':>7} {'placed':>8} {'achieved':>9} {'failed':>7} {'unfinished':>10}"
    lines = [f"{head} {'retrans':>8}  result"]
    for step in figures["steps"]:  # type: ignore[attr-defined]
        lines.append(
            f"{step['rate']:>7} {step['placed']:>8} {step['achieved_rate']:>9.0f} "
            f"{step['failed']:>7} {step['unfinished']:>10} {step['retransmissions']:>8}  "
            f"{'pass' if step['passed'] else 'FAIL'} {step['failures'] or ''}"
        )
    lines.append(f"ceiling: {figures['ceiling']} calls/s (< 1 in 10,000 failed)")
    lines.append(f"anchor:  {ANCHOR}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(format_figures(measure_sipp_ceiling()))


# --- the overload step: SIPp through the appliance, ramping past what it sustains ----------

OVERLOAD_FACTOR = 4.0
# What the OPTIONS probe must see during the ramp: every one answered, p99 under this.
MAX_OPTIONS_P99_MS = 200.0
# An answered call that talked this much longer than its caller asked for stayed up inside
# the appliance after the caller's BYE.
STAYED_UP_MARGIN = 5.0
_OVERLOADED = re.compile(r"^(\S+ \S+) WARNING appliance\.live\.udp: (overloaded|load back)",
                         re.MULTILINE)
_KERNEL_DROPS = re.compile(r"the kernel dropped (\d+) SIP datagrams")


class OptionsProbe:
    """Sends OPTIONS to `target` every `interval` seconds from its own thread and times the
    answers, as a trunk peer's keep-alive would."""

    def __init__(self, target: Address, interval: float = 0.05) -> None:
        self.target = target
        self.interval = interval
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOCALHOST, 0))
        self.sock.settimeout(0.01)
        self.sent: dict[str, float] = {}
        self.latencies: list[float] = []
        self._sending = threading.Event()
        self._thread = threading.Thread(target=self._run, name="options-probe", daemon=True)

    def __enter__(self) -> OptionsProbe:
        self._sending.set()
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def stop(self, grace: float = 2.0) -> None:
        """Stop sending; wait up to `grace` seconds for answers still on their way."""
        if self._sending.is_set():
            self._sending.clear()
            self._thread.join(grace + 1.0)
            self.sock.close()

    def _run(self) -> None:
        number = 0
        next_send = time.monotonic()
        stop_at = float("inf")
        while time.monotonic() < stop_at:
            now = time.monotonic()
            if self._sending.is_set() and now >= next_send:
                number += 1
                self._send(number, now)
                next_send = now + self.interval
            elif not self._sending.is_set() and stop_at == float("inf"):
                stop_at = now + 2.0
            self._receive()

    def _send(self, number: int, now: float) -> None:
        branch = f"z9hG4bKprobe{number}"
        port = self.sock.getsockname()[1]
        request = (f"OPTIONS sip:ccbox@{self.target[0]}:{self.target[1]} SIP/2.0\r\n"
                   f"Via: SIP/2.0/UDP {LOCALHOST}:{port};branch={branch}\r\n"
                   "Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=probe\r\n"
                   f"To: <sip:ccbox@{self.target[0]}>\r\nCall-ID: probe-{port}-{number}\r\n"
                   f"CSeq: {number} OPTIONS\r\nContent-Length: 0\r\n\r\n")
        self.sent[branch] = now
        with contextlib.suppress(OSError):
            self.sock.sendto(request.encode(), self.target)

    def _receive(self) -> None:
        try:
            data = self.sock.recv(65535)
        except (TimeoutError, OSError):
            return
        found = re.search(rb"branch=(z9hG4bKprobe\d+)", data)
        if found is None or not data.startswith(b"SIP/2.0 200"):
            return
        sent = self.sent.pop(found.group(1).decode(), None)
        if sent is not None:
            self.latencies.append(time.monotonic() - sent)

    @property
    def unanswered(self) -> int:
        return len(self.sent)


@dataclass(frozen=True)
class OverloadFigures:
    """One overload step: calls placed at a rate ramping from `sustained` to `peak` calls/s
    over `ramp_seconds`, with calls already up and an OPTIONS probe running meanwhile."""

    sustained: float
    peak: float
    ramp_seconds: float
    placed: int
    answered: int
    refused: int
    without_final: int  # INVITEs that never got a final response (must be 0)
    options_sent: int
    options_answered: int
    options_p99_ms: float
    calls_up_before: int
    calls_up_completed: int
    recovery_seconds: float | None  # None: still overloaded when the step ended
    overloads: int  # times the appliance said it was overloaded
    kernel_drops: int
    held_after: float  # seconds after the ramp that the two figures below were taken
    calls_held: int
    media_ports_held: int
    stayed_up_after_bye: int

    @property
    def passed(self) -> bool:
        return (self.without_final == 0 and self.options_answered == self.options_sent
                and self.options_p99_ms < MAX_OPTIONS_P99_MS
                and self.calls_up_completed == self.calls_up_before
                and self.recovery_seconds is not None and self.calls_held == 0
                and self.media_ports_held == 0 and self.stayed_up_after_bye == 0)


class _OverloadFloor:
    """The appliance with `agents` SIPp phones registered and answering, and two trunk peers:
    the ramping caller and the caller whose calls are up before the ramp."""

    def __init__(self, workdir: Path, agents: int) -> None:
        self.workdir = workdir
        self.ramp_port, self.before_port, phone_port = (free_udp_port() for _ in range(3))
        self.ports = media_port_range(4 * agents + 4000)
        users = {str(2000 + n): f"pw-{2000 + n}" for n in range(1, agents + 1)}
        # Every phone registers through one SIPp port, as phones behind an SBC do: exempt
        # from the per-source request limit.
        config = write_site(workdir / "site.yaml", self.ramp_port, users,
                            sip={"session_expires": 1800, "max_calls": 100_000,
                                 "request_limit": {"exempt": [f"{LOCALHOST}:{phone_port}"]}},
                            media={"rtp_port_min": self.ports[0], "rtp_port_max": self.ports[1]},
                            channels=100_000, ring_timeout=30, max_wait=30)
        site = yaml.safe_load(config.read_text())
        site["trunk_groups"][0]["peers"].append(f"{LOCALHOST}:{self.before_port}")
        config.write_text(yaml.safe_dump(site, sort_keys=False))
        self.box = ApplianceProcess(config, workdir, log_level="warning")
        csv = workdir / "phones.csv"
        csv.write_text("SEQUENTIAL\n" + "".join(f"{u};{p}\n" for u, p in users.items()))
        register = SippConfig(scenario_path("register.xml"), remote=self.box.address,
                              local_port=phone_port, rate=200, call_limit=50,
                              max_calls=agents, injection=csv)
        registered = SippRun(register, timeout=120, workdir=workdir / "register").run()
        if registered.successful != agents:
            raise RuntimeError(f"only {registered.successful} of {agents} phones registered")
        agent = SippConfig(scenario_path("agent.xml"), local_port=phone_port,
                           buff_size=BUFF_SIZE)
        self.agents = SippRun(agent, timeout=3600, workdir=workdir / "agents").start()
        self.agents.wait_started()

    def caller(self, port: int, rate: float, talk_ms: int, name: str, timeout: float,
               max_calls: int | None = None) -> SippRun:
        config = SippConfig(scenario_path("caller.xml"), remote=self.box.address,
                            local_port=port, rate=rate, duration_ms=talk_ms, service="100",
                            buff_size=BUFF_SIZE, max_calls=max_calls)
        run = SippRun(config, timeout=timeout, workdir=self.workdir / name).start()
        run.wait_started()
        return run

    def media_ports_bound(self) -> int:
        """UDP ports of the media range the appliance holds right now (Linux /proc): its own
        sockets only, since other programs on the machine may use the same range."""
        low, high = self.ports
        fds = Path(f"/proc/{self.box.process.pid}/fd")
        owned = set()
        with contextlib.suppress(OSError):
            for fd in fds.iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if target.startswith("socket:["):
                        owned.add(target[8:-1])
        bound = 0
        for table in ("/proc/net/udp", "/proc/net/udp6"):
            with contextlib.suppress(OSError):
                for line in Path(table).read_text().splitlines()[1:]:
                    fields = line.split()
                    port = int(fields[1].rsplit(":", 1)[1], 16)
                    bound += low <= port <= high and fields[9] in owned
        return bound

    def close(self) -> None:
        self.agents.stop()
        self.agents.kill()
        self.box.stop()


def measure_overload(sustained: float, ramp_seconds: float = 60.0, *,
                     factor: float = OVERLOAD_FACTOR, talk_ms: int = 1000, agents: int = 1000,
                     calls_before: int = 20, held_after: float = 60.0) -> OverloadFigures:
    """Ramp SIPp callers from `sustained` to `factor` times that over `ramp_seconds`, with
    `calls_before` calls put up first (lasting past the ramp) and an OPTIONS probe running;
    then take the figures, the last two `held_after` seconds after the ramp ended."""
    with tempfile.TemporaryDirectory(prefix="ccbox-bench-overload-") as tmp:
        floor = _OverloadFloor(Path(tmp), agents)
        try:
            return _overload_step(floor, sustained, sustained * factor, ramp_seconds,
                                  talk_ms, calls_before, held_after)
        finally:
            floor.close()


def _overload_step(floor: _OverloadFloor, sustained: float, peak: float, ramp_seconds: float,
                   talk_ms: int, calls_before: int, held_after: float) -> OverloadFigures:
    before_talk_ms = int((ramp_seconds + 15) * 1000)
    bound = ramp_seconds + held_after + 120
    before = floor.caller(floor.before_port, max(calls_before, 1), before_talk_ms, "before",
                          bound, max_calls=calls_before)
    time.sleep(calls_before / max(calls_before, 1) + 2.0)  # all of them up
    with OptionsProbe(floor.box.address) as probe:
        ramp = floor.caller(floor.ramp_port, sustained, talk_ms, "ramp", bound)
        started = time.monotonic()
        while (elapsed := time.monotonic() - started) < ramp_seconds:
            ramp.set_rate(sustained + (peak - sustained) * elapsed / ramp_seconds)
            time.sleep(0.5)
        ramp_end = time.time()
        ramp.stop()
        probe.stop()
    ramped = ramp.wait()
    before_result = before.wait()
    time.sleep(max(0.0, ramp_end + held_after - time.time()))
    outcomes = invite_outcomes(ramped.counts)
    records = RecordReader(floor.box.records)
    log = floor.box.log()
    return OverloadFigures(
        sustained=sustained, peak=peak, ramp_seconds=ramp_seconds,
        placed=outcomes.sent, answered=outcomes.answered, refused=outcomes.refused,
        without_final=outcomes.without_final,
        options_sent=len(probe.latencies) + probe.unanswered,
        options_answered=len(probe.latencies),
        options_p99_ms=_percentile(probe.latencies, 0.99) * 1000,
        calls_up_before=calls_before, calls_up_completed=before_result.successful,
        recovery_seconds=_recovery(log, ramp_end),
        overloads=sum(1 for _, what in _OVERLOADED.findall(log) if what == "overloaded"),
        kernel_drops=sum(int(n) for n in _KERNEL_DROPS.findall(log)),
        held_after=held_after, calls_held=_calls_not_ended(records),
        media_ports_held=floor.media_ports_bound(),
        stayed_up_after_bye=_stayed_up(records, calls_before, talk_ms / 1000),
    )


def _percentile(values: Sequence[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _recovery(log: str, ramp_end: float) -> float | None:
    """Seconds from the end of the ramp until the appliance said its load was back to normal
    (0 if it was before); None if its last word was that it was overloaded."""
    said = _OVERLOADED.findall(log)
    if not said:
        return 0.0
    stamp, what = said[-1]
    if what == "overloaded":
        return None
    when = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
    return max(0.0, when - ramp_end)


def _calls_not_ended(records: RecordReader) -> int:
    offered = {r.call for r in records.events() if isinstance(r, CallOffered)}
    ended = {r.call for r in records.events() if isinstance(r, CallEnded)}
    return len(offered - ended)


def _stayed_up(records: RecordReader, calls_before: int, talk: float) -> int:
    """Calls of the ramp that talked well past their caller's BYE (the first `calls_before`
    calls are the long ones put up before the ramp)."""
    return sum(1 for detail in records.calls()
               if detail.call > calls_before and detail.talk > talk + STAYED_UP_MARGIN)


def format_overload(figures: OverloadFigures) -> str:
    """The overload step's figures, each beside what it must be."""
    f = figures
    recovery = "not recovered" if f.recovery_seconds is None else f"{f.recovery_seconds:.1f} s"
    lines = [
        f"overload step: {f.sustained:g} -> {f.peak:g} calls/s over {f.ramp_seconds:g} s: "
        f"{f.placed} INVITEs, {f.answered} answered, {f.refused} refused (503 ...)",
        f"  INVITEs without any final response: {f.without_final} (must be 0)",
        f"  OPTIONS answered: {f.options_answered} of {f.options_sent}, p99 "
        f"{f.options_p99_ms:.0f} ms (must be all, p99 < {MAX_OPTIONS_P99_MS:.0f} ms)",
        f"  calls up before the ramp that completed: {f.calls_up_completed} of "
        f"{f.calls_up_before} (must be all)",
        f"  recovery after the ramp: {recovery} ({f.overloads} overload episodes, "
        f"{f.kernel_drops} datagrams dropped by the kernel)",
        f"  {f.held_after:g} s after the ramp: {f.calls_held} calls and {f.media_ports_held} "
        "media ports still held (must be 0)",
        f"  calls whose BYE was answered but stayed up: {f.stayed_up_after_bye} (must be 0)",
        f"  {'pass' if f.passed else 'FAIL'}",
    ]
    return "\n".join(lines)
