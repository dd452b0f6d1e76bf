"""`ccbox bench sim`: simulated calls per wall-clock second, against bare SimPy.

Both models see the same traffic - the site's arrival profile, its trunk
limit, its agents and its mean talk time - and run in the same process, one
after the other, so their ratio holds whatever the machine's speed.

- the site: the real call-control core, ACD, event log and KPI code, with
  callers and agents as the testbed models them (call fidelity);
- the baseline: the textbook SimPy model of that traffic - a process per call,
  a ``Resource`` for the trunks and one for the agents, exponential talk times,
  no event log and no reporting.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from random import Random

import simpy

from appliance.config import Site
from appliance.kpi import compute_kpis
from sim.experiment import kpi_settings
from sim.traffic.arrivals import RateProfile
from sim.world import RunSpec, World


@dataclass(frozen=True)
class Measurement:
    name: str
    calls: int
    seconds: float

    @property
    def calls_per_second(self) -> float:
        return self.calls / self.seconds


def run_site(site: Site, hours: float, seed: int) -> int:
    """Simulate the site and compute its KPIs; returns the calls offered."""
    log = World(site, RunSpec(hours=hours, seed=seed)).run()
    report = compute_kpis(log.records, kpi_settings(site, 0.0, hours * 3600.0))
    return report.center.offered


def run_plain_simpy(site: Site, hours: float, seed: int) -> int:
    """The same traffic as a minimal SimPy M/M/c model (with the trunk limit)."""
    traffic = site.traffic
    assert traffic is not None
    profile = RateProfile.of_day(traffic)
    trunk_count, agent_count, mean_talk = _plain_figures(site)
    env = simpy.Environment()
    trunks = simpy.Resource(env, capacity=trunk_count)
    agents = simpy.Resource(env, capacity=agent_count)
    rng = Random(seed)
    offered = 0

    def call(env: simpy.Environment):
        with trunks.request() as trunk:
            yield trunk
            with agents.request() as agent:
                yield agent
                yield env.timeout(rng.expovariate(1.0 / mean_talk))

    def source(env: simpy.Environment):
        nonlocal offered
        t = 0.0
        while True:
            t = profile.next_arrival(t, rng)
            if t == math.inf:
                return
            yield env.timeout(t - env.now)
            offered += 1
            if trunks.count < trunk_count:
                env.process(call(env))

    env.process(source(env))
    env.run(until=hours * 3600.0)
    return offered


def _plain_figures(site: Site) -> tuple[int, int, float]:
    """(trunks the traffic uses, agents, mean talk time): all a textbook model keeps."""
    traffic = site.traffic
    assert traffic is not None
    trunks = sum(
        g.channels
        for g in site.trunk_groups
        if any(c.trunk_group == g.name for c in traffic.call_types)
    )
    total_share = sum(c.share for c in traffic.call_types)
    mean_talk = sum(c.share * c.talk_time.mean_value for c in traffic.call_types) / total_share
    return trunks, len(site.expanded_agents()), mean_talk


def run_ciw(site: Site, hours: float, seed: int) -> int:
    """The same traffic in Ciw (a peer simulator): M/M/c/K with the daily profile."""
    import ciw

    traffic = site.traffic
    assert traffic is not None
    trunks, agents, mean_talk = _plain_figures(site)
    interval = traffic.interval_minutes * 60.0
    rates = [rate / 3600.0 for rate in traffic.day_profile]
    endpoints = [interval * (i + 1) for i in range(len(rates))]
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.PoissonIntervals(rates, endpoints, hours * 3600.0)],
        service_distributions=[ciw.dists.Exponential(1.0 / mean_talk)],
        # Calls beyond the trunks are blocked; with at least as many agents as
        # trunks nobody queues, as in the SimPy baseline.
        number_of_servers=[min(trunks, agents)],
        queue_capacities=[max(trunks - agents, 0)],
    )
    ciw.seed(seed)
    simulation = ciw.Simulation(network)
    simulation.simulate_until_max_time(hours * 3600.0)
    return len(simulation.get_all_records())  # served and blocked calls


def measure(name: str, run: Callable[[], int]) -> Measurement:
    start = time.perf_counter()
    calls = run()
    return Measurement(name, calls, time.perf_counter() - start)


def bench_sim(site: Site, days: int, repeats: int, seed: int = 1) -> list[Measurement]:
    """ccbox, bare SimPy and Ciw over the same ``days`` of the site's traffic, in turn;
    the fastest of ``repeats`` rounds each (the one least disturbed by the rest of the
    machine), in that order."""
    hours = 24.0 * days
    models = (("ccbox", run_site), ("simpy", run_plain_simpy), ("ciw", run_ciw))
    rounds: dict[str, list[Measurement]] = {name: [] for name, _ in models}
    for _ in range(repeats):
        for name, run in models:
            rounds[name].append(measure(name, lambda run=run: run(site, hours, seed)))
    return [_fastest(rounds[name]) for name, _ in models]


def bench_beside(site: Site, other: Site, days: int, repeats: int,
                 seed: int = 1) -> tuple[Measurement, Measurement]:
    """ccbox on `site` and on `other` over the same `days`, in alternate rounds so that both
    see the same machine; the fastest of `repeats` rounds each."""
    hours = 24.0 * days
    rounds: tuple[list[Measurement], list[Measurement]] = ([], [])
    for _ in range(repeats):
        for runs, model in zip(rounds, (site, other), strict=True):
            runs.append(measure(model.site, lambda model=model: run_site(model, hours, seed)))
    return _fastest(rounds[0]), _fastest(rounds[1])


def _fastest(runs: list[Measurement]) -> Measurement:
    return max(runs, key=lambda m: m.calls_per_second)
