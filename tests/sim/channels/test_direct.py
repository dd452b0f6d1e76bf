"""The direct channel: acts are call-control inputs, and call control's answer is the act's."""

from __future__ import annotations

import math
from random import Random

import simpy

from appliance.eventlog import EventLog
from appliance.events import CallTransferred
from appliance.pbx.actions import RingAgent
from appliance.pbx.callcontrol import CallControl
from sim.channels import Conversation
from sim.channels.direct import DirectChannel
from sim.clock import SimClock
from sim.driver import CoreDriver
from tests.factories import build_site


def talking() -> tuple[DirectChannel, EventLog]:
    """Agent a1 talking with a caller, through the direct channel."""
    env = simpy.Environment()
    clock, log = SimClock(env), EventLog()
    core = CallControl(build_site(agents=1, extra_queues=[{"name": "sales", "skill": "sales"}],
                                  agent_skills={"service": 5, "sales": 5}), log, Random(1))
    channel = DirectChannel(clock, core, CoreDriver(clock, core))
    rung: list[int] = []
    channel.on(RingAgent, lambda ring: rung.append(ring.call))
    channel.start()
    channel.log_in("a1")
    channel.offer(Conversation(math.inf), "pstn", "13800000000", "100", 1)
    channel.answer("a1", rung[0])
    return channel, log


def test_a_transfer_call_control_makes_is_one_the_channel_made() -> None:
    channel, log = talking()
    assert channel.transfer("a1", "sales")
    assert [r.target for r in log if isinstance(r, CallTransferred)] == ["sales"]


def test_a_transfer_call_control_refuses_is_refused_to_the_agent() -> None:
    channel, log = talking()
    assert not channel.transfer("a1", "no-such-queue")
    assert not any(isinstance(r, CallTransferred) for r in log)
