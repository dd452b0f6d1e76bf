"""The stages the parity scenario is played on: one vocabulary, three worlds.

A `Stage` is what the scenario may do - agents log in, go not ready or ready, answer, hold,
resume, transfer and hang up; the caller calls and hangs up - and how it lets time pass. Two
kinds:

- `SipStage`: the testbed's SIP user agents (`sim.sipua`) - a gateway and one phone per
  agent - driven by `do(ua, method, *args)`, over the simulated network (SIP fidelity) or
  UDP on loopback against `ccbox serve` (live);
- `DirectStage`: call-control inputs through the direct channel (`sim.channels.direct`),
  in simulated time (call fidelity).

Each act is the one its world has for it: logging in is a REGISTER over SIP and a login
input in call fidelity, going not ready a feature code or a not-ready input with a reason, a
blind transfer a REFER from the phone or a transfer input.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from random import Random
from typing import Any, Protocol

import simpy

from appliance.config import Site
from appliance.eventlog import EventLog
from appliance.pbx.actions import RingAgent
from appliance.pbx.callcontrol import CallControl
from sim.channels import Conversation
from sim.channels.direct import DirectChannel
from sim.clock import SimClock
from sim.driver import CoreDriver
from sim.sipua import UaCall, UserAgent, offer_sdp

TRUNK_GROUP = "gateway"
CALLER = "gw"  # the calling number: a SIP gateway's From user
DIALLED = "100"
NOT_READY_REASON = "break"  # what an agent gives in call fidelity; SIP carries none
RING_PAUSE = 0.02  # seconds between looks for a ring that is late
RING_WAITS = 250


class Stage(Protocol):
    """What the scenario does; a call's handle is the stage's own."""

    async def wait(self, seconds: float) -> None: ...

    def log_in(self, agent: str) -> None: ...

    def log_out(self, agent: str) -> None: ...

    def ready(self, agent: str) -> None: ...

    def not_ready(self, agent: str) -> None: ...

    def call(self, attempt: int) -> int:
        """The caller calls the queue's number; `attempt` 2+ for a retrial."""
        ...

    def caller_hangs_up(self, call: int) -> None: ...

    async def answer(self, agent: str) -> None:
        """The agent picks up the call ringing on their phone (once it rings)."""
        ...

    def hold(self, agent: str) -> None: ...

    def resume(self, agent: str) -> None: ...

    def transfer(self, agent: str, queue: str) -> None:
        """The agent blind-transfers their caller to `queue`."""
        ...

    def agent_hangs_up(self, agent: str) -> None: ...


class SipStage:
    """`Stage` as SIP from a gateway and the agents' phones. `do(ua, method, *args)` calls
    `ua.method(now, *args)` and sends what it has to; `pause(seconds)` lets time pass."""

    def __init__(self, gateway: UserAgent, phones: dict[str, UserAgent],
                 do: Callable[..., Any], pause: Callable[[float], Awaitable[None]],
                 codes: dict[str, str]) -> None:
        self.gateway = gateway
        self.phones = phones
        self.do = do
        self.pause = pause
        self.codes = codes  # the site's feature codes, by what they do

    async def wait(self, seconds: float) -> None:
        await self.pause(seconds)

    def log_in(self, agent: str) -> None:
        self.do(self.phones[agent], "register", 3600)  # registering logs the agent in

    def log_out(self, agent: str) -> None:
        self.do(self.phones[agent], "register", 0)

    def ready(self, agent: str) -> None:
        self.do(self.phones[agent], "call", self.codes["ready"])

    def not_ready(self, agent: str) -> None:
        self.do(self.phones[agent], "call", self.codes["not_ready"])

    def call(self, attempt: int) -> int:
        # Nothing in an INVITE says it is a retrial: `attempt` cannot be told.
        return int(self.do(self.gateway, "call", DIALLED))

    def caller_hangs_up(self, call: int) -> None:
        self.do(self.gateway, "hangup", call)

    async def answer(self, agent: str) -> None:
        # On a loaded machine the INVITE may reach the phone after the scenario's step:
        # wait for it (a bounded number of short pauses), as a person waits for the ring.
        phone = self.phones[agent]
        for _ in range(RING_WAITS):
            ringing = [c for c in phone.calls.values() if c.state == "incoming"]
            if ringing:
                phone.take_events()
                self.do(phone, "answer", ringing[-1].id)
                return
            await self.pause(RING_PAUSE)
        raise AssertionError(f"{agent}'s phone never rang")

    def hold(self, agent: str) -> None:
        self._reoffer(agent, "sendonly")

    def resume(self, agent: str) -> None:
        self._reoffer(agent, "sendrecv")

    def _reoffer(self, agent: str, direction: str) -> None:
        """A re-INVITE from the agent's phone, its offer `a=<direction>` (RFC 3264 8.4)."""
        phone = self.phones[agent]
        body = offer_sdp(phone.local[0], 42000, direction)  # the port its answer gave
        self.do(phone, "reinvite", self._answered(phone).id, body)

    def transfer(self, agent: str, queue: str) -> None:
        phone = self.phones[agent]
        self.do(phone, "refer", self._answered(phone).id, queue)

    def agent_hangs_up(self, agent: str) -> None:
        phone = self.phones[agent]
        self.do(phone, "hangup", self._answered(phone).id)

    @staticmethod
    def _answered(phone: UserAgent) -> UaCall:
        [call] = [c for c in phone.calls.values() if c.state == "answered"]
        return call


class DirectStage:
    """`Stage` as call-control inputs through the direct channel, in simulated time; the
    records are in `log`. Random("box") is the ACD's stream, as the B2BUA's in SIP fidelity."""

    def __init__(self, site: Site) -> None:
        self.env = simpy.Environment()
        clock = SimClock(self.env)
        self.log = EventLog()
        self.core = CallControl(site, self.log, Random("box"))
        self.driver = CoreDriver(clock, self.core)
        self.channel = DirectChannel(clock, self.core, self.driver)
        self.ringing: dict[str, int] = {}  # agent -> the call their phone rings for
        self.channel.on(RingAgent, self._rung)
        self.channel.start()

    def _rung(self, action: RingAgent) -> None:
        self.ringing[action.agent] = action.call

    async def wait(self, seconds: float) -> None:
        until = self.env.now + seconds
        # An event at `until` brings the clock there: the driver stops at the last event.
        self.env.timeout(seconds)
        self.driver.run(until)

    def log_in(self, agent: str) -> None:
        self.channel.log_in(agent)

    def log_out(self, agent: str) -> None:
        self.channel.log_out(agent)

    def ready(self, agent: str) -> None:
        self.channel.ready(agent)

    def not_ready(self, agent: str) -> None:
        self.channel.not_ready(agent, NOT_READY_REASON)

    def call(self, attempt: int) -> int:
        # The conversation is the scenario's to end: it never ends on its own.
        conversation = Conversation(math.inf)
        return self.channel.offer(conversation, TRUNK_GROUP, CALLER, DIALLED, attempt)

    def caller_hangs_up(self, call: int) -> None:
        self.channel.hang_up(call)

    async def answer(self, agent: str) -> None:
        self.channel.answer(agent, self.ringing.pop(agent))

    def hold(self, agent: str) -> None:
        self.channel.hold(agent)

    def resume(self, agent: str) -> None:
        self.channel.resume(agent)

    def transfer(self, agent: str, queue: str) -> None:
        assert self.channel.transfer(agent, queue)
        self.driver.settle()

    def agent_hangs_up(self, agent: str) -> None:
        # The channel's agents end a call by saying goodbye, and their caller hangs up; a
        # phone hanging up is call control's own input.
        self.core.agent_hangup(self.env.now, agent)
        self.driver.settle()
