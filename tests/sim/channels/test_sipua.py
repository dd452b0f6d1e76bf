"""The SIP channel: the one caller/agent model with every act a SIP request."""

from __future__ import annotations

from collections import Counter
from functools import cache
from typing import Any

import yaml

from appliance.config import Site, parse_site
from appliance.events import (
    AgentState,
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallOffered,
    CallTransferred,
    EndCause,
)
from appliance.pbx.actions import RingAgent
from sim.sipfidelity import SipRunSpec, SipWorld
from sim.sipua import offer_sdp, session_of
from sim.world import RunSpec, World
from tests.factories import site_dict

SHIFT = {"start": "08:10", "end": "09:10"}
BREAK = {"start": "08:30", "minutes": 10, "reason": "coffee"}


def busy_site(**call_type: Any) -> Site:
    """Four agents on a shift with a break, callers who hold, leave and try again."""
    data = site_dict(agents=4, trunks=6, wrap_up=5, traffic={
        "start": "08:00", "calls_per_hour": 120,
        "call_types": [{
            "name": "general", "trunk_group": "pstn", "callers": 10**9,
            "talk_time": {"dist": "exponential", "mean": 90},
            "patience": {"dist": "exponential", "mean": 40},
            "hold": {"probability": 1.0, "duration": {"dist": "fixed", "value": 10}},
            "retrial": {"after_abandon": 1.0, "after_busy": 1.0,
                        "delay": {"dist": "fixed", "value": 60}, "max_attempts": 3},
            **call_type}]},
        behaviour={"answer_delay": {"dist": "fixed", "value": 2}})
    for agent in data["agents"]:
        agent.update(shift=SHIFT, breaks=[BREAK])
    return parse_site(yaml.safe_dump(data), source="<test>")


def run_sip(site: Site) -> tuple[SipWorld, list]:
    world = SipWorld(site, SipRunSpec(hours=1.5, seed=4))
    log = world.run()
    world.drain(1800)
    return world, log.records


def kinds(records: list) -> Counter[str]:
    return Counter(type(r).__name__ for r in records)


@cache
def busy_run() -> list:
    return run_sip(busy_site())[1]


def test_held_calls_are_resumed_and_end_as_the_caller_decides() -> None:
    records = busy_run()
    count = kinds(records)
    assert count["CallHeld"] == count["CallResumed"] > 20
    # Every call ends by the caller or the trunks: none is lost to a dialog left unacknowledged.
    offered = {r.call for r in records if isinstance(r, CallOffered)}
    ended = Counter(r.cause for r in records if isinstance(r, CallEnded))
    assert sum(ended.values()) == len(offered)
    assert set(ended) <= {EndCause.CALLER_HANGUP, EndCause.ABANDONED, EndCause.BLOCKED}


def test_shifts_and_breaks_are_feature_codes_dialled_on_time() -> None:
    records = busy_run()
    changes = [r for r in records if isinstance(r, AgentStateChanged) and r.agent == "a1"]
    login = next(r for r in changes if r.state is AgentState.READY)
    pause = next(r for r in changes if r.state is AgentState.NOT_READY)
    logout = next(r for r in changes if r.state is AgentState.LOGGED_OUT and r.t > login.t)
    # Ten minutes from the run's 08:00 start; a feature code takes a few round trips.
    assert 600 < login.t < 601
    assert pause.reason == "phone"  # a feature code carries no reason
    assert pause.t >= 1800  # at 08:30, or once a call under way is wrapped up
    assert logout.t >= 4200
    assert all(r.t >= 600 for r in records if isinstance(r, CallEnded)
               and r.cause is EndCause.CALLER_HANGUP)


def test_callers_try_again_after_leaving_the_queue() -> None:
    records = busy_run()
    attempts = Counter(r.ani for r in records if isinstance(r, CallOffered))
    # A billion callers: the same number twice is the same caller trying again.
    assert sum(1 for n in attempts.values() if n > 1) > 10


def test_transfers_are_refers_and_the_caller_talks_to_a_second_agent() -> None:
    # The queue keeps a transferred call's wait (the default); a caller left in line when
    # the shifts end gives up on the second wait as on the first.
    world, records = run_sip(busy_site(transfer={"probability": 1.0, "target": "service"}))
    assert world.channel.skipped["transfer"] == 0
    transferred = Counter(r.call for r in records if isinstance(r, CallTransferred))
    answers = Counter(r.call for r in records if isinstance(r, CallAnswered))
    assert len(transferred) > 20 and max(transferred.values()) == 1
    # Most transferred callers wait for and talk to a second agent; the others leave.
    assert sum(1 for call in transferred if answers[call] == 2) > len(transferred) / 2
    offered = {r.call for r in records if isinstance(r, CallOffered)}
    assert sum(1 for r in records if isinstance(r, CallEnded)) == len(offered)


def test_a_declined_ring_is_the_same_in_both_fidelities() -> None:
    site = busy_site()
    logs = []
    for world in (World(site, RunSpec(hours=0.3, seed=4)),
                  SipWorld(site, SipRunSpec(hours=0.3, seed=4))):
        # A second before the agent would answer (never from within the ring: the direct
        # channel's subscribers must not feed call control while it hands out actions).
        channel, clock = world.channel, world.clock
        channel.on(RingAgent, lambda ring, c=channel, k=clock: k.after(
            1.0, lambda _event: c.decline(ring.agent, ring.call)))
        logs.append(kinds(world.run().records))
    call, sip = logs
    assert call["CallAnswered"] == sip["CallAnswered"] == 0
    assert call["AgentRung"] > 10 and sip["AgentRung"] > 10


def test_the_offer_carries_the_call_handle_as_its_session_id() -> None:
    assert session_of(offer_sdp("10.1.1.1", 40000, session=1234)) == 1234
    assert session_of(b"v=0\r\ns=-\r\n") is None
