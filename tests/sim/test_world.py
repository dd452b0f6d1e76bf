"""One simulation run as a whole."""

from __future__ import annotations

import gc

from appliance.config import resolve_site
from sim.world import RunSpec, World
from tests.factories import build_site

BUSY_SITE = build_site(
    agents=6,
    trunks=8,
    wrap_up=5,
    queue={"max_wait": 120, "on_max_wait": {"action": "voicemail"}},
    traffic={
        "calls_per_hour": 150,
        "call_types": [
            {
                "name": "general",
                "trunk_group": "pstn",
                "talk_time": {"dist": "exponential", "mean": 120},
                "patience": {"dist": "exponential", "mean": 60},
                "hold": {"probability": 0.2, "duration": {"dist": "fixed", "value": 20}},
                "retrial": {"after_abandon": 0.3, "after_busy": 0.5},
            }
        ],
    },
    behaviour={"answer_delay": {"dist": "exponential", "mean": 3}, "no_answer_probability": 0.1},
)


def garbage_after_run(hours: float) -> tuple[int, int]:
    """(calls, objects only the cyclic collector could free) after a whole run."""
    gc.collect()
    gc.disable()
    try:
        world = World(BUSY_SITE, RunSpec(hours=hours, seed=3))
        log = world.run()  # kept alive: the records are not garbage
        calls = world.core._next_call_id
        del world
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        found = len(gc.garbage)
        assert log.records
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    return calls, found


def test_calls_leave_no_reference_cycles_behind() -> None:
    # The run switches the cyclic collector off; that is only safe if calls
    # are freed by reference counting. The cycles that remain belong to the
    # world itself and to what is still in progress when the run stops, so
    # they do not grow with the number of calls.
    short_calls, short_garbage = garbage_after_run(2.0)
    long_calls, long_garbage = garbage_after_run(12.0)
    assert long_calls > short_calls + 1000
    assert long_garbage - short_garbage < 0.02 * (long_calls - short_calls)


def test_the_collector_is_back_on_after_a_run() -> None:
    assert gc.isenabled()
    World(resolve_site("small"), RunSpec(hours=0.5, seed=1)).run()
    assert gc.isenabled()
