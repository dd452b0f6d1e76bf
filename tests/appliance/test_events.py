"""Every record and action the cores build has exactly its declared fields."""

from __future__ import annotations

import pytest

from appliance.pbx import actions
from sim.world import RunSpec, World
from tests.factories import build_site

# Everything that can happen: holds, transfers, missed rings, abandons,
# announcements, overflow by max wait and by a full queue, retrials, blocking.
EVENTFUL_SITE = build_site(
    agents=4,
    trunks=6,
    wrap_up=5,
    ring_timeout=8,
    queue={
        "max_wait": 60,
        "capacity": 3,
        "on_max_wait": {"action": "queue", "target": "backup"},
        "on_full": {"action": "busy"},
        "announcements": {"first_after": 10, "every": 20, "duration": 4},
    },
    extra_queues=[{"name": "backup", "max_wait": 60, "on_max_wait": {"action": "voicemail"}}],
    traffic={
        "calls_per_hour": 240,
        "call_types": [
            {
                "name": "general",
                "trunk_group": "pstn",
                "talk_time": {"dist": "lognormal", "mean": 120, "sd": 60},
                "patience": {"dist": "exponential", "mean": 50},
                "hold": {"probability": 0.3, "duration": {"dist": "fixed", "value": 15}},
                "transfer": {"probability": 0.2, "target": "backup"},
                "retrial": {"after_abandon": 0.3, "after_busy": 0.5},
            }
        ],
    },
    behaviour={"answer_delay": {"dist": "exponential", "mean": 4}, "no_answer_probability": 0.15},
)


def test_records_and_actions_have_their_declared_fields() -> None:
    world = World(EVENTFUL_SITE, RunSpec(hours=3, seed=2))
    seen_actions: list[tuple] = []
    driver = world.driver
    for action_type in (
        actions.RingAgent, actions.StopRinging, actions.Connect, actions.Announce,
        actions.HangUpCaller, actions.HangUpAgent, actions.WrapUp,
    ):
        handler = driver.handlers.get(action_type)

        def both(action, handler=handler) -> None:
            seen_actions.append(action)
            if handler is not None:
                handler(action)

        driver.on(action_type, both)
    records = world.run().records
    kinds = {type(r).__name__ for r in records}
    assert {"CallHeld", "CallTransferred", "RingNoAnswer", "CallAbandoned", "CallAnnounced",
            "CallOverflowed", "CallBlocked"} <= kinds
    assert {type(a).__name__ for a in seen_actions} >= {
        "RingAgent", "StopRinging", "Connect", "Announce", "HangUpCaller", "HangUpAgent", "WrapUp"
    }
    for item in [*records, *seen_actions]:
        assert len(item) == len(type(item)._fields), item


def test_a_log_that_does_not_retain_feeds_every_subscriber_and_keeps_nothing():
    from appliance.eventlog import EventLog
    from appliance.events import CallEnded, EndCause

    log = EventLog(retain=False)
    first: list = []
    second: list = []
    log.subscribe(first.append)
    log.append(CallEnded(1.0, 1, EndCause.BLOCKED))
    log.subscribe(second.append)
    log.append(CallEnded(2.0, 2, EndCause.BLOCKED))
    assert [r.call for r in first] == [1, 2]
    assert [r.call for r in second] == [2]
    assert log.records == []


@pytest.mark.parametrize("retain", [True, False])
def test_a_subscriber_of_some_kinds_hears_only_those_in_order_with_the_others(retain):
    from appliance.eventlog import EventLog
    from appliance.events import CallBlocked, CallEnded, EndCause

    log = EventLog(retain=retain)
    heard: list = []
    log.subscribe(lambda r: heard.append(("all", type(r).__name__)))
    log.subscribe(lambda r: heard.append(("ended", r.call)), kinds=(CallEnded,))
    log.append(CallBlocked(1.0, 1, "pstn"))
    log.append(CallEnded(1.0, 1, EndCause.BLOCKED))
    assert heard == [("all", "CallBlocked"), ("all", "CallEnded"), ("ended", 1)]
    assert len(log.records) == (2 if retain else 0)
