"""Call control and the ACD, driven by inputs alone (no simulator, no clock)."""

from __future__ import annotations

from random import Random

import pytest

from appliance.eventlog import EventLog
from appliance.events import (
    AgentRung,
    AgentState,
    AgentStateChanged,
    CallAbandoned,
    CallAnnounced,
    CallAnswered,
    CallBlocked,
    CallEnded,
    CallOverflowed,
    CallQueued,
    CallTransferred,
    EndCause,
    OverflowCause,
    RingNoAnswer,
)
from appliance.pbx.actions import (
    Announce,
    Connect,
    HangUpAgent,
    HangUpCaller,
    RingAgent,
    StopRinging,
    WrapUp,
)
from appliance.pbx.callcontrol import CallControl
from tests.factories import build_site


class Harness:
    """Call control with a hand-moved clock."""

    def __init__(self, login: bool = True, **site_kwargs) -> None:
        self.site = build_site(**site_kwargs)
        self.log = EventLog()
        self.cc = CallControl(self.site, self.log, Random(7))
        self.now = 0.0
        if login:
            for agent in self.site.expanded_agents():
                self.cc.agent_login(self.now, agent.id)
        self.actions()

    def at(self, t: float) -> Harness:
        """Move time to ``t``, running the core's deadlines on the way."""
        while (deadline := self.cc.next_deadline()) is not None and deadline <= t:
            self.now = deadline
            self.cc.on_deadline(deadline)
        self.now = t
        return self

    def actions(self) -> list:
        for queue in self.cc.acd.queues.values():
            queue.check()  # the ready lists agree with the agents' states
        return self.cc.take_actions()

    def records(self, kind: type) -> list:
        return [r for r in self.log.records if isinstance(r, kind)]

    def state(self, agent: str) -> AgentState:
        return self.cc.acd.agents[agent].state


def test_answered_call_goes_through_ring_talk_wrap_up_and_back_to_ready() -> None:
    h = Harness(agents=1, wrap_up=10)
    call = h.cc.offer_call(0.0, "pstn", "5551234")
    assert h.actions() == [RingAgent(call, "a1", "service")]
    assert h.state("a1") is AgentState.RINGING

    h.at(3.0)
    assert h.cc.agent_answer(3.0, "a1", call)
    assert h.actions() == [Connect(call, "a1")]
    assert h.records(CallAnswered) == [CallAnswered(3.0, call, "service", "a1", 3.0)]

    h.at(100.0)
    assert h.cc.agent_hangup(100.0, "a1")
    assert h.actions() == [HangUpCaller(call, EndCause.AGENT_HANGUP), WrapUp("a1", call, 110.0)]
    assert h.state("a1") is AgentState.WRAP_UP
    assert h.records(CallEnded) == [CallEnded(100.0, call, EndCause.AGENT_HANGUP)]
    assert h.cc.trunks.busy["pstn"] == 0

    h.at(110.0)
    assert h.state("a1") is AgentState.READY
    states = [(r.t, r.state) for r in h.records(AgentStateChanged)]
    assert states == [
        (0.0, "ready"),
        (0.0, "ringing"),
        (3.0, "talking"),
        (100.0, "wrap_up"),
        (110.0, "ready"),
    ]


def test_a_call_finding_every_trunk_busy_is_blocked() -> None:
    h = Harness(agents=1, trunks=1)
    first = h.cc.offer_call(0.0, "pstn")
    second = h.cc.offer_call(1.0, "pstn")
    assert h.records(CallBlocked) == [CallBlocked(1.0, second, "pstn")]
    assert HangUpCaller(second, EndCause.BLOCKED) in h.actions()
    h.cc.caller_hangup(2.0, first)
    third = h.cc.offer_call(3.0, "pstn")
    assert not any(r.call == third for r in h.records(CallBlocked))


def test_longest_idle_agent_gets_the_call() -> None:
    h = Harness(agents=3, strategy="longest_idle")
    # a2 and a3 take and finish calls; a1 has been idle longest.
    for _agent in ("a1", "a2"):
        call = h.cc.offer_call(h.now, "pstn")
        ring = h.actions()[0]
        h.cc.agent_answer(h.now, ring.agent, call)
        h.at(h.now + 5)
        h.cc.agent_hangup(h.now, ring.agent)
        h.actions()
    # a1 rang first (tie broken by member order), then a2; a3 is now idle longest.
    call = h.cc.offer_call(h.now, "pstn")
    assert h.actions() == [RingAgent(call, "a3", "service")]


def test_ring_no_answer_returns_the_call_to_the_head_and_pauses_the_agent() -> None:
    h = Harness(agents=2, strategy="linear", ring_timeout=15)
    first = h.cc.offer_call(0.0, "pstn")
    assert h.actions() == [RingAgent(first, "a1", "service")]
    second = h.cc.offer_call(1.0, "pstn")
    assert h.actions() == [RingAgent(second, "a2", "service")]
    h.cc.agent_answer(2.0, "a2", second)
    h.actions()
    h.at(15.0)
    assert h.records(RingNoAnswer) == [RingNoAnswer(15.0, first, "service", "a1")]
    assert h.state("a1") is AgentState.NOT_READY
    assert h.cc.acd.agents["a1"].reason == "no_answer"
    assert h.actions() == [StopRinging(first, "a1")]
    # A third call arrives while the first waits again: a2 freeing up takes the first.
    third = h.cc.offer_call(20.0, "pstn")
    h.cc.agent_hangup(30.0, "a2")
    assert RingAgent(first, "a2", "service") in h.actions()
    assert third in h.cc.calls


def test_ring_all_rings_everyone_and_the_first_answer_wins() -> None:
    h = Harness(agents=3, strategy="ring_all")
    call = h.cc.offer_call(0.0, "pstn")
    assert h.actions() == [RingAgent(call, a, "service") for a in ("a1", "a2", "a3")]
    assert h.cc.agent_answer(2.0, "a2", call)
    assert h.actions() == [Connect(call, "a2"), StopRinging(call, "a1"), StopRinging(call, "a3")]
    assert not h.cc.agent_answer(2.5, "a1", call)  # too late
    assert h.state("a1") is AgentState.READY and h.state("a3") is AgentState.READY


def test_ring_all_agent_freeing_up_joins_the_ringing() -> None:
    h = Harness(agents=2, strategy="ring_all")
    busy_call = h.cc.offer_call(0.0, "pstn")
    h.cc.agent_answer(0.0, "a1", busy_call)
    h.actions()
    h.cc.agent_not_ready(1.0, "a2", "break")
    waiting = h.cc.offer_call(2.0, "pstn")
    assert h.actions() == []
    h.cc.agent_ready(3.0, "a2")
    assert h.actions() == [RingAgent(waiting, "a2", "service")]
    h.cc.agent_hangup(4.0, "a1")
    assert RingAgent(waiting, "a1", "service") in h.actions()


def test_higher_priority_first_then_first_come_first_served() -> None:
    h = Harness(agents=1, routes=[{"trunk_group": "pstn", "ani_prefix": "9", "queue": "service",
                                   "priority": 5}])
    h.cc.agent_not_ready(0.0, "a1", "meeting")
    low1 = h.cc.offer_call(1.0, "pstn", "1001")
    low2 = h.cc.offer_call(2.0, "pstn", "1002")
    vip1 = h.cc.offer_call(3.0, "pstn", "9001")
    vip2 = h.cc.offer_call(4.0, "pstn", "9002")
    assert [r.position for r in h.records(CallQueued)] == [1, 2, 1, 2]
    h.actions()
    served = []
    h.cc.agent_ready(5.0, "a1")
    for t in (6.0, 7.0, 8.0, 9.0):
        ring = next(a for a in h.actions() if isinstance(a, RingAgent))
        served.append(ring.call)
        h.cc.agent_answer(t, "a1", ring.call)
        h.cc.agent_hangup(t + 0.5, "a1")
    assert served == [vip1, vip2, low1, low2]


def test_abandon_while_queued_is_logged_with_position_and_wait() -> None:
    h = Harness(agents=1)
    h.cc.agent_not_ready(0.0, "a1", "break")
    first = h.cc.offer_call(0.0, "pstn")
    second = h.cc.offer_call(5.0, "pstn")
    assert [r.position for r in h.records(CallQueued)] == [1, 2]
    assert h.cc.caller_hangup(45.0, second)
    assert h.records(CallAbandoned) == [CallAbandoned(45.0, second, "service", 2, 40.0)]
    assert h.records(CallEnded)[-1] == CallEnded(45.0, second, EndCause.ABANDONED)
    assert first in h.cc.calls and second not in h.cc.calls
    assert not h.cc.caller_hangup(46.0, second)


def test_abandon_while_ringing_frees_the_agent() -> None:
    h = Harness(agents=1)
    call = h.cc.offer_call(0.0, "pstn")
    h.actions()
    h.cc.caller_hangup(4.0, call)
    assert h.actions() == [StopRinging(call, "a1")]
    assert h.state("a1") is AgentState.READY


def test_max_wait_sends_the_caller_to_voicemail() -> None:
    h = Harness(agents=1, queue={"max_wait": 60, "on_max_wait": {"action": "voicemail"}})
    h.cc.agent_not_ready(0.0, "a1", "break")
    call = h.cc.offer_call(0.0, "pstn")
    h.at(60.0)
    assert h.records(CallOverflowed) == [
        CallOverflowed(60.0, call, "service", OverflowCause.MAX_WAIT, "voicemail")
    ]
    assert h.actions() == [HangUpCaller(call, EndCause.VOICEMAIL)]
    assert h.records(CallEnded)[-1] == CallEnded(60.0, call, EndCause.VOICEMAIL)


def test_max_wait_overflow_to_another_queue_keeps_the_callers_wait() -> None:
    h = Harness(
        agents=2,
        queue={"max_wait": 30, "on_max_wait": {"action": "queue", "target": "backup"}},
        extra_queues=[{"name": "backup"}],
        agent_skills=None,
    )
    # a1 serves only "service" busy; a2 serves both but is paused until t=40.
    h.cc.agent_not_ready(0.0, "a1", "break")
    h.cc.agent_not_ready(0.0, "a2", "break")
    call = h.cc.offer_call(0.0, "pstn")
    h.at(30.0)
    assert h.records(CallQueued)[-1] == CallQueued(30.0, call, "backup", 0, 1)
    h.cc.agent_ready(40.0, "a2")
    ring = h.actions()[-1]
    assert ring == RingAgent(call, "a2", "backup")
    h.cc.agent_answer(41.0, "a2", call)
    assert h.records(CallAnswered)[-1].wait == 41.0


def test_full_queue_gives_busy() -> None:
    h = Harness(agents=1, queue={"capacity": 1, "on_full": {"action": "busy"}})
    h.cc.agent_not_ready(0.0, "a1", "break")
    h.cc.offer_call(0.0, "pstn")
    second = h.cc.offer_call(1.0, "pstn")
    assert h.records(CallOverflowed) == [
        CallOverflowed(1.0, second, "service", OverflowCause.QUEUE_FULL, "busy")
    ]
    assert HangUpCaller(second, EndCause.BUSY) in h.actions()


def test_pause_asked_during_a_call_applies_after_wrap_up_with_its_reason() -> None:
    h = Harness(agents=1, wrap_up=5)
    call = h.cc.offer_call(0.0, "pstn")
    h.cc.agent_answer(1.0, "a1", call)
    assert h.cc.agent_not_ready(2.0, "a1", "lunch")
    assert h.state("a1") is AgentState.TALKING
    h.cc.caller_hangup(10.0, call)
    assert HangUpAgent(call, "a1") in h.actions()
    h.at(15.0)
    assert h.state("a1") is AgentState.NOT_READY
    assert h.cc.acd.agents["a1"].reason == "lunch"


def test_logout_while_ringing_passes_the_call_on() -> None:
    h = Harness(agents=2, strategy="linear")
    call = h.cc.offer_call(0.0, "pstn")
    h.actions()
    h.cc.agent_logout(1.0, "a1")
    assert h.state("a1") is AgentState.LOGGED_OUT
    assert h.actions() == [StopRinging(call, "a1"), RingAgent(call, "a2", "service")]


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("linear", ["a1", "a1", "a1", "a1"]),
        ("cyclic", ["a1", "a2", "a3", "a1"]),
        ("rr_memory", ["a1", "a2", "a3", "a1"]),
    ],
)
def test_hunting_orders(strategy: str, expected: list[str]) -> None:
    h = Harness(agents=3, strategy=strategy)
    rung = []
    for i in range(4):
        call = h.cc.offer_call(float(i), "pstn")
        ring = h.actions()[0]
        rung.append(ring.agent)
        h.cc.agent_answer(float(i), ring.agent, call)
        h.cc.agent_hangup(float(i) + 0.5, ring.agent)
        h.actions()
    assert rung == expected


def test_rr_memory_remembers_who_answered_not_who_was_rung() -> None:
    h = Harness(agents=3, strategy="rr_memory", ring_timeout=10)
    first = h.cc.offer_call(0.0, "pstn")
    assert h.actions()[0].agent == "a1"
    h.at(10.0)  # a1 misses it; a2 is rung and answers
    assert h.actions()[-1] == RingAgent(first, "a2", "service")
    h.cc.agent_answer(11.0, "a2", first)
    h.cc.agent_ready(12.0, "a1")
    second = h.cc.offer_call(13.0, "pstn")
    assert h.actions()[-1] == RingAgent(second, "a3", "service")


def test_skills_strategy_prefers_the_highest_level() -> None:
    h = Harness(agents=3, strategy="skills")
    levels = {"a1": 2, "a2": 9, "a3": 5}
    for membership in h.cc.acd.queues["service"].members:
        membership.level = levels[membership.agent.id]
    call = h.cc.offer_call(0.0, "pstn")
    assert h.actions() == [RingAgent(call, "a2", "service")]


def test_announcements_depend_on_position_and_staffing() -> None:
    h = Harness(
        agents=2,
        queue={
            "announcements": {"first_after": 10, "every": 30, "duration": 5},
            "expected_aht": 120,
        },
    )
    for agent in ("a1", "a2"):
        call = h.cc.offer_call(0.0, "pstn")
        h.cc.agent_answer(0.0, agent, call)
    h.actions()
    third = h.cc.offer_call(1.0, "pstn")
    fourth = h.cc.offer_call(2.0, "pstn")
    h.at(12.0)
    announced = {r.call: r for r in h.records(CallAnnounced)}
    # position k, 2 agents staffed, 120 s per call: k * 120 / 2.
    assert announced[third].expected_wait == pytest.approx(60.0)
    assert announced[fourth].expected_wait == pytest.approx(120.0)
    assert Announce(fourth, "service", 2, pytest.approx(120.0), 5) in h.actions()
    # a1 pauses after a 13 s call: one agent left, and the handle-time estimate
    # has moved a tenth of the way to 13 s. Position 1 now expects 1 * 109.3 / 1.
    h.cc.agent_not_ready(13.0, "a1", "break")
    h.cc.agent_hangup(13.0, "a1")
    h.at(50.0)
    latest = [r for r in h.records(CallAnnounced) if r.call == third][-1]
    assert latest.t == 46.0  # 10 s, then every 30 s after a 5 s announcement ends
    assert latest.position == 1
    assert latest.expected_wait == pytest.approx(120.0 + 0.1 * (13.0 - 120.0))


def test_announcements_last_as_long_as_the_seam_says() -> None:
    # A prompt set's lengths: a longer announcement for a later place in line.
    asked: list[tuple[int, float | None]] = []

    def seconds(position: int, expected_wait: float | None) -> float:
        asked.append((position, expected_wait))
        return 3.25 + position

    site = build_site(agents=1, queue={
        "announcements": {"first_after": 10, "every": 30, "duration": 5},
        "expected_aht": 120,
    })
    log = EventLog()
    cc = CallControl(site, log, Random(7), announcement_seconds=seconds)
    assert cc.announcement_seconds is seconds
    cc.agent_login(0.0, "a1")
    cc.agent_answer(0.0, "a1", cc.offer_call(0.0, "pstn"))
    cc.take_actions()
    waiting = cc.offer_call(1.0, "pstn")
    while (deadline := cc.next_deadline()) is not None and deadline <= 60.0:
        cc.on_deadline(deadline)
    announced = [r.t for r in log.records if isinstance(r, CallAnnounced)]
    # 11 s after queueing, then every 30 s after a 4.25 s announcement ends.
    assert announced == [11.0, 45.25]
    assert asked == [(1, 120.0), (1, 120.0)]
    assert Announce(waiting, "service", 1, 120.0, 4.25) in cc.take_actions()


def test_without_the_seam_announcements_last_the_configured_duration() -> None:
    h = Harness(agents=1, queue={"announcements": {"first_after": 10, "every": 30,
                                                   "duration": 5}})
    assert h.cc.announcement_seconds is None
    h.cc.agent_answer(0.0, "a1", h.cc.offer_call(0.0, "pstn"))
    h.actions()
    h.cc.offer_call(1.0, "pstn")
    h.cc.announcement_seconds = lambda position, wait: 2.0  # set on a core already built
    h.cc.announcement_seconds = None
    h.at(60.0)
    assert [r.t for r in h.records(CallAnnounced)] == [11.0, 46.0]
    assert all(a.duration == 5 for a in h.actions() if isinstance(a, Announce))


def test_transfer_puts_the_call_in_the_target_queue_and_the_agent_in_wrap_up() -> None:
    h = Harness(agents=2, strategy="linear", wrap_up=5, extra_queues=[{"name": "billing"}])
    h.cc.agent_not_ready(0.0, "a2", "break")
    call = h.cc.offer_call(0.0, "pstn")
    h.cc.agent_answer(1.0, "a1", call)
    h.actions()
    assert h.cc.agent_transfer(50.0, "a1", "billing")
    assert h.records(CallTransferred) == [CallTransferred(50.0, call, "a1", "billing")]
    assert h.records(CallQueued)[-1] == CallQueued(50.0, call, "billing", 0, 1)
    assert h.state("a1") is AgentState.WRAP_UP
    assert h.actions() == [HangUpAgent(call, "a1"), WrapUp("a1", call, 55.0)]
    h.cc.agent_ready(60.0, "a2")
    assert h.actions() == [RingAgent(call, "a2", "billing")]
    h.cc.agent_answer(62.0, "a2", call)
    assert h.records(CallAnswered)[-1] == CallAnswered(62.0, call, "billing", "a2", 12.0)


def test_agent_rung_records_precede_the_agent_state() -> None:
    h = Harness(agents=1)
    call = h.cc.offer_call(0.0, "pstn")
    kinds = [type(r).__name__ for r in h.log.records[-3:]]
    assert kinds == ["CallQueued", "AgentRung", "AgentStateChanged"]
    assert h.records(AgentRung) == [AgentRung(0.0, call, "service", "a1")]


def test_a_call_queued_after_the_waiting_line_is_compacted_is_still_served() -> None:
    # Calls that leave the line leave stale entries behind; once they pile up the
    # line is rebuilt, and the call queued at that moment must be in the new one.
    h = Harness(agents=1)
    h.cc.agent_not_ready(0.0, "a1", "break")
    for i in range(19):  # callers who give up, leaving 19 stale entries: the next push compacts
        call = h.cc.offer_call(float(i), "pstn")
        h.cc.caller_hangup(float(i) + 0.5, call)
    survivor = h.cc.offer_call(50.0, "pstn")
    assert h.records(CallQueued)[-1].position == 1
    second = h.cc.offer_call(51.0, "pstn")
    assert h.records(CallQueued)[-1].position == 2
    h.actions()
    h.cc.agent_ready(60.0, "a1")
    assert h.actions() == [RingAgent(survivor, "a1", "service")]
    assert second in h.cc.calls


def test_a_withdrawn_ring_keeps_the_agents_place_in_the_longest_idle_order() -> None:
    h = Harness(agents=2, strategy="longest_idle")
    # a1 has been idle since 0; a2 takes a call and is ready again at 10.
    call = h.cc.offer_call(1.0, "pstn")
    assert h.actions() == [RingAgent(call, "a1", "service")]
    h.cc.caller_hangup(2.0, call)  # a1's ring is withdrawn: not a call taken
    other = h.cc.offer_call(3.0, "pstn")
    assert h.actions()[-1] == RingAgent(other, "a1", "service")
    h.cc.agent_answer(4.0, "a1", other)
    h.cc.agent_hangup(10.0, "a1")
    h.actions()
    third = h.cc.offer_call(11.0, "pstn")
    # a2 (idle since 0) has now waited longest; a1 was ready again at 10.
    assert h.actions() == [RingAgent(third, "a2", "service")]


def test_the_answer_is_on_record_before_the_other_agents_are_rung_again() -> None:
    h = Harness(agents=2, strategy="ring_all")
    first = h.cc.offer_call(0.0, "pstn")
    h.cc.agent_not_ready(0.5, "a1", "meeting")  # applied after a1's ring
    h.actions()
    h.cc.agent_ready(0.6, "a1")
    second = h.cc.offer_call(1.0, "pstn")  # waits behind the first
    h.actions()
    h.cc.agent_answer(2.0, "a2", first)
    kinds = [(type(r).__name__, r.call) for r in h.log.records if r.t == 2.0]
    answered = kinds.index(("CallAnswered", first))
    rung_again = [i for i, k in enumerate(kinds) if k == ("AgentRung", second)]
    assert rung_again and min(rung_again) > answered


def test_taken_actions_are_handed_out_once() -> None:
    h = Harness(agents=1)
    call = h.cc.offer_call(0.0, "pstn", "5551234")
    assert h.cc.pending
    assert h.cc.take_actions() == [RingAgent(call, "a1", "service")]
    assert not h.cc.pending
    assert h.cc.take_actions() == []


def test_agent_status_reports_state_reason_and_call_as_a_snapshot() -> None:
    h = Harness(agents=1, ring_timeout=15)
    call = h.cc.offer_call(0.0, "pstn", "5551234")
    ringing = h.cc.agent_status("a1")
    assert ringing == (AgentState.RINGING, "", call)
    h.at(15.0)  # not answered: the queue pauses the agent
    assert h.cc.agent_status("a1") == (AgentState.NOT_READY, "no_answer", 0)
    assert ringing.state is AgentState.RINGING  # what was read before stays as it was
    assert h.cc.agent_status("nobody") is None
