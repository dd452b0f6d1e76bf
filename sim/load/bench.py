"""The highest load `ccbox load` itself generates on this machine: `ccbox bench load`.

A synthetic site - one queue, agents enough for the rate, calls of about a second, no IVR,
no recording - is driven through `LiveLoad` against a local `ccbox serve` at rising call
rates, a fresh box each step. Each step measures what the load side placed, its own CPU (this
process, `time.process_time`), how late its events ran (the pacer's lag), the failures its
user agents saw, and the box's CPU (/proc). The ramp stops at the first step where the load
side fell behind (lag over a bound, or fewer calls placed than the rate offers) or a call
failed; the last step before it is the ceiling. The load side was the limit if it fell
behind there; the box, if the load kept pace and the box refused calls (503: overload).
Both run on this machine, so each takes CPU the other could have had.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from appliance.config import Site
from appliance.config.loader import load_site
from appliance.live.prompt_build import ensure_default_music, ensure_default_prompts
from sim.agents.schedule import PlannedStep
from sim.live import ApplianceProcess, media_port_range
from sim.load.host import cpu_and_rss
from sim.load.realtime import Lag
from sim.load.world import LiveLoad, LoadSeen, lab_site_file
from sim.traffic.arrivals import RateProfile

DEFAULT_RATES = (10, 20, 40, 80, 120, 160, 200, 240, 320, 400)
TALK = 1.0  # seconds: the mean talk time of the synthetic calls
ANSWER = 0.2  # seconds: the agents' mean answer delay
HOLDING = ANSWER + TALK + 0.5  # an agent's time a call, with the box's ring and signalling
AGENT_MARGIN = 2.0  # agents per busy agent: callers must not wait for one
MAX_LAG_MEAN = 0.05  # seconds: a load side later than this on average has fallen behind
MAX_LAG_WORST = 1.0  # seconds: ... or this late once
LOGINS_PER_S = 50.0  # agents log in before the calls, not all at once (see staggered)
# Seconds before the first login: every phone registers at the start, and a box given some
# 800 REGISTERs at once is overloaded for over a second (it refuses new calls, logins too).
LOGIN_AFTER = 4.0
POISSON_SIGMAS = 3.0  # calls placed this many standard deviations below the offer: behind
BOX_FIGURE = ("the box alone (ccbox bench sip, SIPp callers and agents): 400 calls/s at "
              "2.7 ms CPU a call, 2-core Debian 12, quiet machine")


def bench_site(rate: float, agents: int) -> Site:
    """One queue served by `agents` agents, offered `rate` calls a second of about `TALK`
    seconds' talk by callers who never give up; no IVR, no recording, no wrap-up."""
    return Site.model_validate({
        "site": "bench",
        "trunk_groups": [{"name": "pstn", "kind": "sip", "channels": 100_000,
                          "peers": ["127.0.0.1:5070"]}],
        "queues": [{"name": "service", "strategy": "longest_idle", "ring_timeout": 15,
                    "wrap_up": 0}],
        "agents": [{"id": f"10001-{10000 + agents}", "skills": {"service": 5},
                    "shift": {"start": "08:00", "end": "17:00"}}],
        "routes": [{"trunk_group": "pstn", "queue": "service"}],
        "sip": {"max_calls": 100_000},
        "traffic": {
            "start": "08:00", "interval_minutes": 60, "calls_per_hour": [rate * 3600],
            "call_types": [{"name": "service", "trunk_group": "pstn", "callers": 10_000_000,
                            "talk_time": {"dist": "lognormal", "mean": TALK, "sd": 0.3},
                            "patience": {"dist": "exponential", "mean": 3600}}]},
        "agent_behaviour": {"answer_delay": {"dist": "lognormal", "mean": ANSWER, "sd": 0.05},
                            "no_answer_probability": 0.0},
    })


def agents_for(rate: float) -> int:
    """Agents enough that `rate` calls a second never wait long for one."""
    return math.ceil(rate * HOLDING * AGENT_MARGIN) + 2


@dataclass(frozen=True)
class LoadStep:
    """One rate's run: what the load side placed and spent, how late it ran, what failed,
    and what the box spent. CPU, wall time and lag are those of the calls' window, from the
    first call that could be placed to the last (no warm-up, no drain); failures are those
    after the warm-up."""

    rate: float
    agents: int
    seconds: float
    wall: float
    placed: int
    load_cpu: float
    box_cpu: float
    lag_mean: float
    lag_worst: float
    failures: dict[str, int] = field(default_factory=dict)
    registrations_refused: int = 0
    drained: bool = True
    # Failures before the calls began: logins the box refused as overload (the start's
    # burst of registrations, not the load's rate); agents are twice enough without them.
    warm_up_failures: int = 0

    @property
    def placed_per_s(self) -> float:
        return self.placed / self.seconds

    @property
    def load_ms_per_call(self) -> float:
        return 1000 * self.load_cpu / self.placed if self.placed else 0.0

    @property
    def box_ms_per_call(self) -> float:
        return 1000 * self.box_cpu / self.placed if self.placed else 0.0

    @property
    def load_percent(self) -> float:
        """The load side's CPU over the run, in percent of one core."""
        return 100 * self.load_cpu / self.wall

    @property
    def box_percent(self) -> float:
        return 100 * self.box_cpu / self.wall

    @property
    def late(self) -> bool:
        return self.lag_mean > MAX_LAG_MEAN or self.lag_worst > MAX_LAG_WORST

    @property
    def short(self) -> bool:
        """Fewer calls placed than the rate offers, beyond the Poisson arrivals' chance."""
        offered = self.rate * self.seconds
        return self.placed < offered - POISSON_SIGMAS * math.sqrt(offered)

    @property
    def fell_behind(self) -> bool:
        return self.late or self.short

    @property
    def problems(self) -> list[str]:
        """Why the step does not count as kept up (empty: it does)."""
        found = []
        if self.late:
            found.append(f"late {self.lag_mean * 1000:.0f}/{self.lag_worst * 1000:.0f} ms")
        if self.short:
            found.append(f"placed {self.placed} of {self.rate * self.seconds:.0f}")
        if self.failures or self.registrations_refused or not self.drained:
            found.append(_failures(self))
        return found

    @property
    def passed(self) -> bool:
        return not self.problems


def _failures(step: LoadStep) -> str:
    failed = ", ".join(f"{what} x{count}" for what, count in sorted(step.failures.items()))
    parts = [failed] if failed else []
    if step.registrations_refused:
        parts.append(f"{step.registrations_refused} registrations refused")
    if not step.drained:
        parts.append("calls left up")
    return "; ".join(parts)


def measure_step(rate: float, seconds: float, folder: Path, seed: int = 1) -> LoadStep:
    """Drive a fresh box in `folder` with `rate` calls a second for `seconds`, after a
    warm-up in which its agents log in (`warm_up`)."""
    agents = agents_for(rate)
    folder.mkdir(parents=True, exist_ok=True)
    low, high = media_port_range()
    # The default prompts and music, built once for every step rather than by each box.
    media = {"prompts": str(ensure_default_prompts("en")), "music": str(ensure_default_music()),
             "rtp_port_min": low, "rtp_port_max": high,
             "recording": {"enabled": False, "folder": str(folder / "recordings")}}
    lead = warm_up(agents)
    lab_path = lab_site_file(bench_site(rate, agents), folder, (lead + seconds) / 60, media)
    box = ApplianceProcess(lab_path, folder, log_level="warning")
    try:
        load = LiveLoad(load_site(lab_path), seed, (lead + seconds) / 60, box.address,
                        box.records)
        load.people.plan = staggered(load.people.plan, LOGINS_PER_S)
        # Quiet for the warm-up, then `rate`: a profile repeats, so long enough to outlast it.
        load.people.callers.profile = RateProfile(
            [0.0] + [rate * 3600] * math.ceil(seconds / lead + 1), lead)
        window = _Window(load, box, lead)
        seen = load.run(window)
    finally:
        box.stop()
    return window.step(rate, agents, seconds, seen)


def warm_up(agents: int) -> float:
    """Whole seconds for `agents` to log in at `LOGINS_PER_S` from `LOGIN_AFTER` on, and a
    second more, before the first call."""
    return float(math.ceil(LOGIN_AFTER + agents / LOGINS_PER_S) + 1)


def staggered(plan: list[PlannedStep], per_second: float) -> list[PlannedStep]:
    """`plan`'s logins at the start spread at `per_second` from `LOGIN_AFTER` on: hundreds
    of logins within the same millisecond, on top of the phones' registrations, are a burst
    the box refuses (503) as overload, and what the bench measures is the call rate."""
    spread, count = [], 0
    for step in plan:
        if step.kind == "login" and step.at == 0.0:
            step, count = step._replace(at=LOGIN_AFTER + count / per_second), count + 1
        spread.append(step)
    return sorted(spread, key=lambda step: step.at)


class _Window:
    """The load's progress callback that reads both sides' CPU and the wall clock as the
    calls begin (the warm-up over: the lag counts afresh) and as they stop (the drain not
    counted)."""

    def __init__(self, load: LiveLoad, box: ApplianceProcess, lead: float) -> None:
        self.load = load
        self.box = box
        self.lead = lead
        self.marks: list[tuple[float, float, float]] = []  # (load CPU, box CPU, wall)
        self.lag = Lag()
        self.before: Counter[str] = Counter()  # failures in the warm-up

    def __call__(self, _done: float) -> None:
        now = self.load.env.now
        if (not self.marks and now >= self.lead) or (len(self.marks) == 1
                                                     and now >= self.load.length):
            self.marks.append((time.process_time(), _box_cpu(self.box), time.monotonic()))
            if len(self.marks) == 1:
                self.before = Counter(self.load.seen.failures)
            self.lag = replace(self.load.pacer.lag)
            self.load.pacer.lag.reset()

    def step(self, rate: float, agents: int, seconds: float, seen: LoadSeen) -> LoadStep:
        (load_a, box_a, wall_a), (load_b, box_b, wall_b) = self.marks
        return LoadStep(rate, agents, seconds, wall_b - wall_a, seen.calls_placed,
                        load_b - load_a, box_b - box_a, self.lag.mean, self.lag.worst,
                        dict(seen.failures - self.before),
                        sum(seen.registration_failures.values()), seen.drained,
                        self.before.total())


def _box_cpu(box: ApplianceProcess) -> float:
    figures = cpu_and_rss(box.process.pid)
    if figures is None:
        raise RuntimeError(f"the appliance exited during the benchmark: {box.log()}")
    return figures[0]


@dataclass(frozen=True)
class Ceiling:
    """The steps run, the last that kept up (None: not even the first), and which side was
    the busier at the first that did not (None: every step kept up)."""

    steps: list[LoadStep]

    @property
    def top(self) -> LoadStep | None:
        return next((step for step in reversed(self.steps) if step.passed), None)

    @property
    def limit(self) -> str | None:
        """"load" if the first step that did not keep up fell behind (late, or placed too
        few calls), "box" if the load kept pace but calls failed, None if none failed."""
        failed = next((step for step in self.steps if not step.passed), None)
        if failed is None:
            return None
        return "load" if failed.fell_behind else "box"


def measure_ceiling(folder: Path, rates: Sequence[float] = DEFAULT_RATES,
                    seconds: float = 20.0, seed: int = 1,
                    before: Callable[[float], None] | None = None) -> Ceiling:
    """Step through `rates` (calls a second) until a step does not keep up; `before(rate)`
    is told each rate as it starts."""
    steps: list[LoadStep] = []
    for rate in rates:
        if before is not None:
            before(rate)
        steps.append(measure_step(rate, seconds, folder / f"rate-{rate:g}", seed))
        if not steps[-1].passed:
            break
    return Ceiling(steps)


def summary(ceiling: Ceiling) -> list[str]:
    """The ceiling in words: the rate and agents, each side's CPU there, which side was the
    limit at the next step, and the box's own figure beside it."""
    top, steps = ceiling.top, ceiling.steps
    if top is None:
        return [f"the load did not keep up even at {steps[0].rate:g} calls/s: "
                f"{'; '.join(steps[0].problems)}"]
    lines = [f"ccbox load's ceiling here: {top.placed_per_s:,.0f} calls/s with {top.agents:,} "
             f"agents logged in (about {top.rate * TALK:,.0f} calls talking at once); load "
             f"side {top.load_ms_per_call:.2f} ms CPU a call ({top.load_percent:.0f} % of a "
             f"core), box {top.box_ms_per_call:.2f} ms ({top.box_percent:.0f} %)"]
    if ceiling.limit is None:
        lines.append(f"every step kept up: the ceiling lies above {top.rate:g} calls/s")
        return lines
    failed = steps[-1]
    why = "; ".join(failed.problems)
    if ceiling.limit == "load":
        lines.append(f"at {failed.rate:g} calls/s the load side fell behind ({why}): "
                     "the load generator, not the box, is the limit")
    else:
        lines.append(f"at {failed.rate:g} calls/s the load kept pace but calls failed "
                     f"({why}): the box, not the load, is the limit; the load side alone "
                     f"would reach about {1000 / top.load_ms_per_call:,.0f} calls/s on a "
                     "core of its own")
    lines.append(BOX_FIGURE)
    return lines
