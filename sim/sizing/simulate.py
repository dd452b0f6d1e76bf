"""The simulated answer: the fewest agents whose simulated service level meets the target,
found by running the appliance's own call control over a one-queue site built for the
interval.

Every candidate agent count sees the same callers (common random numbers: the simulator's
streams are named, so one more agent changes no caller's arrival, talk time or patience), so
the difference between two counts is the agents' doing, not the dice's. Each count runs
`replications` times; the answer states its service level with a 95 % interval, and when
that interval straddles the target more replications are run before the answer is given.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import yaml

from appliance.config import Site, parse_site
from appliance.kpi import KpiReport
from appliance.kpi.replications import FigureSummary, summarize_values
from sim.experiment import Experiment, run_once
from sim.sizing.inputs import SizingInputs

QUEUE = "q"
WARMUP_HOURS = 0.5
MAX_REPLICATIONS = 40


@dataclass(frozen=True)
class Candidate:
    """One agent count's simulated figures, across replications."""

    agents: int
    service_level: FigureSummary
    asa: FigureSummary
    abandoned: FigureSummary  # share of the calls that entered the queue, short ones too
    offered: float  # mean calls offered to the queue in the measured window
    blocked: FigureSummary  # share of calls that found every trunk busy
    answered_per_hour: float
    recorded_per_hour: float  # seconds of talk and hold an hour: what recordings hold

    def meets(self, target: float) -> bool:
        return self.service_level.mean is not None and self.service_level.mean >= target


@dataclass(frozen=True)
class SimulatedAnswer:
    agents: int  # the fewest whose mean service level meets the target
    candidates: tuple[Candidate, ...]  # every count tried, fewest agents first
    replications: int
    hours: float  # measured hours per replication (after the warm-up)
    seconds: float  # wall-clock time the search took
    confident: bool  # the 95 % intervals separate `agents` and `agents - 1` from the target

    def candidate(self, agents: int) -> Candidate | None:
        return next((c for c in self.candidates if c.agents == agents), None)


def interval_site(inputs: SizingInputs, calls_per_hour: float, agents: int,
                  trunks: int | None = None) -> Site:
    """A one-queue site that offers the agents' share of `calls_per_hour` for ever, on
    `trunks` (else the inputs' trunks, else plenty)."""
    call_type: dict[str, Any] = {
        "name": "calls", "trunk_group": "pstn",
        "talk_time": {"dist": "exponential", "mean": inputs.aht},
        "retrial": {"after_abandon": inputs.retrial},
    }
    if inputs.patience is not None:
        call_type["patience"] = {"dist": "exponential", "mean": inputs.patience}
    load = inputs.agent_rate(calls_per_hour) * inputs.aht
    # Trunks for the agents' calls: the given ones less what the IVR holds (the agents'
    # calls before they reach the queue too: this site sends them straight there), else plenty.
    ivr_load = inputs.ivr_trunk_load(calls_per_hour)
    trunks = trunks if trunks is not None else inputs.trunks
    channels = max(1, trunks - round(ivr_load)) if trunks is not None else int(3 * load) + 50
    data = {
        "site": "sizing",
        "trunk_groups": [{"name": "pstn", "kind": "sip", "channels": channels}],
        "queues": [{"name": QUEUE, "service_level": {"threshold": inputs.sl_threshold,
                                                      "target": inputs.sl_target}}],
        "agents": [{"id": f"{1001}-{1000 + agents}" if agents > 1 else "1001",
                    "skills": {QUEUE: 5}}],
        "routes": [{"trunk_group": "pstn", "queue": QUEUE}],
        "traffic": {"interval_minutes": 60,
                    "calls_per_hour": calls_per_hour * (1.0 - inputs.ivr_share),
                    "call_types": [call_type]},
    }
    return parse_site(yaml.safe_dump(data), source="<sizing>")


def _run(site: Site, hours: float, seed: int, replication: int) -> KpiReport:
    experiment = Experiment(site, hours + WARMUP_HOURS, seed, warmup=WARMUP_HOURS * 3600)
    return run_once(experiment, replication)


def _candidate(agents: int, reports: Sequence[KpiReport], hours: float) -> Candidate:
    queues = [report.queues[QUEUE] for report in reports]
    runs = len(reports)

    def figure(values: list[float | None]) -> FigureSummary:
        return summarize_values([v for v in values if v is not None])

    return Candidate(
        agents=agents,
        service_level=figure([q.service_level for q in queues]),
        asa=figure([q.asa for q in queues]),
        abandoned=figure([q.abandoned_in_queue / q.entered_queue if q.entered_queue else None
                          for q in queues]),
        offered=sum(q.offered for q in queues) / runs,
        blocked=figure([report.center.blocked_rate for report in reports]),
        answered_per_hour=sum(q.answered for q in queues) / runs / hours,
        recorded_per_hour=sum(r.center_agents.talk_time + r.center_agents.hold_time
                              for r in reports) / runs / hours,
    )


class _Evaluator:
    """Runs the sites `site_for(count)` builds for agent or trunk counts, `replications` each,
    in parallel processes; caches what it ran."""

    def __init__(self, site_for: Callable[[int], Site], hours: float, seed: int,
                 pool: ProcessPoolExecutor | None,
                 on_run: Callable[[], None] | None) -> None:
        self.site_for = site_for
        self.hours = hours
        self.seed = seed
        self.pool = pool
        self.on_run = on_run
        self.reports: dict[int, list[KpiReport]] = {}

    def evaluate(self, counts: Sequence[int], replications: int) -> None:
        jobs = []
        for agents in counts:
            done = len(self.reports.get(agents, []))
            site = self.site_for(agents)
            jobs += [(agents, site, r) for r in range(done, replications)]
        if self.pool is None:
            results = [(agents, _run(site, self.hours, self.seed, r)) for agents, site, r in jobs]
            for _ in jobs:
                if self.on_run:
                    self.on_run()
        else:
            futures = [(agents, self.pool.submit(_run, site, self.hours, self.seed, r))
                       for agents, site, r in jobs]
            results = []
            for agents, future in futures:
                results.append((agents, future.result()))
                if self.on_run:
                    self.on_run()
        for agents, report in results:
            self.reports.setdefault(agents, []).append(report)

    def candidate(self, agents: int, replications: int) -> Candidate:
        self.evaluate([agents], replications)
        return _candidate(agents, self.reports[agents], self.hours)


@contextmanager
def _evaluator(site_for: Callable[[int], Site], hours: float, seed: int, workers: int | None,
               on_run: Callable[[], None] | None) -> Iterator[_Evaluator]:
    """An evaluator on a process pool of `workers` (the CPU count unless told; none for 1)."""
    workers = workers if workers is not None else (os.cpu_count() or 1)
    pool = ProcessPoolExecutor(max_workers=workers) if workers > 1 else None
    try:
        yield _Evaluator(site_for, hours, seed, pool, on_run)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def _fewest(evaluator: _Evaluator, start: int, runs: int,
            meets: Callable[[Candidate], bool]) -> int:
    """The fewest agents or trunks whose candidate `meets` the target, one at a time from
    `start` (an analytic answer), up or down. Two counts are run at once, the one asked for
    and the one the search will most likely want next, to keep both workers busy."""
    count = max(1, start)
    evaluator.evaluate([count, max(1, count - 1)], runs)
    if meets(evaluator.candidate(count, runs)):
        while count > 1 and meets(evaluator.candidate(count - 1, runs)):
            count -= 1
            evaluator.evaluate([max(1, count - 1)], runs)
    else:
        while not meets(evaluator.candidate(count, runs)):
            count += 1
            evaluator.evaluate([count, count + 1], runs)
    return count


def simulate_interval(inputs: SizingInputs, calls_per_hour: float, start: int, *,
                      replications: int = 10, hours: float = 4.0, seed: int = 1,
                      workers: int | None = None, time_budget: float = 25.0,
                      on_run: Callable[[], None] | None = None) -> SimulatedAnswer:
    """The fewest agents meeting the service-level target in simulation, searching from
    `start` (an analytic answer) up or down one agent at a time. More replications are run
    while the answer is not clear-cut and `time_budget` seconds allow."""
    began = time.monotonic()
    target = inputs.sl_target
    parallel = max(1, workers if workers is not None else (os.cpu_count() or 1))

    def meets(candidate: Candidate) -> bool:
        return candidate.meets(target)

    with _evaluator(lambda count: interval_site(inputs, calls_per_hour, count), hours, seed,
                    workers, on_run) as evaluator:
        agents = _fewest(evaluator, start, replications, meets)
        runs = replications
        while not _separated(evaluator, agents, runs, target) and runs < MAX_REPLICATIONS:
            # Doubling the runs of two counts costs about what every run so far cost per run.
            spent = time.monotonic() - began
            per_run = spent / max(1, sum(len(r) for r in evaluator.reports.values()))
            if spent + per_run * 2 * runs / parallel > time_budget:
                break  # the answer is stated as not clear-cut rather than late
            runs = min(MAX_REPLICATIONS, 2 * runs)
            evaluator.evaluate([c for c in (agents - 1, agents) if c >= 1], runs)
            # More runs may move the means across the target: settle the count again.
            while agents > 1 and evaluator.candidate(agents - 1, runs).meets(target):
                agents -= 1
            while not evaluator.candidate(agents, runs).meets(target):
                agents += 1
        candidates = tuple(_candidate(n, reports, hours)
                           for n, reports in sorted(evaluator.reports.items()))
        return SimulatedAnswer(
            agents=agents, candidates=candidates, replications=runs, hours=hours,
            seconds=time.monotonic() - began,
            confident=_separated(evaluator, agents, runs, target),
        )


def _separated(evaluator: _Evaluator, agents: int, runs: int, target: float) -> bool:
    """Whether the 95 % interval of `agents` lies above the target and that of one fewer
    below it (or there is no fewer)."""
    chosen = evaluator.candidate(agents, runs).service_level
    if chosen.mean is None or chosen.half_width is None:
        return False
    if chosen.mean - chosen.half_width < target:
        return False
    if agents == 1:
        return True
    fewer = evaluator.candidate(agents - 1, runs).service_level
    return fewer.mean is not None and fewer.half_width is not None and (
        fewer.mean + fewer.half_width < target)



@dataclass(frozen=True)
class SimulatedTrunks:
    trunks: int  # the fewest whose simulated blocking meets the target
    candidates: tuple[tuple[int, FigureSummary], ...]  # (trunks, blocked share), fewest first
    replications: int
    seconds: float


def simulate_trunks(inputs: SizingInputs, calls_per_hour: float, agents: int, start: int, *,
                    replications: int = 10, hours: float = 4.0, seed: int = 1,
                    workers: int | None = None,
                    on_run: Callable[[], None] | None = None) -> SimulatedTrunks:
    """The fewest trunks whose simulated blocking is at most the target, with `agents` on
    the phones, searching from `start` (Erlang B's answer). A trunk is held while the caller
    waits too, so patience, retrials and the queue shape what the trunks carry."""
    began = time.monotonic()
    target = inputs.blocking_target

    def meets(candidate: Candidate) -> bool:
        return candidate.blocked.mean is not None and candidate.blocked.mean <= target

    with _evaluator(lambda count: interval_site(inputs, calls_per_hour, agents, trunks=count),
                    hours, seed, workers, on_run) as evaluator:
        trunks = _fewest(evaluator, start, replications, meets)
        candidates = tuple((count, _candidate(count, reports, hours).blocked)
                           for count, reports in sorted(evaluator.reports.items()))
    return SimulatedTrunks(trunks, candidates, replications, time.monotonic() - began)
