"""Several subscribers per action type, in the order they subscribed."""

from __future__ import annotations

from appliance.config import resolve_site
from appliance.pbx.actions import Connect, StopRinging
from sim.channels.subscribers import Subscribers
from sim.world import RunSpec, World


def test_every_subscriber_hears_the_action_in_the_order_they_subscribed() -> None:
    heard: list[str] = []
    subscribers = Subscribers()
    subscribers.on(Connect, lambda action: heard.append(f"first {action.agent}"))
    subscribers.on(Connect, lambda action: heard.append(f"second {action.agent}"))
    subscribers.on(Connect, lambda action: heard.append(f"third {action.agent}"))
    subscribers.publish(Connect(7, "a1"))
    subscribers.publish(StopRinging(7, "a1"))  # nobody listens: dropped
    assert heard == ["first a1", "second a1", "third a1"]


def test_a_lone_subscriber_is_called_directly() -> None:
    subscribers = Subscribers()
    subscribers.on(Connect, print)
    assert subscribers.handlers[Connect] is print


def test_the_core_driver_hands_each_action_to_callers_and_agents_alike() -> None:
    world = World(resolve_site("small"), RunSpec(hours=1, seed=2))
    connects: list[Connect] = []
    world.driver.on(Connect, connects.append)  # a third subscriber, after both models
    log = world.run()
    answered = [r for r in log if type(r).__name__ == "CallAnswered"]
    assert answered
    assert [(c.call, c.agent) for c in connects] == [(r.call, r.agent) for r in answered]
