"""The core's timer heap: order, cancellation that lets go, and compaction."""

from __future__ import annotations

import gc
import weakref

from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.clock import Deadlines


class Call:
    """Stands for what a timer keeps alive: a call's leg, its dialog, its INVITE."""


def test_a_cancelled_timer_lets_go_of_what_it_would_have_been_called_with():
    deadlines = Deadlines()
    call = Call()
    alive = weakref.ref(call)
    handle = deadlines.schedule(1800.0, lambda now, c: None, call)  # a session timer
    handle.cancel()
    del call
    gc.collect()
    assert alive() is None  # freed now, not 30 minutes later
    deadlines.run_due(2000.0)  # and the shell in the heap does nothing when due


def test_cancelled_timers_do_not_pile_up():
    deadlines = Deadlines()
    for n in range(50_000):
        deadlines.schedule(1800.0 + n, lambda now: None).cancel()
        deadlines.schedule(float(n), lambda now: None)
    deadlines.run_due(50_000.0)
    assert len(deadlines._heap) < 10_000


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 100), st.booleans()), max_size=9000))
def test_timers_fire_in_order_and_cancelled_ones_never(timers):
    deadlines = Deadlines()
    fired: list[tuple[float, int]] = []
    expected = []
    for index, (when, cancel) in enumerate(timers):
        handle = deadlines.schedule(when, lambda now, i=index, w=when: fired.append((w, i)))
        if cancel:
            handle.cancel()
        else:
            expected.append((when, index))
    deadlines.run_due(100.0)
    assert fired == sorted(expected)
