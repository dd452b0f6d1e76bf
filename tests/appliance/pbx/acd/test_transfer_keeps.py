"""What a call transferred into a queue keeps (`Queue.transfer_keeps`): its place in line by
the wait before its answer, its priority too, or nothing."""

from __future__ import annotations

import pytest

from tests.appliance.pbx.test_callcontrol import Harness


def first_served(keeps: str, newcomer_at: float) -> int:
    """Call 1 waits 20 s in `vip` (priority 5) for a1, who transfers it at t=50 to
    `billing` (priority 0); call 2 reached billing at `newcomer_at`. The call a2, ready at
    t=60, is rung for."""
    h = Harness(agents=2, strategy="linear",
                extra_queues=[{"name": "billing", "transfer_keeps": keeps},
                              {"name": "vip", "priority": 5, "wrap_up": 30}],
                routes=[{"trunk_group": "pstn", "dnis": "300", "queue": "billing"},
                        {"trunk_group": "pstn", "queue": "vip"}])
    for agent in ("a1", "a2"):
        h.cc.agent_not_ready(0.0, agent, "break")
    first = h.cc.offer_call(0.0, "pstn")
    h.cc.offer_call(newcomer_at, "pstn", dnis="300")
    h.cc.agent_ready(20.0, "a1")  # priority 5 first: call 1
    assert h.cc.agent_answer(21.0, "a1", first)
    assert h.cc.agent_transfer(50.0, "a1", "billing")
    h.cc.agent_ready(60.0, "a2")
    h.actions()
    return h.cc.acd.agents["a2"].call


@pytest.mark.parametrize(("keeps", "newcomer_at", "first"), [
    ("wait", 40.0, 1),  # 20 s before + 10 s since: ahead of a 20 s wait
    ("nothing", 40.0, 2),  # 10 s in line: behind it
    ("wait", 10.0, 2),  # 30 s against 50 s
    ("wait_and_priority", 10.0, 1),  # its priority 5 against billing's 0
])
def test_a_transferred_call_lines_up_as_the_target_queue_says(
        keeps: str, newcomer_at: float, first: int) -> None:
    assert first_served(keeps, newcomer_at) == first
