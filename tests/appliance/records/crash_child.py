"""Child process of the kill test: makes calls as fast as it can until it is killed.

Usage: python -m tests.appliance.records.crash_child DATABASE RUN PAUSE

Prints "ended <call id>" (flushed) right after each call has ended, that is
after its ``CallEnded`` went to the store, then sleeps PAUSE seconds. The pause
keeps the load below what the writer thread stores a second: a producer that
never pauses outruns any writer in the same interpreter, and the test would
measure that backlog instead of what a kill leaves behind.
"""

from __future__ import annotations

import sys
import time
from random import Random

from appliance.eventlog import EventLog
from appliance.pbx.actions import RingAgent
from appliance.pbx.callcontrol import CallControl
from appliance.records import RecordStore
from tests.factories import build_site


def main(database: str, run: str, pause: float) -> None:
    site = build_site(agents=2, trunks=10)
    log = EventLog()
    store = RecordStore(database, run=run)
    store.subscribe_to(log)
    control = CallControl(site, log, Random(1))
    now = 0.0
    for agent in site.expanded_agents():
        control.agent_login(now, agent.id)
    while True:
        now += 1.0
        call = answer_and_hang_up(control, now)
        print(f"ended {call}", flush=True)
        time.sleep(pause)


def answer_and_hang_up(control: CallControl, now: float) -> int:
    call = control.offer_call(now, "pstn", "5551234", "800")
    (ring,) = [a for a in control.take_actions() if isinstance(a, RingAgent)]
    control.agent_answer(now + 0.25, ring.agent, call)
    control.agent_hangup(now + 0.5, ring.agent)
    control.take_actions()
    return call


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]))
