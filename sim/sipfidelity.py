"""SIP fidelity: a site simulated with every leg a real SIP dialog over a simulated network.

The appliance's own B2BUA, transaction layer, registrar, call control and ACD run unchanged;
trunk gateways and agents' phones are the testbed's SIP user agents, and datagrams cross a
network with the configured latency, jitter and loss. Everything random - arrivals, call
types, talk times, patience, answer delays, the network - comes from streams seeded by the
run's seed, so a run that fails replays exactly.

What callers and agents do is the call-fidelity model's core: Poisson arrivals by interval,
call types, talk time, patience (a CANCEL while queued), answer delay and missed rings (the
agent comes back with the *43 feature code). Every agent's phone registers at the start, which
logs the agent in; shifts, breaks, retrials, hold and transfer are left to call fidelity.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from appliance.config import Site
from appliance.eventlog import EventLog
from appliance.net import Address
from appliance.pbx.b2bua import B2bua
from appliance.pbx.sip.digest import ha1
from sim.distributions import sampler
from sim.media import AnnouncementTiming, announcement_timing
from sim.sipnet import LinkQuality, SimulatedNetwork
from sim.sipua import UaEvent, UserAgent
from sim.streams import ACD, SIP_IDS, Streams
from sim.traffic.arrivals import RateProfile

APPLIANCE = ("10.0.0.1", 5060)
REALM = "sim.ccbox"
_POLL = 0.05  # how often scripted callers and agents look at what their phones heard


@dataclass(frozen=True)
class SipRunSpec:
    hours: float
    seed: int
    quality: LinkQuality = field(default_factory=LinkQuality)
    replication: int = 0


def lab_site(site: Site) -> Site:
    """`site` with a gateway address per trunk group and a phone per agent (digest hashes of
    generated passwords), agents logged in by registering."""
    data: dict[str, Any] = site.model_dump()
    for index, group in enumerate(data["trunk_groups"], start=1):
        group["peers"] = [_gateway(index)[0]]
    phones = [{"user": agent.id, "ha1_md5": ha1(agent.id, REALM, _password(agent.id), "MD5")}
              for agent in site.expanded_agents()]
    data["sip"] = {**data["sip"], "realm": REALM, "phones": phones,
                   "agent_login": "register",
                   "probe_interval": 0}
    return Site.model_validate(data)


def _gateway(index: int) -> Address:
    return f"10.1.{index}.1", 5060


def _password(user: str) -> str:
    return f"pw-{user}"


class SipWorld:
    """One run in SIP fidelity. Announcements play for the real length of the site's
    prompts unless `timing` says otherwise (see `sim.media.announcement_timing`)."""

    def __init__(
        self, site: Site, spec: SipRunSpec, timing: AnnouncementTiming | None = None
    ) -> None:
        if site.traffic is None:
            raise ValueError(f"site {site.site!r} has no traffic section to simulate")
        self.site = lab_site(site)
        self.spec = spec
        self.length = spec.hours * 3600.0
        streams = Streams(spec.seed, spec.replication)
        self.log = EventLog()
        self.net = SimulatedNetwork(streams("network"), spec.quality)
        self.box = B2bua(self.site, self.log, streams(ACD), b"sim-secret", APPLIANCE,
                         sip_ids=streams(SIP_IDS))
        self.timing = announcement_timing(site) if timing is None else timing
        # Set on the core the B2BUA built, before any call reaches it.
        self.box.cc.announcement_seconds = self.timing.seconds
        self.net.attach(APPLIANCE, self.box)
        self.gateways: dict[str, UserAgent] = {}
        for index, group in enumerate(self.site.trunk_groups, start=1):
            address = _gateway(index)
            gateway = UserAgent("gw", "", address, APPLIANCE, streams(f"gateway-{group.name}"))
            self.gateways[group.name] = gateway
            self.net.attach(address, gateway)
        self.phones: dict[str, UserAgent] = {}
        for index, agent in enumerate(self.site.expanded_agents()):
            address = (f"10.2.{index // 250}.{index % 250 + 1}", 5060)
            phone = UserAgent(agent.id, _password(agent.id), address, APPLIANCE,
                              streams(f"phone-{agent.id}"))
            self.phones[agent.id] = phone
            self.net.attach(address, phone)
        self._callers = _Callers(self, streams)
        self._agents = _Agents(self, streams)

    def do(self, ua: UserAgent, method: str, *args: Any) -> Any:
        result = getattr(ua, method)(self.net.now, *args)
        self.net.poke(ua.local)
        return result

    def run(self, progress: Callable[[float], None] | None = None,
            step: float = 900.0) -> EventLog:
        self._register_phones()
        self._callers.start()
        self._poll()
        t = 0.0
        while t < self.length:
            t = min(t + step, self.length)
            self.net.run(t)
            if progress is not None:
                progress(t / self.length)
        return self.log

    def _register_phones(self) -> None:
        # As phones do: an hour's registration, renewed at half time.
        for phone in self.phones.values():
            self.do(phone, "register", 3600)
        self.net.at(self.net.now + 1800, self._register_phones)

    def _poll(self) -> None:
        self._agents.look()
        self._callers.look()
        self.net.at(self.net.now + _POLL, self._poll)


class _Callers:
    def __init__(self, world: SipWorld, streams: Streams) -> None:
        traffic = world.site.traffic
        assert traffic is not None
        self.world = world
        self.profile = RateProfile.of_day(traffic)
        self.arrival_rng = streams("arrivals")
        self.type_rng = streams("call-type")
        self.types = traffic.call_types
        self.talk = {c.name: sampler(c.talk_time, streams(f"talk-{c.name}")) for c in self.types}
        self.patience = {c.name: sampler(c.patience, streams(f"patience-{c.name}"))
                         for c in self.types if c.patience is not None}
        total = sum(c.share for c in self.types)
        self.weights = [c.share / total for c in self.types]
        self.waiting: dict[tuple[str, int], str] = {}  # (group, ua call) -> call type

    def start(self) -> None:
        self._schedule(0.0)

    def _schedule(self, after: float) -> None:
        at = self.profile.next_arrival(after, self.arrival_rng)
        if at < self.world.length:
            self.world.net.at(at, self._arrive)

    def _arrive(self) -> None:
        world = self.world
        self._schedule(world.net.now)
        call_type = self._pick()
        gateway = world.gateways[call_type.trunk_group]
        call = world.do(gateway, "call", call_type.dnis or "100")
        self.waiting[(call_type.trunk_group, call)] = call_type.name
        patience = self.patience.get(call_type.name)
        if patience is not None:
            world.net.at(world.net.now + patience(), lambda: self._give_up(gateway, call))

    def _pick(self) -> Any:
        u = self.type_rng.random()
        for call_type, weight in zip(self.types, self.weights, strict=True):
            if u < weight:
                return call_type
            u -= weight
        return self.types[-1]

    def _give_up(self, gateway: UserAgent, call: int) -> None:
        if gateway.calls[call].state in ("calling", "ringing"):
            self.world.do(gateway, "hangup", call)

    def look(self) -> None:
        world = self.world
        for group, gateway in world.gateways.items():
            for event in gateway.take_events():
                if event.kind not in ("answered", "failed"):
                    continue
                name = self.waiting.pop((group, event.call), None)
                if event.kind == "answered" and name is not None:
                    talk = self.talk[name]()
                    world.net.at(world.net.now + talk,
                                 lambda g=gateway, c=event.call: world.do(g, "hangup", c))


class _Agents:
    def __init__(self, world: SipWorld, streams: Streams) -> None:
        behaviour = world.site.agent_behaviour
        self.world = world
        self.answer_delay = sampler(behaviour.answer_delay, streams("answer-delay"))
        self.away = sampler(behaviour.away_after_missed_ring, streams("away"))
        self.no_answer = behaviour.no_answer_probability
        self.miss_rng = streams("missed-rings")

    def look(self) -> None:
        for agent, phone in self.world.phones.items():
            for event in phone.take_events():
                self._on(agent, phone, event)

    def _on(self, agent: str, phone: UserAgent, event: UaEvent) -> None:
        world = self.world
        if event.kind != "incoming":
            return
        if self.no_answer and self.miss_rng.random() < self.no_answer:
            # A missed ring: the ACD makes the agent not ready; they come back later.
            back = world.net.now + self.away()
            world.net.at(back, lambda: world.do(phone, "call", "*43"))
            return
        world.net.at(world.net.now + self.answer_delay(),
                     lambda c=event.call: world.do(phone, "answer", c))


def simulate_sip(site: Site, spec: SipRunSpec,
                 progress: Callable[[float], None] | None = None) -> EventLog:
    return SipWorld(site, spec).run(progress)
