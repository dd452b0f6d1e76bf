"""Random interleavings for the non-INVITE server transaction (RFC 3261 17.2.2), the kind
the machines in test_transaction.py leave out."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

from appliance.clock import Deadlines
from appliance.pbx.sip import Deliver, NonInviteServerTransaction, Send, State, Timeout
from appliance.pbx.sip.transaction import TIMER_J
from tests.appliance.pbx.sip.test_transaction import _Machine, request, response


class NonInviteServerMachine(_Machine):
    @initialize(method=st.sampled_from(["BYE", "OPTIONS", "REGISTER"]))
    def start(self, method: str) -> None:
        self.now = 0.0
        self.deadlines = Deadlines()
        self.req = request(method)
        self.expected_sends: list[bytes] = []
        self.final_at: float | None = None
        self._setup(NonInviteServerTransaction(self.req, self.deadlines, self.now))

    @precondition(lambda self: self.tx.state in (State.TRYING, State.PROCEEDING))
    @rule(status=st.sampled_from([100, 180, 200, 202, 404, 500]))
    def answer(self, status: int) -> None:
        answer = response(self.req, status)
        self.tx.send_response(answer, self.now)
        self.expected_sends.append(bytes(answer))
        if status >= 200:
            self.final_at = self.now
        self._collect()

    @rule()
    def retransmitted_request(self) -> None:
        last = self.tx.last_response
        alive = self.tx.state is not State.TERMINATED
        self.tx.receive_request(self.req, self.now)
        if last is not None and alive:
            self.expected_sends.append(bytes(last))  # absorbed in Trying, repeated after
        self._collect()

    @invariant()
    def sends_exactly_our_responses_and_their_repeats(self) -> None:
        sent = [bytes(e.message) for e in self.effects if isinstance(e, Send)]
        assert sent == self.expected_sends

    @invariant()
    def nothing_delivered_and_no_timeout(self) -> None:
        assert not any(isinstance(e, Deliver | Timeout) for e in self.effects)

    @invariant()
    def only_timer_j_runs(self) -> None:
        """No retransmission timer (the client retransmits), and Timer J once final."""
        when = self.deadlines.next_deadline()
        if self.tx.state is State.COMPLETED:
            assert self.final_at is not None and when == self.final_at + TIMER_J
            assert self.now < when
        else:
            assert when is None

    @invariant()
    def terminated_only_by_timer_j(self) -> None:
        if self.tx.state is State.TERMINATED:
            assert self.final_at is not None and self.now >= self.final_at + TIMER_J


NonInviteServerMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=30,
                                                    deadline=None)
TestNonInviteServerMachine = NonInviteServerMachine.TestCase
