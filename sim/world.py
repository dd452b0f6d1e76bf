"""One simulation run: the real call-control core, callers and agents, under SimPy.

`People` - the callers, the agents and the agents' shifts - is the one caller/agent
model; `World` runs it in call fidelity through the direct channel, and
`sim.sipfidelity.SipWorld` in SIP fidelity through SIP user agents.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import simpy

from appliance.config import Site
from appliance.eventlog import EventLog
from appliance.pbx.actions import LookUp
from appliance.pbx.callcontrol import CallControl
from appliance.pbx.ivr import PromptSeconds
from appliance.wallclock import WallClock, from_origin
from sim.agents.behaviour import Agents
from sim.agents.schedule import PlannedStep, plan_agent
from sim.channels import Channel
from sim.channels.direct import DirectChannel
from sim.clock import SimClock
from sim.driver import CoreDriver
from sim.lookups import SimLookups, carry_out
from sim.media import AnnouncementTiming, announcement_timing
from sim.ports import SimPorts
from sim.streams import ACD, Streams
from sim.traffic.callers import Callers
from sim.traffic.campaign import campaigns_of
from sim.traffic.ivr import IvrCallers
from sim.unsimulated import refuse_unsimulated

Progress = Callable[[float], None]


@dataclass(frozen=True)
class RunSpec:
    hours: float
    seed: int
    replication: int = 0


class People:
    """The callers and agents of a site, acting through `channel`, with the agents' shifts
    and breaks planned over a run of `length` seconds."""

    def __init__(self, site: Site, channel: Channel, clock: SimClock, streams: Streams,
                 length: float, prompt_seconds: PromptSeconds | None = None) -> None:
        assert site.traffic is not None
        self.channel = channel
        self.clock = clock
        self.callers = Callers(site.traffic, clock, channel, streams)
        # Only a site with an IVR follows it: any other runs exactly as before.
        self.ivr_callers = None if site.ivr is None else IvrCallers(
            site.ivr, site.traffic, self.callers, prompt_seconds or _a_second_each, streams)
        agents = site.expanded_agents()
        self.agents = Agents([a.id for a in agents], site.agent_behaviour, clock, channel,
                             streams)
        start = float(site.traffic.start)
        self.plan = sorted(
            (step for a in agents for step in plan_agent(a, start, length)),
            key=lambda s: s.at,
        )

    def start(self) -> None:
        """Shifts from the start (steps due at once are taken now), then the first caller."""
        for planned in self.plan:
            if planned.at == 0.0:
                self._apply(planned)
            else:
                self.clock.after(planned.at, lambda _event, p=planned: self._apply(p))
        self.channel.start()
        self.callers.start()

    def _apply(self, step: PlannedStep) -> None:
        channel = self.channel
        if step.kind == "login":
            channel.log_in(step.agent)
        elif step.kind == "logout":
            channel.log_out(step.agent)
        elif step.kind == "pause":
            channel.not_ready(step.agent, step.reason)
        else:
            channel.ready(step.agent)


def _a_second_each(names: Sequence[str], language: str) -> float:
    return float(len(names))


def site_wallclock(site: Site) -> WallClock:
    """The simulated day's local time: time 0 is the traffic's start on its start date."""
    assert site.traffic is not None
    start = datetime.combine(site.traffic.start_date, time())
    return from_origin(start + timedelta(seconds=site.traffic.start))


def without_collector(run: Callable[[], EventLog]) -> EventLog:
    """``run()`` with the cyclic garbage collector off.

    A run makes millions of objects: short-lived ones that reference counting
    frees (no call leaves a reference cycle behind - a test checks it) and
    records that live to the end. The cyclic collector would only rescan them,
    over and over.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        return run()
    finally:
        if collecting:
            gc.enable()


def in_steps(advance: Callable[[float], None], length: float, progress: Progress | None,
             step: float) -> None:
    """``advance(t)`` up to ``length``, telling ``progress`` the fraction done after each step."""
    if progress is None:
        advance(length)
        return
    t = 0.0
    while t < length:
        t = min(t + step, length)
        advance(t)
        progress(t / length)


class World:
    """One run in call fidelity. Announcements play for the real length of the site's
    prompts unless `timing` says otherwise (see `sim.media.announcement_timing`)."""

    def __init__(
        self, site: Site, spec: RunSpec, timing: AnnouncementTiming | None = None
    ) -> None:
        if site.traffic is None:
            raise ValueError(f"site {site.site!r} has no traffic section to simulate")
        refuse_unsimulated(site)
        self.site = site
        self.spec = spec
        self.length = spec.hours * 3600.0
        self.env = simpy.Environment()
        self.clock = SimClock(self.env)
        self.streams = Streams(spec.seed, spec.replication)
        self.log = EventLog()
        self.timing = announcement_timing(site) if timing is None else timing
        prompt_seconds = self.timing.prompt_lengths()
        self.core = CallControl(site, self.log, self.streams(ACD), self.timing.seconds,
                                wallclock=site_wallclock(site), prompt_seconds=prompt_seconds)
        self.driver = CoreDriver(self.clock, self.core)
        self.channel = DirectChannel(self.clock, self.core, self.driver)
        if site.ivr is not None:
            lookups = SimLookups(site, self.streams)
            self.driver.on(LookUp, carry_out(lookups, self.clock, self._lookup_done))
        self.people = People(site, self.channel, self.clock, self.streams, self.length,
                             prompt_seconds)
        # Only a site with gateways rings ports: any other runs exactly as before.
        self.ports = SimPorts(site, self.core, self.channel, self.clock, self.streams) \
            if site.gateways else None
        self.people.callers.ports = self.ports
        self.campaigns = campaigns_of(site, self.core, self.channel, self.clock, self.streams,
                                      site_wallclock(site), self.ports)

    def _lookup_done(self, call: int, fields: dict[str, str] | None) -> None:
        self.core.lookup_done(self.env.now, call, fields)
        self.driver.settle()

    def run(self, progress: Progress | None = None, step: float = 900.0) -> EventLog:
        """Simulate ``spec.hours``; ``progress`` gets the fraction done after each step."""
        return without_collector(lambda: self._run(progress, step))

    def _run(self, progress: Progress | None, step: float) -> EventLog:
        if self.ports is not None:
            self.ports.faults.start()
        self.people.start()
        for campaign in self.campaigns:
            campaign.start()
        in_steps(self.driver.run, self.length, progress, step)
        return self.log


def simulate(site: Site, spec: RunSpec, progress: Progress | None = None) -> EventLog:
    return World(site, spec).run(progress)
