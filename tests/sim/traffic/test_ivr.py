"""Simulated callers in the IVR: the keys they press, when, and when they give up there."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest
import simpy
import yaml

from appliance.config import Site, parse_site
from appliance.eventlog import EventLog, record_to_json
from appliance.events import (
    CallEnded,
    EndCause,
    IvrDigits,
    IvrExited,
    IvrExitKind,
    IvrFlowEntered,
    IvrVariableSet,
    Record,
)
from sim.channels import IvrHeard
from sim.clock import SimClock
from sim.media import AnnouncementTiming
from sim.sipfidelity import SipRunSpec, SipWorld
from sim.streams import Streams
from sim.traffic.callers import Callers
from sim.traffic.ivr import IvrCallers
from sim.world import RunSpec, World
from tests.factories import site_dict
from tests.sim.channels.test_models_alone import Recorder

MENU, BYE, DELAY, TIMEOUT = 3.0, 2.0, 1.5, 5.0
FLOW = {
    "name": "main", "start": "menu", "nodes": [
        {"name": "menu", "kind": "play_option", "prompts": "menu", "barge_in": False,
         "timeout": TIMEOUT, "retries": 0, "options": {"1": "done", "2": "service"},
         "default": "service", "on_timeout": "service"},
        {"name": "done", "kind": "stop_flow", "prompts": "bye"},
        {"name": "service", "kind": "to_queue", "queue": "service"},
    ],
}
PROMPTS = {"menu": {"en": "For your balance press 1, for an agent press 2."},
           "bye": {"en": "Goodbye."}}
CALLER_IVR = {"choices": {"main.menu": {"1": 0.3, "2": 0.6}},
              "key_delay": {"dist": "fixed", "value": DELAY}}


def ivr_site(caller: dict[str, Any] | None = None, flow: dict[str, Any] | None = None,
             **ivr: Any) -> Site:
    call_type = {"name": "general", "trunk_group": "pstn",
                 "talk_time": {"dist": "exponential", "mean": 60},
                 "patience": {"dist": "fixed", "value": 600},
                 "ivr": CALLER_IVR if caller is None else caller}
    data = site_dict(agents=4, traffic={"calls_per_hour": 120, "call_types": [call_type]})
    data["routes"] = [{"trunk_group": "pstn", "flow": "main"}]
    data["ivr"] = {"prompts": PROMPTS, "flows": [flow or FLOW], **ivr}
    return parse_site(yaml.safe_dump(data), source="<test>")


def seconds_each(names: Sequence[str], language: str) -> float:
    return sum(MENU if name == "menu" else BYE for name in names)


TIMING = AnnouncementTiming(None, "", prompt_seconds=seconds_each)


def run(site: Site, hours: float = 40, seed: int = 3) -> EventLog:
    return World(site, RunSpec(hours=hours, seed=seed), TIMING).run()


def test_the_share_served_in_the_ivr_is_the_configured_one() -> None:
    log = run(ivr_site())
    exits = Counter(r.kind for r in log if isinstance(r, IvrExited))
    n = sum(exits.values())
    assert n > 4000
    share = exits[IvrExitKind.COMPLETED] / n
    assert abs(share - 0.3) <= 1.96 * math.sqrt(0.3 * 0.7 / n)  # its 95 % interval
    assert set(exits) <= {IvrExitKind.COMPLETED, IvrExitKind.QUEUE}


def test_the_time_in_the_ivr_is_the_prompts_plus_the_key_delay() -> None:
    log = run(ivr_site(), hours=4)
    entered = {r.call: r.t for r in log if isinstance(r, IvrFlowEntered)}
    pressed = {r.call: r.digits for r in log if isinstance(r, IvrDigits)}
    # By hand: the menu plays (no barge-in), the key comes DELAY later; "1" hears goodbye;
    # no key waits out the menu's timeout.
    expected = {"1": MENU + DELAY + BYE, "2": MENU + DELAY, "": MENU + TIMEOUT}
    left = [r for r in log if isinstance(r, IvrExited)]
    assert {pressed[r.call] for r in left} == {"1", "2", ""}
    for r in left:
        assert r.t - entered[r.call] == pytest.approx(expected[pressed[r.call]])


def test_with_barge_in_the_key_cuts_the_menu_short() -> None:
    flow = {**FLOW, "nodes": [{**FLOW["nodes"][0], "barge_in": True}, *FLOW["nodes"][1:]]}
    log = run(ivr_site(flow=flow), hours=2)
    entered = {r.call: r.t for r in log if isinstance(r, IvrFlowEntered)}
    keyed = [r for r in log if isinstance(r, IvrDigits) and r.digits]
    assert keyed
    assert all(r.t - entered[r.call] == pytest.approx(DELAY) for r in keyed)


def test_a_run_with_an_ivr_replays_byte_for_byte() -> None:
    site = ivr_site({**CALLER_IVR, "wrong_key": 0.1,
                     "key_delay": {"dist": "exponential", "mean": 3},
                     "patience": {"dist": "exponential", "mean": 20}})

    def records() -> list[str]:
        return [record_to_json(r) for r in run(site, hours=3)]

    first = records()
    assert first == records()
    assert any('"abandoned"' in line for line in first)


def test_callers_out_of_ivr_patience_abandon_in_the_ivr() -> None:
    site = ivr_site({"choices": {"main.menu": {"1": 0.0}},
                     "patience": {"dist": "fixed", "value": 1.0}})
    log = run(site, hours=2)
    causes = Counter(r.cause for r in log if isinstance(r, CallEnded))
    assert set(causes) == {EndCause.IVR_ABANDONED}


class Behind(Recorder):
    """A channel that hears the IVR's records only when asked to hear the latest, as the
    load hears a running box's."""

    def __init__(self, env: simpy.Environment) -> None:
        super().__init__(env)
        self.unheard: list[tuple[int, Record]] = []
        self.heard: IvrHeard | None = None

    def follow_ivr(self, heard: IvrHeard) -> None:
        self.heard = heard

    def hear_latest(self) -> None:
        assert self.heard is not None
        while self.unheard:
            self.heard(*self.unheard.pop(0))


@pytest.mark.parametrize("queued", [False, True])
def test_a_caller_out_of_ivr_patience_first_hears_whether_the_call_was_queued(
        queued: bool) -> None:
    site = ivr_site({"choices": {"main.menu": {"2": 1.0}},
                     "patience": {"dist": "fixed", "value": 1.0}})
    assert site.traffic is not None and site.ivr is not None
    env = simpy.Environment()
    channel = Behind(env)
    callers = Callers(site.traffic, SimClock(env), channel, Streams(1))
    IvrCallers(site.ivr, site.traffic, callers, seconds_each, Streams(1))
    callers.start()
    while not channel.named("offer"):
        env.step()
    assert channel.heard is not None
    channel.heard(1, IvrFlowEntered(env.now, 1, "main"))
    if queued:  # written by the appliance, not read yet
        channel.unheard.append((1, IvrExited(env.now, 1, IvrExitKind.QUEUE, "service", "en",
                                             {})))
    entered = env.now
    env.run(until=entered + 2.0)
    # Queued, the caller waits with their queue patience (600 s) instead.
    assert channel.named("hang_up") == ([] if queued else [(entered + 1.0, (1,))])


def test_wrong_keys_are_retried_and_digits_collected() -> None:
    flow = {"name": "main", "start": "pin", "nodes": [
        {"name": "pin", "kind": "play_digit", "prompts": "menu", "variable": "pin",
         "max_digits": 4, "min_digits": 4, "retries": 1, "next": "service",
         "default": "service"},
        {"name": "service", "kind": "to_queue", "queue": "service"},
    ]}
    site = ivr_site({"digits": {"main.pin": "1234"}, "wrong_key": 0.5}, flow=flow,
                    variables=["pin"])
    log = run(site, hours=2)
    tries = [r for r in log if isinstance(r, IvrDigits)]
    assert {(r.digits, r.ended_by) for r in tries} == {("1234", "count"), ("", "terminator")}
    assert {r.value for r in log if isinstance(r, IvrVariableSet)} == {"1234"}


def test_queue_patience_counts_from_the_queue() -> None:
    # Patience 600 s and four agents: nobody abandons, although the IVR took seconds.
    log = run(ivr_site(), hours=4)
    assert not any(r.cause is EndCause.ABANDONED for r in log if isinstance(r, CallEnded))


def test_sip_fidelity_callers_walk_the_ivr_too() -> None:
    world = SipWorld(ivr_site(), SipRunSpec(hours=1, seed=3), TIMING)
    log = world.run()
    world.drain(600)
    exits = Counter(r.kind for r in log if isinstance(r, IvrExited))
    assert exits[IvrExitKind.COMPLETED] > 0 and exits[IvrExitKind.QUEUE] > 0
