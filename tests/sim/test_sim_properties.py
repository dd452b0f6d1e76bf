"""Properties of whole simulations (``sim.world.World``) on random small sites (hypothesis)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from appliance.config import Site
from appliance.events import CallOffered
from appliance.kpi import CENTER_ENDS, compute_kpis
from sim.experiment import kpi_settings
from sim.world import RunSpec, World
from tests.appliance.pbx.acd.test_acd_properties import (
    STRATEGY_NAMES,
    LogChecker,
    parse_site_dict,
)
from tests.factories import site_dict

OUTCOMES = CENTER_ENDS
# Every example is a whole simulation, so shrinking a failure takes minutes; a failing site
# and seed are reported as found instead (they replay exactly).
SIMULATIONS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)


# --- sites -------------------------------------------------------------------------------


def exponential(low: int, high: int) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(lambda m: {"dist": "exponential", "mean": m}, st.integers(low, high))


def lognormal(low: int, high: int) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda m, cv: {"dist": "lognormal", "mean": m, "sd": round(m * cv, 3)},
        st.integers(low, high),
        st.floats(0.2, 1.5),
    )


@st.composite
def call_types(draw: st.DrawFn, name: str, dnis: str, transfer_to: str | None) -> dict:
    call_type: dict[str, Any] = {
        "name": name,
        "trunk_group": "pstn",
        "dnis": dnis,
        "share": draw(st.integers(1, 4)),
        "talk_time": draw(exponential(20, 400) | lognormal(20, 400)),
        "retrial": {
            "after_abandon": draw(st.sampled_from([0.0, 0.3, 0.8])),
            "after_busy": draw(st.sampled_from([0.0, 0.5, 1.0])),
            "delay": draw(exponential(30, 600)),
            "max_attempts": draw(st.integers(1, 4)),
        },
    }
    if draw(st.integers(0, 3)):
        call_type["patience"] = draw(exponential(10, 300) | lognormal(10, 300))
    if draw(st.booleans()):
        call_type["hold"] = {
            "probability": draw(st.sampled_from([0.2, 0.5, 1.0])),
            "duration": draw(exponential(5, 60)),
        }
    if transfer_to is not None and draw(st.booleans()):
        call_type["transfer"] = {
            "probability": draw(st.sampled_from([0.1, 0.3, 0.6])),
            "target": transfer_to,
        }
    return call_type


@st.composite
def queue_options(draw: st.DrawFn, other: str | None) -> dict[str, Any]:
    queue: dict[str, Any] = {
        "strategy": draw(st.sampled_from(STRATEGY_NAMES)),
        "wrap_up": draw(st.sampled_from([0, 5, 30])),
        "ring_timeout": draw(st.integers(5, 20)),
    }
    overflow = st.sampled_from(
        [{"action": "busy"}, {"action": "voicemail"}]
        + ([{"action": "queue", "target": other}] if other else [])
    )
    if draw(st.integers(0, 2)) == 0:
        queue["max_wait"] = draw(st.integers(30, 300))
        queue["on_max_wait"] = draw(overflow)
    if draw(st.integers(0, 3)) == 0:
        queue["capacity"] = draw(st.integers(1, 10))
        queue["on_full"] = {"action": draw(st.sampled_from(["busy", "voicemail"]))}
    if draw(st.integers(0, 2)) == 0:
        queue["announcements"] = {"first_after": 20, "every": 40, "duration": 6}
    return queue


@st.composite
def sim_sites(draw: st.DrawFn) -> Site:
    """1-10 agents with random skills, shifts and breaks; one or two queues; 1-8 trunks; a
    general call type and maybe a VIP one (its own number, routed with priority)."""
    two = draw(st.booleans())
    names = ["service", "backup"] if two else ["service"]
    main = draw(queue_options("backup" if two else None))
    extra = [{"name": "backup", **draw(queue_options("service"))}] if two else []
    types = [draw(call_types("general", "", "backup" if two else None))]
    routes = []
    if draw(st.booleans()):
        types.append(draw(call_types("vip", "800", "service" if two else None)))
        routes.append({"trunk_group": "pstn", "dnis": "800", "queue": names[-1], "priority": 5})
    rate: Any = draw(st.integers(20, 400))
    if draw(st.integers(0, 3)) == 0:
        rate = [rate, *draw(st.lists(st.integers(0, 400), min_size=1, max_size=3))]
    behaviour = {
        "answer_delay": draw(
            st.sampled_from([{"dist": "fixed", "value": 0}, {"dist": "fixed", "value": 3}])
            | st.just({"dist": "uniform", "low": 1, "high": 8})
        ),
        "no_answer_probability": draw(st.sampled_from([0.0, 0.05, 0.2])),
        "away_after_missed_ring": draw(exponential(10, 300)),
    }
    if draw(st.booleans()):
        behaviour["wrap_up"] = draw(exponential(3, 60))
    data = site_dict(
        trunks=draw(st.integers(1, 8)),
        queue=main,
        extra_queues=extra,
        routes=routes,
        traffic={"calls_per_hour": rate, "interval_minutes": 30, "call_types": types},
        behaviour=behaviour,
    )
    agents = []
    for i in range(draw(st.integers(1, 10))):
        served = draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True))
        agent: dict[str, Any] = {
            "id": f"a{i + 1}",
            "skills": {n: draw(st.integers(1, 10)) for n in served},
        }
        if draw(st.integers(0, 3)) == 0:
            start = draw(st.sampled_from(["08:00", "08:30", "09:00"]))
            agent["shift"] = {"start": start, "end": draw(st.sampled_from(["09:45", "11:00"]))}
            if draw(st.booleans()):
                agent["breaks"] = [{"start": "09:15", "minutes": draw(st.integers(5, 25))}]
        agents.append(agent)
    for name in names:
        if not any(name in a["skills"] for a in agents):
            agents[0]["skills"][name] = 5
    data["agents"] = agents
    return parse_site_dict(data)


# --- checks ------------------------------------------------------------------------------


def run_checked(site: Site, hours: float, seed: int) -> tuple[World, LogChecker]:
    """Run a simulation and replay its log through ``LogChecker`` (work conservation too)."""
    world = World(site, RunSpec(hours=hours, seed=seed))
    world.run()
    checker = LogChecker.for_site(site)
    checker.feed(world.log.records)
    checker.finish()
    return world, checker


@settings(SIMULATIONS, max_examples=100)
@given(site=sim_sites(), hours=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
def test_simulation_conserves_calls_and_keeps_the_acd_invariants(
    site: Site, hours: int, seed: int
) -> None:
    # LogChecker asserts, record by record: time order, legal agent transitions in sequence,
    # one call per agent and one agent per call, no second answer without a transfer, FIFO;
    # and at the end of every instant that no agent idles while a call of theirs waits.
    world, checker = run_checked(site, hours, seed)
    records = world.log.records
    offered = sum(1 for r in records if isinstance(r, CallOffered))
    assert offered == len(checker.offered) > 0
    outcomes = checker.outcomes()
    assert offered == sum(outcomes.values()), outcomes
    unanswered_up = [c for c in world.core.calls if c not in checker.answered_ever]
    assert outcomes["in_system"] == len(unanswered_up)
    assert outcomes["no_route"] == 0  # every call type has a route

    center = compute_kpis(records, kpi_settings(site, 0.0, hours * 3600.0)).center
    assert center.offered == sum(getattr(center, name) for name in OUTCOMES)
    assert {name: getattr(center, name) for name in OUTCOMES} == outcomes
    assert center.offered == offered


@settings(SIMULATIONS, max_examples=20)
@given(site=sim_sites(), seed=st.integers(0, 2**32 - 1))
def test_a_run_is_determined_by_its_seed_and_replication(site: Site, seed: int) -> None:
    first = World(site, RunSpec(hours=1, seed=seed)).run().records
    again = World(site, RunSpec(hours=1, seed=seed)).run().records
    other = World(site, RunSpec(hours=1, seed=seed, replication=1)).run().records
    assert first == again
    assert any(isinstance(r, CallOffered) for r in first)
    assert first != other


# --- common random numbers ---------------------------------------------------------------

# With common random numbers the two runs see the same callers (arrival times, talk times,
# patience): only who answers when differs. In an FCFS multi-server queue an extra server
# cannot delay anyone, so the service level can only rise - except through abandonment, where
# a caller answered with n+1 agents (and not with n) takes an agent's time that with n agents
# went to later callers. Such knock-on effects move a few calls, so on 300+ calls they stay
# well inside 0.03 (about 10 calls); over 300 random pairs (loads 0.3-1.4) the extra agent
# never lowered the service level at all.
SL_MARGIN = 0.03


@st.composite
def crn_sites(draw: st.DrawFn) -> tuple[Site, Site]:
    agents = draw(st.integers(1, 6))
    load = draw(st.floats(0.3, 1.4))  # offered load per agent of the smaller site
    rate = draw(st.integers(180, 400))
    talk_mean = round(3600.0 * agents * load / rate, 3)
    traffic = {
        "calls_per_hour": rate,
        "call_types": [
            {
                "name": "general",
                "trunk_group": "pstn",
                "talk_time": {"dist": "exponential", "mean": talk_mean},
                "patience": {"dist": "exponential", "mean": draw(st.integers(20, 180))},
            }
        ],
    }
    common = {
        "trunks": 60,
        "strategy": "longest_idle",
        "wrap_up": draw(st.sampled_from([0, 5])),
        "queue": {"service_level": {"threshold": draw(st.sampled_from([10, 20, 30]))}},
        "traffic": traffic,
        "behaviour": {"no_answer_probability": 0.0},
    }
    return (
        parse_site_dict(site_dict(agents=agents, **common)),
        parse_site_dict(site_dict(agents=agents + 1, **common)),
    )


@settings(SIMULATIONS, max_examples=30)
@given(sites=crn_sites(), seed=st.integers(0, 2**32 - 1))
def test_one_more_agent_never_lowers_the_service_level(
    sites: tuple[Site, Site], seed: int
) -> None:
    fewer, more = sites
    hours = 2
    window = (0.0, hours * 3600.0)
    reports = [
        compute_kpis(World(s, RunSpec(hours=hours, seed=seed)).run().records,
                     kpi_settings(s, *window)).center
        for s in (fewer, more)
    ]
    # The same callers arrive in both runs.
    assert reports[0].offered == reports[1].offered >= 300
    assert reports[1].service_level >= reports[0].service_level - SL_MARGIN, (
        reports[0].service_level,
        reports[1].service_level,
    )
