"""The load generator's own ceiling: SIPp uac -> SIPp uas on 127.0.0.1.

Before SIPp's figures say anything about the appliance, we need to know how
many calls per second SIPp itself carries on this machine. This steps the rate
up (500, 1000, 2000 ... calls/s) with 1 s calls over UDP, both sides with
``-buff_size 4194304`` as in the anchor, and reports the highest rate at which
fewer than 1 call in 10,000 failed and SIPp kept up with the rate asked.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from sim.traffic.sipp import SippConfig, SippResult, SippRun

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
