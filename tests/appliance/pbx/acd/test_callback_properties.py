"""Callbacks under random inputs: the line stays first in, first out, and every callback
ends connected, given up, or still waiting."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from appliance.events import (
    AgentRung,
    CallAnswered,
    CallbackGivenUp,
    CallbackPlaced,
    CallbackRequested,
    CallQueued,
)
from appliance.pbx.acd.agent import READY, RINGING, TALKING
from appliance.pbx.callcontrol import CallControl
from tests.appliance.pbx.test_callcontrol import Harness


class CallbackLine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.h: Harness | None = None

    @rule(mode=st.sampled_from(["agent_first", "caller_first"]),
          strategy=st.sampled_from(["longest_idle", "ring_all"]))
    @precondition(lambda self: self.h is None)
    def build(self, mode: str, strategy: str) -> None:
        self.h = Harness(agents=2, login=False, strategy=strategy, ring_timeout=10, queue={
            "autopause": "no", "callback": {"mode": mode, "attempts": 2, "retry_after": 30,
                                            "ring_timeout": 20}})
        for agent in ("a1", "a2"):
            self.h.cc.agent_login(0.0, agent, ready=False, reason="break")

    @property
    def cc(self) -> CallControl:
        assert self.h is not None
        return self.h.cc

    def now(self) -> float:
        assert self.h is not None
        return self.h.now

    @rule(dt=st.floats(0.5, 40))
    @precondition(lambda self: self.h is not None)
    def time_passes(self, dt: float) -> None:
        self.h.at(self.now() + dt)  # type: ignore[union-attr]

    @rule()
    @precondition(lambda self: self.h is not None)
    def a_caller_calls(self) -> None:
        self.cc.offer_call(self.now(), "pstn", "5551000")

    @rule(index=st.integers(0, 50))
    @precondition(lambda self: self.h is not None)
    def a_waiting_caller_asks_for_a_callback(self, index: int) -> None:
        waiting = [c for c in self.cc.calls.values() if c.callback is None and c.ivr is None]
        if waiting:
            call = waiting[index % len(waiting)].id
            self.cc.caller_digit(self.now(), call, "1")
            self.cc.caller_digit(self.now(), call, "1")

    @rule(index=st.integers(0, 50))
    @precondition(lambda self: self.h is not None)
    def a_waiting_caller_hangs_up(self, index: int) -> None:
        waiting = [c for c in self.cc.calls.values() if c.callback is None]
        if waiting:
            self.cc.caller_hangup(self.now(), waiting[index % len(waiting)].id)

    @rule(agent=st.sampled_from(["a1", "a2"]))
    @precondition(lambda self: self.h is not None)
    def an_agent_acts(self, agent: str) -> None:
        state = self.cc.acd.agents[agent]
        now = self.now()
        if state.state is RINGING:
            self.cc.agent_answer(now, agent, state.call)
        elif state.state is TALKING:
            self.cc.agent_hangup(now, agent)
        elif state.state is not READY:
            self.cc.agent_ready(now, agent)

    @rule(answer=st.booleans())
    @precondition(lambda self: self.h is not None)
    def a_customer_answers_or_not(self, answer: bool) -> None:
        dialing = [c for c in self.cc.calls.values() if c.callback and c.callback.dialing]
        if dialing:
            if answer:
                self.cc.callback_answered(self.now(), dialing[0].id)
            else:
                self.cc.callback_failed(self.now(), dialing[0].id, busy=True)

    @invariant()
    def calls_leave_the_line_in_the_order_they_joined_it(self) -> None:
        if self.h is None:
            return
        self.h.actions()
        joined: dict[int, float] = {}
        taken: list[int] = []
        for r in self.h.log.records:
            if isinstance(r, CallQueued):
                joined[r.call] = r.t
            elif ((isinstance(r, AgentRung) or (isinstance(r, CallbackPlaced) and not r.agent))
                  and r.call not in taken):
                taken.append(r.call)
        assert [joined[c] for c in taken] == sorted(joined[c] for c in taken)

    def teardown(self) -> None:
        if self.h is None:
            return
        records = self.h.log.records
        requested = {r.call for r in records if isinstance(r, CallbackRequested)}
        connected = {r.call for r in records if isinstance(r, CallAnswered)}
        given_up = {r.call for r in records if isinstance(r, CallbackGivenUp)}
        for call in requested:
            ends = (call in connected) + (call in given_up)
            assert ends == 1 or (ends == 0 and call in self.cc.calls), call


TestCallbackLine = CallbackLine.TestCase
TestCallbackLine.settings = settings(max_examples=100, stateful_step_count=40, deadline=None)
