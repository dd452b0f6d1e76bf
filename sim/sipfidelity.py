"""SIP fidelity: a site simulated with every leg a real SIP dialog over a simulated network.

The appliance's own B2BUA, transaction layer, registrar, call control and ACD run unchanged;
trunk gateways and agents' phones are the testbed's SIP user agents, and datagrams cross a
network with the configured latency, jitter and loss. Everything random - arrivals, call
types, talk times, patience, answer delays, the network - comes from streams seeded by the
run's seed, so a run that fails replays exactly.

What is SIP-specific lives here: the lab site (a gateway address per trunk group, a phone
per agent), the network on SimPy's clock, the user agents. Callers and agents are the
call-fidelity model itself (`sim.world.People`: arrivals, call types, patience, retrials,
answer delay, missed rings, talk, hold, wrap-up, shifts and breaks, with the same stream
names), acting through `sim.channels.sipua.SipChannel`; see there what SIP cannot carry yet.
The site's campaigns are dialed by the box itself from the run's start (`B2bua.run_campaigns`),
their numbers answered at the gateways as the campaigns' models say
(`sim.channels.sipcampaign`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import Any

import simpy
from simpy.events import Timeout

from appliance.config import Site
from appliance.config.campaign import read_contacts
from appliance.eventlog import EventLog
from appliance.net import Address
from appliance.pbx.b2bua import B2bua
from appliance.pbx.features.campaign import Contact
from appliance.pbx.sip.digest import ha1
from sim.channels.sipcampaign import CampaignNumbers
from sim.channels.sipua import SipChannel
from sim.clock import SimClock
from sim.lookups import SimLookups, carry_out
from sim.media import AnnouncementTiming, announcement_timing
from sim.sipnet import LinkQuality, SimulatedNetwork
from sim.sipua import UserAgent
from sim.streams import ACD, SIP_IDS, Streams
from sim.unsimulated import refuse_unsimulated
from sim.world import People, Progress, in_steps, site_wallclock, without_collector

APPLIANCE = ("10.0.0.1", 5060)
REALM = "sim.ccbox"
MAX_RING = 600.0  # the longest ring a route out allows (`Outbound.ring_timeout`)


@dataclass(frozen=True)
class SipRunSpec:
    hours: float
    seed: int
    quality: LinkQuality = field(default_factory=LinkQuality)
    replication: int = 0


def refuse_gateway_ports(site: Site) -> None:
    """Raise ValueError if `site` has gateways: their ports' rules (an analog line's caller-ID
    wait and late hang-ups, lines, faults) are driven in call fidelity only (`sim.ports`);
    here every trunk call would come straight from a SIP gateway, and the figures would say
    nothing about the ports."""
    if site.gateways:
        names = ", ".join(f"{g.name} ({g.profile})" for g in site.gateways)
        raise ValueError(
            f"site {site.site!r} has gateway ports ({names}): SIP fidelity does not drive "
            f"ports yet and would run its trunk calls as plain SIP calls; simulate it in call "
            f"fidelity (--fidelity call), or a copy without `gateways` in SIP fidelity")


def lab_site(site: Site, gateways: Sequence[Address] | None = None,
             realm: str = REALM) -> Site:
    """`site` with a gateway address per trunk group and a phone per agent (digest hashes of
    generated passwords, `lab_password`); agents log in and out by feature code, as their
    shifts say. Each group's gateway is its route out too (callbacks, campaigns): a group
    without one gets one that rings for as long as the box allows, so that the call's own
    timers (a callback's ring timeout) decide, as in call fidelity. `gateways` gives each
    trunk group's address in order (real sockets: the box then knows each by host and port,
    as phones share the host); by default the simulated network's, known by host alone."""
    data: dict[str, Any] = site.model_dump()
    addresses = list(gateways) if gateways is not None else [
        _gateway(index) for index in range(1, len(site.trunk_groups) + 1)]
    by_port = gateways is not None
    prefixes = [g.outbound.prefix for g in site.trunk_groups if g.outbound is not None]
    for group, (host, port) in zip(data["trunk_groups"], addresses, strict=True):
        group["peers"] = [f"{host}:{port}" if by_port else host]
        if group["outbound"] is None:
            prefix = _free_prefix(prefixes)
            prefixes.append(prefix)
            group["outbound"] = {"prefix": prefix, "ring_timeout": MAX_RING}
        group["outbound"]["gateway"] = f"{host}:{port}"
    phones = [{"user": agent.id, "ha1_md5": ha1(agent.id, realm, lab_password(agent.id), "MD5")}
              for agent in site.expanded_agents()]
    for campaign in data["campaigns"]:
        campaign["start"] = True  # every campaign dials from the run's start, as in call fidelity
    data["sip"] = {**data["sip"], "realm": realm, "phones": phones,
                   "agent_login": "manual",
                   "probe_interval": 0}
    return Site.model_validate(data)


def _free_prefix(taken: list[str]) -> str:
    """The first dialling prefix ("0", "1" ... "00" ...) that overlaps none `taken` (the schema
    refuses overlapping routes out); phones in the lab never dial out by it."""
    for length in range(1, 5):
        for number in range(10**length):
            prefix = f"{number:0{length}d}"
            if not any(prefix.startswith(t) or t.startswith(prefix) for t in taken):
                return prefix
    raise ValueError("no dialling prefix left for a lab route out")


def _gateway(index: int) -> Address:
    return f"10.1.{index}.1", 5060


def _phone(index: int) -> tuple[str, int]:
    return f"10.2.{index // 250}.{index % 250 + 1}", 5060


def lab_password(user: str) -> str:
    """The password of `user`'s phone in a lab site."""
    return f"pw-{user}"


class SimPyTimeLine:
    """A SimPy environment's clock and event queue as the network's `TimeLine`, so that SIP
    datagrams, the cores' timers and the callers' and agents' timers share one time line
    (same-time events keep the order they were scheduled in, as in `EventQueue`)."""

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env

    @property
    def now(self) -> float:
        return self.env.now

    def at(self, when: float, action: Callable[[], None]) -> None:
        Timeout(self.env, max(when - self.env.now, 0.0), action).callbacks.append(_carry_out)

    def run(self, until: float) -> None:
        if until > self.env.now:
            self.env.run(until=until)


def _carry_out(event: Timeout) -> None:
    event.value()


class BoxWithLookups:
    """The B2BUA as the network sees it (a `DatagramCore`), carrying out the lookups its IVR
    asks for (after each input, as its datagrams are taken) and answering them after their
    delay."""

    def __init__(self, box: B2bua, lookups: SimLookups, clock: SimClock,
                 poke: Callable[[], None]) -> None:
        self.box = box
        self.clock = clock
        self.poke = poke
        self.handle = carry_out(lookups, clock, self._answer)

    def receive_datagram(self, data: bytes, source: Address, now: float) -> None:
        self.box.receive_datagram(data, source, now)

    def next_deadline(self) -> float | None:
        return self.box.next_deadline()

    def on_deadline(self, now: float) -> None:
        self.box.on_deadline(now)

    def take_datagrams(self) -> list[tuple[bytes, Address]]:
        for lookup in self.box.take_lookups():
            self.handle(lookup)
        return self.box.take_datagrams()

    def _answer(self, call: int, fields: dict[str, str] | None) -> None:
        self.box.lookup_done(call, fields, self.clock.env.now)
        self.poke()


class SipWorld:
    """One run in SIP fidelity. Announcements play for the real length of the site's
    prompts unless `timing` says otherwise (see `sim.media.announcement_timing`)."""

    def __init__(
        self, site: Site, spec: SipRunSpec, timing: AnnouncementTiming | None = None
    ) -> None:
        if site.traffic is None:
            raise ValueError(f"site {site.site!r} has no traffic section to simulate")
        refuse_unsimulated(site)
        refuse_gateway_ports(site)
        self.site = lab_site(site)
        self.spec = spec
        self.length = spec.hours * 3600.0
        self.env = simpy.Environment()
        self.clock = SimClock(self.env)
        streams = Streams(spec.seed, spec.replication)
        self.log = EventLog()
        self.net = SimulatedNetwork(streams("network"), spec.quality, SimPyTimeLine(self.env))
        self.timing = announcement_timing(site) if timing is None else timing
        prompt_seconds = self.timing.prompt_lengths()
        self.box = B2bua(self.site, self.log, streams(ACD), b"sim-secret", APPLIANCE,
                         sip_ids=streams(SIP_IDS), wallclock=site_wallclock(site),
                         prompt_seconds=prompt_seconds)
        # Set on the core the B2BUA built, before any call reaches it.
        self.box.cc.announcement_seconds = self.timing.seconds
        core: Any = self.box
        if site.ivr is not None:
            core = BoxWithLookups(self.box, SimLookups(self.site, streams), self.clock,
                                  lambda: self.net.poke(APPLIANCE))
        self.net.attach(APPLIANCE, core)
        self.gateways = {
            group.name: self._user_agent("gw", "", _gateway(index),
                                         streams(f"gateway-{group.name}"))
            for index, group in enumerate(self.site.trunk_groups, start=1)}
        self.phones = {
            agent.id: self._user_agent(agent.id, lab_password(agent.id), _phone(index),
                                       streams(f"phone-{agent.id}"))
            for index, agent in enumerate(self.site.expanded_agents())}
        self.channel = SipChannel(self.clock, self.net, self.site, self.log, self.timing,
                                  self.gateways, self.phones)
        self.people = People(self.site, self.channel, self.clock, streams, self.length,
                             prompt_seconds)
        if self.site.campaigns:
            self.channel.called = CampaignNumbers(self.site, self.clock, streams)

    def _user_agent(self, user: str, password: str, address: tuple[str, int],
                    rng: Random) -> UserAgent:
        ua = UserAgent(user, password, address, APPLIANCE, rng)
        self.net.attach(address, ua)
        return ua

    def run(self, progress: Progress | None = None, step: float = 900.0) -> EventLog:
        """Simulate ``spec.hours``; ``progress`` gets the fraction done after each step."""
        return without_collector(lambda: self._run(progress, step))

    def _run(self, progress: Progress | None, step: float) -> EventLog:
        self.people.start()
        if self.site.campaigns:
            self.box.run_campaigns(campaign_lists(self.site), self.env.now)
            self.net.poke(APPLIANCE)
        in_steps(self.net.run, self.length, progress, step)
        return self.log

    def drain(self, seconds: float) -> None:
        """After the run: no new calls, and `seconds` more for the calls under way to end."""
        self.people.callers.close()
        self.net.run(self.env.now + seconds)



def campaign_lists(site: Site) -> dict[str, list[Contact]]:
    """The numbers of each campaign of `site`."""
    return {c.name: read_contacts(Path(c.list)) for c in site.campaigns}


def simulate_sip(site: Site, spec: SipRunSpec, progress: Progress | None = None) -> EventLog:
    return SipWorld(site, spec).run(progress)
