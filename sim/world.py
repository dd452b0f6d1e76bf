"""One simulation run: the real call-control core, callers and agents, under SimPy."""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass

import simpy

from appliance.config import Site
from appliance.eventlog import EventLog
from appliance.pbx.callcontrol import CallControl
from sim.agents.behaviour import Agents
from sim.agents.schedule import PlannedStep, plan_agent
from sim.clock import SimClock
from sim.driver import CoreDriver
from sim.media import AnnouncementTiming, announcement_timing
from sim.streams import ACD, Streams
from sim.traffic.callers import Callers

Progress = Callable[[float], None]


@dataclass(frozen=True)
class RunSpec:
    hours: float
    seed: int
    replication: int = 0


class World:
    """One run in call fidelity. Announcements play for the real length of the site's
    prompts unless `timing` says otherwise (see `sim.media.announcement_timing`)."""

    def __init__(
        self, site: Site, spec: RunSpec, timing: AnnouncementTiming | None = None
    ) -> None:
        if site.traffic is None:
            raise ValueError(f"site {site.site!r} has no traffic section to simulate")
        self.site = site
        self.spec = spec
        self.length = spec.hours * 3600.0
        self.env = simpy.Environment()
        self.clock = SimClock(self.env)
        self.streams = Streams(spec.seed, spec.replication)
        self.log = EventLog()
        self.timing = announcement_timing(site) if timing is None else timing
        self.core = CallControl(site, self.log, self.streams(ACD), self.timing.seconds)
        self.driver = CoreDriver(self.clock, self.core)
        self.callers = Callers(site.traffic, self.clock, self.core, self.driver, self.streams)
        agents = site.expanded_agents()
        self.agents = Agents(
            [a.id for a in agents],
            site.agent_behaviour,
            self.clock,
            self.core,
            self.driver,
            self.callers,
            self.streams,
        )
        start = float(site.traffic.start)
        self.plan = sorted(
            (step for a in agents for step in plan_agent(a, start, self.length)),
            key=lambda s: s.at,
        )

    def run(self, progress: Progress | None = None, step: float = 900.0) -> EventLog:
        """Simulate ``spec.hours``; ``progress`` gets the fraction done after each step."""
        # A run makes millions of objects: short-lived ones that reference
        # counting frees (no call leaves a reference cycle behind - a test
        # checks it) and records that live to the end. The cyclic collector
        # would only rescan them, over and over; it is off for the run.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._run(progress, step)
        finally:
            if collecting:
                gc.enable()

    def _run(self, progress: Progress | None, step: float) -> EventLog:
        for planned in self.plan:
            if planned.at == 0.0:
                self._apply(planned)
            else:
                self.clock.after(planned.at, lambda _event, p=planned: self._apply(p))
        self.driver.settle()
        self.callers.start()
        if progress is None:
            self.driver.run(self.length)
        else:
            t = 0.0
            while t < self.length:
                t = min(t + step, self.length)
                self.driver.run(t)
                progress(t / self.length)
        return self.log

    def _apply(self, step: PlannedStep) -> None:
        core = self.core
        now = self.env.now
        if step.kind == "login":
            core.agent_login(now, step.agent)
        elif step.kind == "logout":
            core.agent_logout(now, step.agent)
        elif step.kind == "pause":
            core.agent_not_ready(now, step.agent, step.reason)
        else:
            core.agent_ready(now, step.agent)
        self.driver.settle()


def simulate(site: Site, spec: RunSpec, progress: Progress | None = None) -> EventLog:
    return World(site, spec).run(progress)
