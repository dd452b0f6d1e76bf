"""RFC 3261 17 transactions driven by a manual clock: exact timer times, effects, states."""

from __future__ import annotations

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from appliance.clock import Deadlines
from appliance.pbx.sip import (
    Deliver,
    Headers,
    InviteClientTransaction,
    InviteServerTransaction,
    NonInviteClientTransaction,
    NonInviteServerTransaction,
    Request,
    Response,
    Send,
    State,
    Terminated,
    Timeout,
    TransactionStateError,
    make_response,
    parse,
    parse_cseq,
    transaction_key,
)

VIA = "SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds"


def request(method: str = "INVITE", via: str = VIA, cseq: int = 1) -> Request:
    return Request(method, "sip:bob@example.com", Headers([
        ("Via", via),
        ("Max-Forwards", "70"),
        ("To", "Bob <sip:bob@example.com>"),
        ("From", "Alice <sip:alice@example.com>;tag=1928301774"),
        ("Call-ID", "a84b4c76e66710@pc33.example.com"),
        ("CSeq", f"{cseq} {method}"),
        ("Route", "<sip:proxy.example.com;lr>"),
    ]))


def response(req: Request, status: int, reason: str = "X", tag: str = "a6c85cf") -> Response:
    answer = make_response(req, status, reason)
    if status > 100:
        to = req.headers.get("To") or ""
        answer = Response(status, reason, answer.headers.replace("To", f"{to};tag={tag}"))
    return answer


def run_until(deadlines: Deadlines, end: float) -> float:
    """Fire every deadline up to `end`, each at its own time; return the last time fired."""
    now = 0.0
    while (when := deadlines.next_deadline()) is not None and when <= end:
        now = when
        deadlines.run_due(now)
    return now


def sends_at(transaction, deadlines: Deadlines, end: float) -> list[tuple[float, object]]:
    """(time, effect) for every effect emitted by timers up to `end`."""
    out: list[tuple[float, object]] = []
    while (when := deadlines.next_deadline()) is not None and when <= end:
        deadlines.run_due(when)
        out += [(when, effect) for effect in transaction.drain()]
    return out


# --- INVITE client (RFC 3261 17.1.1) ---------------------------------------------------


def test_invite_client_retransmits_on_timer_a_and_times_out_on_timer_b() -> None:
    deadlines = Deadlines()
    invite = request()
    tx = InviteClientTransaction(invite, deadlines, 0.0)
    assert tx.drain() == [Send(invite)]
    assert tx.state is State.CALLING
    effects = sends_at(tx, deadlines, 100.0)
    times = [when for when, effect in effects if effect == Send(invite)]
    assert times == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert [e for _, e in effects if not isinstance(e, Send)] == [Timeout(), Terminated()]
    assert [when for when, e in effects if isinstance(e, Timeout)] == [32.0]
    assert tx.state is State.TERMINATED
    assert deadlines.next_deadline() is None


def test_invite_client_provisional_stops_retransmission() -> None:
    deadlines = Deadlines()
    invite = request()
    tx = InviteClientTransaction(invite, deadlines, 0.0)
    tx.drain()
    run_until(deadlines, 0.5)
    tx.drain()
    ringing = response(invite, 180, "Ringing")
    tx.receive_response(ringing, 1.0)
    assert tx.drain() == [Deliver(ringing)]
    assert tx.state is State.PROCEEDING
    assert deadlines.next_deadline() is None  # no A, no B in Proceeding


def test_invite_client_acks_486_and_absorbs_its_retransmission() -> None:
    deadlines = Deadlines()
    invite = request()
    tx = InviteClientTransaction(invite, deadlines, 0.0)
    tx.drain()
    busy = response(invite, 486, "Busy Here")
    tx.receive_response(busy, 2.0)
    deliver, send = tx.drain()
    assert deliver == Deliver(busy)
    ack = send.message
    assert isinstance(ack, Request)
    assert ack.method == "ACK"
    assert ack.uri == invite.uri
    assert ack.headers.get_all("Via") == [VIA]
    assert ack.headers.get("Call-ID") == invite.headers.get("Call-ID")
    assert ack.headers.get("From") == invite.headers.get("From")
    assert ack.headers.get("To") == busy.headers.get("To")
    assert ack.headers.get("To").endswith(";tag=a6c85cf")
    assert ack.headers.get("CSeq") == "1 ACK"
    assert ack.headers.get_all("Route") == ["<sip:proxy.example.com;lr>"]
    assert parse(bytes(ack)) == ack
    assert tx.state is State.COMPLETED
    tx.receive_response(busy, 3.0)
    assert tx.drain() == [Send(ack)]  # the ACK again, not a second delivery
    assert deadlines.next_deadline() == 2.0 + 32.0  # Timer D
    run_until(deadlines, 34.0)
    assert tx.drain() == [Terminated()]
    assert tx.state is State.TERMINATED


def test_invite_client_2xx_terminates_and_is_delivered() -> None:
    deadlines = Deadlines()
    invite = request()
    tx = InviteClientTransaction(invite, deadlines, 0.0)
    tx.drain()
    ok = response(invite, 200, "OK")
    tx.receive_response(ok, 0.2)
    assert tx.drain() == [Deliver(ok), Terminated()]
    assert deadlines.next_deadline() is None
    tx.receive_response(ok, 0.3)
    assert tx.drain() == []


def test_reliable_invite_client_does_not_retransmit_and_timer_d_is_zero() -> None:
    deadlines = Deadlines()
    invite = request()
    tx = InviteClientTransaction(invite, deadlines, 0.0, reliable=True)
    tx.drain()
    assert deadlines.next_deadline() == 32.0
    tx.receive_response(response(invite, 503), 1.0)
    tx.drain()
    assert deadlines.next_deadline() == 1.0


# --- non-INVITE client (RFC 3261 17.1.2) -----------------------------------------------


def test_non_invite_client_timer_e_caps_at_t2_and_timer_f_times_out() -> None:
    deadlines = Deadlines()
    options = request("OPTIONS")
    tx = NonInviteClientTransaction(options, deadlines, 0.0)
    assert tx.drain() == [Send(options)]
    assert tx.state is State.TRYING
    effects = sends_at(tx, deadlines, 100.0)
    times = [when for when, effect in effects if isinstance(effect, Send)]
    assert times == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert [(w, e) for w, e in effects if not isinstance(e, Send)] == [
        (32.0, Timeout()), (32.0, Terminated())]


def test_non_invite_client_retransmits_every_t2_in_proceeding() -> None:
    deadlines = Deadlines()
    bye = request("BYE")
    tx = NonInviteClientTransaction(bye, deadlines, 0.0)
    tx.drain()
    run_until(deadlines, 0.5)
    tx.drain()
    trying = response(bye, 100, "Trying")
    tx.receive_response(trying, 0.6)
    assert tx.drain() == [Deliver(trying)]
    assert tx.state is State.PROCEEDING
    effects = sends_at(tx, deadlines, 20.0)
    assert [when for when, _ in effects] == [1.5, 5.5, 9.5, 13.5, 17.5]


def test_non_invite_client_final_then_timer_k() -> None:
    deadlines = Deadlines()
    bye = request("BYE")
    tx = NonInviteClientTransaction(bye, deadlines, 0.0)
    tx.drain()
    ok = response(bye, 200, "OK")
    tx.receive_response(ok, 1.0)
    assert tx.drain() == [Deliver(ok)]
    assert tx.state is State.COMPLETED
    tx.receive_response(ok, 2.0)
    assert tx.drain() == []  # absorbed
    assert deadlines.next_deadline() == 6.0  # Timer K = T4
    run_until(deadlines, 6.0)
    assert tx.drain() == [Terminated()]


# --- INVITE server (RFC 3261 17.2.1) ---------------------------------------------------


def test_invite_server_sends_100_and_repeats_provisional_on_retransmission() -> None:
    deadlines = Deadlines()
    invite = request()
    tx = InviteServerTransaction(invite, deadlines, 0.0)
    [send] = tx.drain()
    assert send.message.status == 100
    assert send.message.headers.get("To") == invite.headers.get("To")
    assert tx.state is State.PROCEEDING
    tx.receive_request(invite, 0.3)
    assert tx.drain() == [send]
    ringing = response(invite, 180, "Ringing")
    tx.send_response(ringing, 0.4)
    tx.receive_request(invite, 0.5)
    assert tx.drain() == [Send(ringing), Send(ringing)]
    assert deadlines.next_deadline() is None


def test_invite_server_timer_g_then_ack_then_timer_i() -> None:
    deadlines = Deadlines()
    invite = request()
    tx = InviteServerTransaction(invite, deadlines, 0.0)
    tx.drain()
    busy = response(invite, 486, "Busy Here")
    tx.send_response(busy, 1.0)
    assert tx.drain() == [Send(busy)]
    assert tx.state is State.COMPLETED
    effects = sends_at(tx, deadlines, 16.0)
    assert [w for w, _ in effects] == [1.5, 2.5, 4.5, 8.5, 12.5]
    assert all(e == Send(busy) for _, e in effects)
    tx.receive_request(invite, 16.1)
    assert tx.drain() == [Send(busy)]
    ack = Request("ACK", invite.uri, invite.headers.replace("CSeq", "1 ACK"))
    tx.receive_request(ack, 16.2)
    assert tx.state is State.CONFIRMED
    tx.receive_request(ack, 16.3)
    tx.receive_request(invite, 16.4)
    assert tx.drain() == []  # ACKs and INVITEs absorbed in Confirmed
    assert deadlines.next_deadline() == pytest.approx(16.2 + 5.0)  # Timer I = T4
    run_until(deadlines, 30.0)
    assert tx.drain() == [Terminated()]


def test_invite_server_timer_h_fires_without_ack() -> None:
    deadlines = Deadlines()
    invite = request()
    tx = InviteServerTransaction(invite, deadlines, 0.0)
    tx.drain()
    tx.send_response(response(invite, 603, "Decline"), 0.0)
    tx.drain()
    effects = sends_at(tx, deadlines, 100.0)
    assert [w for w, e in effects if isinstance(e, Send)] == [
        0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert [(w, e) for w, e in effects if not isinstance(e, Send)] == [
        (32.0, Timeout()), (32.0, Terminated())]


def test_invite_server_2xx_terminates_and_later_responses_are_refused() -> None:
    deadlines = Deadlines()
    invite = request()
    tx = InviteServerTransaction(invite, deadlines, 0.0)
    tx.drain()
    ok = response(invite, 200, "OK")
    tx.send_response(ok, 1.0)
    assert tx.drain() == [Send(ok), Terminated()]
    with pytest.raises(TransactionStateError):
        tx.send_response(ok, 2.0)


# --- non-INVITE server (RFC 3261 17.2.2) -----------------------------------------------


def test_non_invite_server_absorbs_then_repeats_then_timer_j() -> None:
    deadlines = Deadlines()
    bye = request("BYE")
    tx = NonInviteServerTransaction(bye, deadlines, 0.0)
    assert tx.drain() == []
    tx.receive_request(bye, 0.5)
    assert tx.drain() == []  # nothing sent yet: absorbed in Trying
    ok = response(bye, 200, "OK")
    tx.send_response(ok, 1.0)
    tx.receive_request(bye, 2.0)
    assert tx.drain() == [Send(ok), Send(ok)]
    assert tx.state is State.COMPLETED
    assert deadlines.next_deadline() == 33.0  # Timer J = 64*T1
    run_until(deadlines, 33.0)
    assert tx.drain() == [Terminated()]
    tx.receive_request(bye, 34.0)
    assert tx.drain() == []


def test_non_invite_server_provisional_moves_to_proceeding() -> None:
    tx = NonInviteServerTransaction(request("REGISTER"), Deadlines(), 0.0)
    trying = response(request("REGISTER"), 100, "Trying")
    tx.send_response(trying, 0.0)
    assert tx.state is State.PROCEEDING
    tx.receive_request(request("REGISTER"), 0.1)
    assert tx.drain() == [Send(trying), Send(trying)]


# --- matching (RFC 3261 17.1.3, 17.2.3) ------------------------------------------------


def test_transaction_key_matches_ack_to_invite_and_keeps_cancel_apart() -> None:
    invite = request()
    ack = request("ACK")
    cancel = request("CANCEL")
    assert transaction_key(invite) == ("z9hG4bK776asdhds", "pc33.example.com", 5060, "INVITE")
    assert transaction_key(ack) == transaction_key(invite)
    assert transaction_key(cancel) != transaction_key(invite)
    assert transaction_key(response(invite, 180)) == transaction_key(invite)
    assert transaction_key(response(cancel, 200)) == transaction_key(cancel)
    other = request(via="SIP/2.0/UDP pc34.example.com:5070;branch=z9hG4bK776asdhds")
    assert transaction_key(other) != transaction_key(invite)


def test_rfc_2543_requests_their_ack_and_our_response_share_one_key() -> None:
    via = "SIP/2.0/UDP pc33.example.com;branch=776asdhds"
    invite = request(via=via)
    key = transaction_key(invite)
    assert key[0].startswith("rfc2543-") and key[1:] == ("pc33.example.com", 5060, "INVITE")
    assert transaction_key(request("ACK", via=via)) == key
    assert transaction_key(response(invite, 486)) == key
    assert transaction_key(request(via=via, cseq=2)) != key
    without_branch = request(via="SIP/2.0/UDP pc33.example.com")
    assert transaction_key(without_branch) not in (key, transaction_key(request()))


def test_a_bare_magic_cookie_is_matched_as_rfc_2543() -> None:
    assert transaction_key(request(via="SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK"))[0].startswith(
        "rfc2543-")


# --- random interleavings --------------------------------------------------------------


class _Machine(RuleBasedStateMachine):
    """Shared bookkeeping: effects seen, states passed through, the current time."""

    def _setup(self, tx) -> None:
        self.tx = tx
        self.states = [tx.state]
        self.effects: list[object] = []
        self.sends_after_end = 0
        self._collect()

    def _collect(self) -> None:
        ended = any(isinstance(e, Terminated) for e in self.effects)
        for effect in self.tx.drain():
            if ended and isinstance(effect, Send):
                self.sends_after_end += 1
            ended = ended or isinstance(effect, Terminated)
            self.effects.append(effect)
        self.states.append(self.tx.state)

    @rule(delta=st.sampled_from([0.0, 0.1, 0.5, 1.0, 4.0, 10.0, 40.0]))
    def advance(self, delta: float) -> None:
        target = self.now + delta
        while (when := self.deadlines.next_deadline()) is not None and when <= target:
            self.deadlines.run_due(when)
            self._collect()
        self.now = target

    @invariant()
    def no_send_after_terminated(self) -> None:
        assert self.sends_after_end == 0

    @invariant()
    def states_only_move_forward(self) -> None:
        assert self.states == sorted(self.states)

    @invariant()
    def at_most_one_terminated(self) -> None:
        assert sum(isinstance(e, Terminated) for e in self.effects) <= 1

    @invariant()
    def no_timers_left_once_terminated(self) -> None:
        if self.tx.state is State.TERMINATED:
            assert self.deadlines.next_deadline() is None


class InviteClientMachine(_Machine):
    @initialize()
    def start(self) -> None:
        self.now = 0.0
        self.deadlines = Deadlines()
        self.invite = request()
        self._setup(InviteClientTransaction(self.invite, self.deadlines, self.now))

    @rule(status=st.sampled_from([100, 180, 183, 200, 302, 486, 487, 500, 603]),
          tag=st.sampled_from(["a", "b"]))
    def receive(self, status: int, tag: str) -> None:
        self.tx.receive_response(response(self.invite, status, tag=tag), self.now)
        self._collect()

    @invariant()
    def each_final_delivered_at_most_once(self) -> None:
        finals = [e for e in self.effects if isinstance(e, Deliver) and e.message.status >= 200]
        assert len(finals) <= 1

    @invariant()
    def acks_only_after_a_non_2xx_final(self) -> None:
        acks = [e.message for e in self.effects
                if isinstance(e, Send) and e.message.method == "ACK"]
        if acks:
            assert self.tx.state in (State.COMPLETED, State.TERMINATED)
            assert all(parse_cseq(a.headers.get("CSeq"))[1] == "ACK" for a in acks)


class NonInviteClientMachine(_Machine):
    @initialize()
    def start(self) -> None:
        self.now = 0.0
        self.deadlines = Deadlines()
        self.req = request("OPTIONS")
        self._setup(NonInviteClientTransaction(self.req, self.deadlines, self.now))

    @rule(status=st.sampled_from([100, 180, 200, 404, 500]))
    def receive(self, status: int) -> None:
        self.tx.receive_response(response(self.req, status), self.now)
        self._collect()

    @invariant()
    def each_final_delivered_at_most_once(self) -> None:
        finals = [e for e in self.effects if isinstance(e, Deliver) and e.message.status >= 200]
        assert len(finals) <= 1

    @invariant()
    def timeout_only_without_final(self) -> None:
        if any(isinstance(e, Timeout) for e in self.effects):
            assert not any(isinstance(e, Deliver) and e.message.status >= 200
                           for e in self.effects)


class InviteServerMachine(_Machine):
    @initialize()
    def start(self) -> None:
        self.now = 0.0
        self.deadlines = Deadlines()
        self.invite = request()
        self._setup(InviteServerTransaction(self.invite, self.deadlines, self.now))

    @precondition(lambda self: self.tx.state is State.PROCEEDING)
    @rule(status=st.sampled_from([180, 183, 200, 486, 603]))
    def answer(self, status: int) -> None:
        self.tx.send_response(response(self.invite, status), self.now)
        self._collect()

    @rule()
    def retransmitted_invite(self) -> None:
        self.tx.receive_request(self.invite, self.now)
        self._collect()

    @rule()
    def ack(self) -> None:
        ack = Request("ACK", self.invite.uri, self.invite.headers.replace("CSeq", "1 ACK"))
        self.tx.receive_request(ack, self.now)
        self._collect()

    @invariant()
    def nothing_delivered(self) -> None:
        assert not any(isinstance(e, Deliver) for e in self.effects)

    @invariant()
    def at_most_one_final_response_kind(self) -> None:
        finals = {e.message for e in self.effects
                  if isinstance(e, Send) and e.message.status >= 200}
        assert len(finals) <= 1


TestInviteClientMachine = InviteClientMachine.TestCase
TestNonInviteClientMachine = NonInviteClientMachine.TestCase
TestInviteServerMachine = InviteServerMachine.TestCase
