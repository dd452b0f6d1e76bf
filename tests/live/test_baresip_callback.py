"""Callback keeping the caller's place, with real phones: three baresips through `ccbox
serve` (tests/live/test_baresip_features.py's `Lab`), each sending its own tone - caller A
and caller B on the trunk's gateway, and agent 1001.

No agent is ready at first (1001's phone has not started). A waits in the queue, keys the
callback key and then 1 over the read-back of their number (RFC 4733 events from the menu's
`sndcode`), hears the goodbye and is hung up. B calls later and waits. Then 1001's phone
registers: the appliance calls A back through the trunk's gateway - A's phone answers by
itself - after the agent answers (agent first) or before the agent is rung (caller first).
A and the agent hear each other while B, who joined after A booked, still waits.
"""

from __future__ import annotations

import re
import time

import pytest

from appliance.events import (
    CallAnswered,
    CallbackDialled,
    CallbackRequested,
    CallEnded,
    CallQueued,
    EndCause,
    OutsideCallEnded,
    OutsideCallStarted,
)
from sim.live import wait_until
from tests.live.test_baresip_features import (
    CALLER_HZ,
    HZ,
    WITHIN,
    command,
    established,
    lab,
    labels,
    share_at,
    tail,
)
from tests.live.test_baresip_transfer import pytestmark  # noqa: F401 - slow, needs baresip

AGENT = "1001"
A_NUMBER, B_NUMBER = "13800000001", "13800000002"
B_HZ = 1000.0  # neither the music nor another party's tone
TALK = 3.0  # seconds A and the agent talk; what the dumps are read for


@pytest.mark.parametrize("mode", ["agent_first", "caller_first"])
def test_a_caller_who_hung_up_is_called_back_in_their_place_by_a_real_phone(tmp_path, mode):
    callback = {"key": "1", "mode": mode, "ring_timeout": 15}
    with lab(tmp_path, agents=(AGENT,), callers=2, calling_out=True,
             queue={"callback": callback}) as box:
        a = box.caller(CALLER_HZ, A_NUMBER)
        command(a, "dial", box.uri("100"))
        box.wait_for(CallQueued)
        established(a)
        time.sleep(0.5)
        command(a, "sndcode", "1")
        time.sleep(1.0)  # the read-back of A's number has begun; a key cuts it short
        command(a, "sndcode", "1")
        box.wait_for(CallbackRequested)
        wait_until(lambda: "session closed" in a.log().lower(), WITHIN, "A released")
        b = box.caller(B_HZ, B_NUMBER, peer=1)
        command(b, "dial", box.uri("100"))
        box.wait_for(CallQueued, 2)
        agent = box.user(AGENT)  # registered: ready, and the first in line is A's place
        established(a, 2)
        established(agent)
        time.sleep(TALK)
        command(b, "hangup")  # still waiting: served after A, not before
        box.wait_for(CallEnded)
        command(a, "hangup")
        box.wait_for(OutsideCallEnded)
        box.wait_for(CallEnded, 2)
        box.stop()
    # A's second call is the callback: the agent's tone after any music (caller first).
    assert len(a.dumps()) == 2
    heard = labels(a.dumps()[-1], {"G": HZ[AGENT], "B": B_HZ})
    assert re.search(r"G{8,}[G?]*$", heard) and "B" not in heard, heard
    assert share_at(tail(agent), CALLER_HZ) > 0.5
    events = box.events()
    [requested] = [r for r in events if isinstance(r, CallbackRequested)]
    call = requested.call
    assert requested.number == A_NUMBER
    [dialled] = [r for r in events if isinstance(r, CallbackDialled)]
    [started] = [r for r in events if isinstance(r, OutsideCallStarted)]
    assert (dialled.call, dialled.outside_call) == (call, started.call)
    assert (started.purpose, started.number) == ("callback", A_NUMBER)
    assert [r.cause for r in events if isinstance(r, OutsideCallEnded)] == ["far_hangup"]
    # Only A's call was answered: B, who joined later, still waited when B hung up.
    assert [(r.call, r.agent) for r in events if isinstance(r, CallAnswered)] == [(call, AGENT)]
    ended = {r.call: r.cause for r in events if isinstance(r, CallEnded)}
    [b_call] = set(ended) - {call}
    assert ended == {call: EndCause.CALLER_HANGUP, b_call: EndCause.ABANDONED}
