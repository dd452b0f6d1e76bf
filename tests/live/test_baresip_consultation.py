"""Attended transfer with real phones, the box consulting: baresip 1.0 has no command to
send a REFER with Replaces, but its menu's `sndcode` sends keys in the call as RFC 4733
events (its SDP offers telephone-event), and the box consults on the agent's keys (README,
"In-call feature codes"). Three baresips - a caller on the trunk, agents 1001 (A) and
1002 (B), each sending its own tone (tests/live/test_baresip_features.py's `Lab`): A keys
`*2` 1002 `#`, talks with B while the caller hears music, then completes by `*2` or by
hanging up; the caller and B hear each other until the caller hangs up.
"""

from __future__ import annotations

import re
import time

import pytest

from appliance.events import CallAnswered, CallEnded, CallHeld, CallTransferred, EndCause
from tests.live.test_baresip_features import (
    CALLER_HZ,
    HZ,
    command,
    established,
    lab,
    labels,
    share_at,
    tail,
)
from tests.live.test_baresip_transfer import pytestmark  # noqa: F401 - slow, needs baresip

A, B = "1001", "1002"
TALK = 3.0  # seconds of each phase the dumps are read for; not synchronisation


@pytest.mark.parametrize("complete", ["*2", "hangup"])
def test_a_baresip_agent_consults_a_colleague_by_keys_then_hands_the_caller_over(
        tmp_path, complete):
    with lab(tmp_path, agents=(A, B)) as box:
        agent = box.user(A)
        caller = box.caller()
        command(caller, "dial", box.uri("100"))
        established(agent)
        colleague = box.user(B)  # an agent, ready only now: A took the call
        time.sleep(TALK)
        command(agent, "sndcode", f"*2{B}#")
        established(colleague)
        time.sleep(TALK)
        command(agent, *(("hangup",) if complete == "hangup" else ("sndcode", complete)))
        box.wait_for(CallTransferred)
        time.sleep(TALK)
        command(caller, "hangup")
        box.wait_for(CallEnded)
        box.stop()
    heard = labels(caller.dumps()[-1], {"A": HZ[A], "B": HZ[B]})
    assert re.search(r"A{8,}[A?]*M{8,}[M?]*B{8,}[B?]*$", heard), heard
    # B talked with A first, then with the caller.
    heard = labels(colleague.dumps()[-1], {"A": HZ[A], "C": CALLER_HZ})
    assert re.search(r"A{8,}[A?]*C{8,}[C?]*$", heard), heard
    assert share_at(tail(colleague), CALLER_HZ) > 0.5
    events = box.events()
    [transferred] = [r for r in events if isinstance(r, CallTransferred)]
    assert (transferred.agent, transferred.target) == (A, f"agent:{B}")
    call = transferred.call
    assert [r.agent for r in events if isinstance(r, CallAnswered)] == [A, B]
    assert [r.call for r in events if isinstance(r, CallHeld)] == [call]
    assert [(r.call, r.cause) for r in events if isinstance(r, CallEnded)] == [
        (call, EndCause.CALLER_HANGUP)]
