"""An appliance, a trunk gateway and agents' phones on a simulated network, for tests."""

from __future__ import annotations

from collections.abc import Callable
from random import Random
from typing import Any

import numpy as np
import yaml

from appliance.clock import Deadlines
from appliance.config import Site, parse_site
from appliance.eventlog import EventLog
from appliance.media.plane import MediaPlane, Prompts, RecordingDesk
from appliance.pbx.b2bua import B2bua
from appliance.pbx.ivr import PromptSeconds
from appliance.pbx.sip.digest import ha1
from appliance.wallclock import WallClock
from sim.sipnet import LinkQuality, SimulatedNetwork
from sim.sipua import UserAgent
from tests.factories import site_dict

APPLIANCE = ("10.0.0.1", 5060)
GATEWAY = ("10.0.0.2", 5060)
REALM = "test.ccbox"


def password(user: str) -> str:
    return f"secret-{user}"


def live_site(agents: int = 2, sip: dict[str, Any] | None = None,
              more: dict[str, Any] | None = None, trunk: dict[str, Any] | None = None,
              phone: dict[str, dict[str, Any]] | None = None, **kwargs: Any) -> Site:
    """`site_dict`'s site with phones for its agents and a gateway; `more`: further sections
    (ivr, media ...); `trunk`: further fields of its trunk group (outbound ...); `phone`:
    further fields of phones, by user (forward ...)."""
    data = site_dict(agents=agents, **kwargs)
    data.update(more or {})
    data["trunk_groups"][0]["peers"] = [GATEWAY[0]]
    data["trunk_groups"][0].update(trunk or {})
    users = [f"a{i}" for i in range(1, agents + 1)]
    data["sip"] = {
        "realm": REALM,
        "phones": [{"user": user,
                    "ha1_md5": ha1(user, REALM, password(user), "MD5"),
                    "ha1_sha256": ha1(user, REALM, password(user), "SHA-256"),
                    **(phone or {}).get(user, {})}
                   for user in users],
        **(sip or {}),
    }
    return parse_site(yaml.safe_dump(data), source="<test>")


class Lab:
    """The appliance at APPLIANCE, a gateway at GATEWAY and phone aN at 10.0.1.N."""

    def __init__(self, site: Site, seed: int = 1, quality: LinkQuality | None = None,
                 media_for: Callable[[Deadlines], MediaPlane] | None = None,
                 wallclock: WallClock | None = None,
                 prompt_seconds: PromptSeconds | None = None) -> None:
        self.log = EventLog()
        self.net = SimulatedNetwork(Random(f"net-{seed}"), quality or LinkQuality())
        self.box = B2bua(site, self.log, Random(f"box-{seed}"), b"lab-secret", APPLIANCE,
                         media_for=media_for, wallclock=wallclock,
                         prompt_seconds=prompt_seconds)
        self.net.attach(APPLIANCE, self.box)
        self.gateway = UserAgent("gw", "", GATEWAY, APPLIANCE, Random(f"gw-{seed}"))
        self.net.attach(GATEWAY, self.gateway)
        self.phones: dict[str, UserAgent] = {}
        for index, agent in enumerate(site.expanded_agents(), start=1):
            address = (f"10.0.1.{index}", 5060)
            phone = UserAgent(agent.id, password(agent.id), address, APPLIANCE,
                              Random(f"{agent.id}-{seed}"))
            self.phones[agent.id] = phone
            self.net.attach(address, phone)

    def register_all(self) -> None:
        for phone in self.phones.values():
            phone.register(self.net.now)
            self.net.poke(phone.local)
        self.run(1.0)
        for user, phone in self.phones.items():
            assert [e.kind for e in phone.take_events()] == ["registered"], user

    def run(self, seconds: float) -> None:
        self.net.run(self.net.now + seconds)

    def do(self, ua: UserAgent, method: str, *args: Any) -> Any:
        result = getattr(ua, method)(self.net.now, *args)
        self.net.poke(ua.local)
        return result

    def record_types(self) -> list[str]:
        return [type(record).__name__ for record in self.log]


MEDIA_PORTS = range(30000, 30100)


class Sounds:
    """Prompts of 0.2 s each."""

    def samples(self, name: str) -> np.ndarray:
        return np.full(1600, 1000, dtype=np.int16)


MUSIC = (np.sin(np.arange(8000) * 2 * np.pi * 440 / 8000) * 8000).astype(np.int16)


def media_plane(timeout: float = 30.0, desk: RecordingDesk | None = None,
                prompts: Prompts | None = None) -> Callable[[Deadlines], MediaPlane]:
    """Builds the appliance's media plane on its timer heap: relay ports MEDIA_PORTS, short
    prompts (or `prompts`), a 440 Hz music, recordings to `desk`."""

    def build(deadlines: Deadlines) -> MediaPlane:
        return MediaPlane(APPLIANCE[0], MEDIA_PORTS, deadlines, Random(7), media_timeout=timeout,
                          prompts=prompts or Sounds(), music=MUSIC, recordings=desk)

    return build
