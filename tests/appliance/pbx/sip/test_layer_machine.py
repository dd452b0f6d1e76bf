"""The transaction layer as UAS and UAC at once, under random interleavings of peer traffic,
transaction user actions and time.

The peer behaves as an RFC 3261 client may: it retransmits a request only within Timer B/F
(64*T1) of first sending it, and stops retransmitting an INVITE once it has ACKed our final
response. Within those bounds it is as unhelpful as allowed: it ignores our provisional and
final responses, reuses branches, sends CANCELs and ACKs at any time, and answers our requests
late, twice or for transactions we never started.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TypeVar

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from appliance.clock import Deadlines
from appliance.pbx.sip import (
    CancelRequested,
    Deliver,
    Headers,
    InviteClientTransaction,
    InviteServerTransaction,
    NonInviteClientTransaction,
    NonInviteServerTransaction,
    Request,
    Response,
    SendTo,
    TransactionLayer,
    TransactionTimeout,
    make_response,
    parse,
    transaction_key,
)
from appliance.pbx.sip.transaction import (
    T1,
    TIMER_B,
    TIMER_D,
    TIMER_F,
    TIMER_H,
    TIMER_I,
    TIMER_J,
    TIMER_K,
    Key,
    State,
    TransactionStateError,
)

SOURCE = ("192.0.2.10", 5070)  # the peer, when it sends us requests
PEER = ("198.51.100.7", 5060)  # where our requests go
METHODS = frozenset({"INVITE", "ACK", "CANCEL", "BYE", "OPTIONS"})
RETRANSMIT_WINDOW = 64 * T1  # Timer B / Timer F at the peer
QUIET = 100.0  # longer than any chain of RFC 3261 timers after the last input

_T = TypeVar("_T")


def peer_request(method: str, branch: str, number: int, require: bool = False) -> Request:
    headers = [
        ("Via", f"SIP/2.0/UDP 192.0.2.10:5070;branch={branch};rport"),
        ("Max-Forwards", "70"),
        ("To", "Bob <sip:bob@example.com>"),
        ("From", "Alice <sip:alice@example.com>;tag=1928301774"),
        ("Call-ID", f"call-{number}@192.0.2.10"),
        ("CSeq", f"{number} {method}"),
    ]
    if require:
        headers.append(("Require", "100rel"))
    return Request(method, "sip:bob@example.com", Headers(headers))


def our_request(method: str, branch: str, number: int) -> Request:
    return Request(method, "sip:carol@198.51.100.7", Headers([
        ("Via", f"SIP/2.0/UDP 192.0.2.1:5060;branch={branch}"),
        ("Max-Forwards", "70"),
        ("To", "<sip:carol@198.51.100.7>"),
        ("From", "<sip:ccbox@192.0.2.1>;tag=ours"),
        ("Call-ID", f"ours-{number}@192.0.2.1"),
        ("CSeq", f"{number} {method}"),
    ]))


def answer(request: Request, status: int, tag: str = "t1") -> Response:
    response = make_response(request, status, f"Status {status}")
    if status > 100:
        to = response.headers.get("To") or ""
        headers = response.headers.replace("To", f"{to};tag={tag}")
        response = Response(status, response.reason, headers)
    return response


def ack_for(invite: Request, final: Response | None, branch: str) -> Request:
    via = f"SIP/2.0/UDP 192.0.2.10:5070;branch={branch};rport"
    to = final.headers.get("To") if final is not None else invite.headers.get("To")
    number = invite.headers.get("CSeq").split()[0]
    headers = invite.headers.replace("Via", via).replace("To", to or "")
    return Request("ACK", invite.uri, headers.replace("CSeq", f"{number} ACK"))


def cancel_for(invite: Request) -> Request:
    number = invite.headers.get("CSeq").split()[0]
    return Request("CANCEL", invite.uri, invite.headers.replace("CSeq", f"{number} CANCEL"))


@dataclass
class Episode:
    """One transaction as the peer sees it: from its first send until it stops retransmitting."""

    started: float
    acked: bool = False
    delivered: bool = False
    cancel_delivered: bool = False

    def open(self, now: float) -> bool:
        return not self.acked and now < self.started + RETRANSMIT_WINDOW


@dataclass
class Ours:
    """A request we sent through the layer, as the transaction user tracks it."""

    request: Request
    pending: bool = True  # no final response and no timeout yet
    got_2xx: bool = False


@dataclass
class Lifetime:
    """When the layer's transaction object entered its current state."""

    born: float
    state: State
    since: float


@dataclass
class PeerSent:
    request: Request
    data: bytes = field(repr=False)


def recent(items: list[_T], index: int) -> _T:
    """The `index`-th item from the end: small indices, which hypothesis favours, pick the
    latest messages, where retransmissions and answers matter most."""
    return items[-1 - index % len(items)]


def lifetime_bound(transaction: object, life: Lifetime) -> float:
    """The latest time RFC 3261 lets `transaction` stay in its current state."""
    state = life.state
    if isinstance(transaction, NonInviteClientTransaction):
        return life.since + TIMER_K if state is State.COMPLETED else life.born + TIMER_F
    if isinstance(transaction, InviteClientTransaction):
        bounds = {State.CALLING: life.born + TIMER_B, State.COMPLETED: life.since + TIMER_D}
        return bounds.get(state, math.inf)  # Proceeding waits for the final response
    if isinstance(transaction, InviteServerTransaction):
        bounds = {State.COMPLETED: life.since + TIMER_H, State.CONFIRMED: life.since + TIMER_I}
        return bounds.get(state, math.inf)  # Proceeding waits for the transaction user
    assert isinstance(transaction, NonInviteServerTransaction)
    return life.since + TIMER_J if state is State.COMPLETED else math.inf


class LayerMachine(RuleBasedStateMachine):
    @initialize()
    def start(self) -> None:
        self.now = 0.0
        self.core = TransactionLayer(Deadlines(), METHODS)
        self.counter = 0
        self.peer_sent: list[PeerSent] = []
        self.episodes: dict[Key, Episode] = {}
        self.pending: dict[Key, Request] = {}  # delivered, not yet answered with a final
        self.finals: dict[Key, tuple[Response, float]] = {}  # our final to each peer INVITE
        self.first_final: dict[Key, bytes] = {}
        self.refused_invites: set[Key] = set()  # by us or by the layer itself (420)
        self.ours: dict[Key, Ours] = {}
        self.lifetimes: dict[int, tuple[object, Lifetime]] = {}

    def _fresh(self, prefix: str) -> tuple[str, int]:
        self.counter += 1
        return f"z9hG4bK{prefix}{self.counter}", self.counter

    # -- effects and what they must satisfy -------------------------------------------------

    def _take(self) -> list[object]:
        effects = self.core.take_effects()
        for effect in effects:
            if isinstance(effect, SendTo):
                self._check_send(effect)
            elif isinstance(effect, Deliver):
                self._check_deliver(effect.message)
            else:
                assert isinstance(effect, TransactionTimeout)
                self._check_timeout(effect.key)
        return effects

    def _check_send(self, effect: SendTo) -> None:
        message = parse(effect.data)
        key = transaction_key(message)
        if isinstance(message, Response):
            assert effect.destination == SOURCE
            if message.status >= 300 and key[3] == "INVITE":
                self.refused_invites.add(key)
            if message.status >= 200:
                first = self.first_final.setdefault(key, effect.data)
                assert effect.data == first, "a final response changed on retransmission"
        else:
            assert effect.destination == PEER
            if message.method != "ACK":
                assert effect.data == bytes(self.ours[key].request)

    def _check_deliver(self, message: object) -> None:
        if isinstance(message, CancelRequested):
            key = message.invite_key
            assert key in self.pending, "CANCEL reported for an INVITE already answered"
            episode = self.episodes[(*key[:3], "CANCEL")]
            assert not episode.cancel_delivered, "one CANCEL reported twice"
            episode.cancel_delivered = True
        elif isinstance(message, Request):
            if message.method == "ACK":
                return
            key = transaction_key(message)
            episode = self.episodes[key]
            assert not episode.delivered, f"{message.method} delivered twice"
            assert key not in self.pending
            episode.delivered = True
            self.pending[key] = message
            self.finals.pop(key, None)
            self.first_final.pop(key, None)
        else:
            assert isinstance(message, Response)
            key = transaction_key(message)
            ours = self.ours.get(key)
            if key[3] == "INVITE" and 200 <= message.status < 300:
                if ours is not None and ours.pending:
                    ours.pending = False
                    ours.got_2xx = True
                return  # 2xx retransmissions go to the transaction user (RFC 3261 13.2.2.4)
            assert ours is not None and ours.pending, "response delivered with no transaction"
            if message.status >= 200:
                ours.pending = False

    def _check_timeout(self, key: Key) -> None:
        ours = self.ours.get(key)
        if ours is not None:
            assert ours.pending, "timeout after the final response"
            ours.pending = False
        else:  # Timer H: a non-2xx final to a peer INVITE was never ACKed
            assert key in self.refused_invites

    def _peer_sends(self, request: Request, data: bytes | None = None) -> list[object]:
        key = transaction_key(request)
        episode = self.episodes.get(key)
        if request.method != "ACK" and (episode is None or not episode.open(self.now)):
            self.episodes[key] = Episode(self.now)
        if key not in self.core._servers:
            self.first_final.pop(key, None)  # a new server transaction may answer anew
        self.core.receive_datagram(data or bytes(request), SOURCE, self.now)
        return self._take()

    # -- the peer as a client ---------------------------------------------------------------

    @rule(method=st.sampled_from(["INVITE", "INVITE", "OPTIONS", "BYE", "REGISTER", "FROB"]),
          reuse=st.none() | st.integers(min_value=0, max_value=20),
          require=st.sampled_from([False, False, False, False, True]))
    def peer_new_request(self, method: str, reuse: int | None, require: bool) -> None:
        """A request on a fresh branch, or on the branch of an earlier one (the same
        transaction again while the peer may still retransmit it, else a new one)."""
        fresh_branch, number = self._fresh("p")
        branch = fresh_branch
        if reuse is not None and self.peer_sent:
            branch = transaction_key(recent(self.peer_sent, reuse).request)[0]
        request = peer_request(method, branch, number, require)
        data = bytes(request)
        self.peer_sent.append(PeerSent(request, data))
        effects = self._peer_sends(request, data)
        delivered = [e for e in effects if isinstance(e, Deliver)]
        refused = method in ("REGISTER", "FROB") or require
        if refused:
            assert delivered == []
        if branch == fresh_branch:
            sends = [e for e in effects if isinstance(e, SendTo)]
            if refused:
                assert len(sends) == 1 and parse(sends[0].data).status in (405, 420, 501)
            else:
                assert [e.message.method for e in delivered] == [method]

    @precondition(lambda self: self.peer_sent)
    @rule(index=st.integers(min_value=0, max_value=30))
    def peer_retransmits(self, index: int) -> None:
        sent = recent(self.peer_sent, index)
        episode = self.episodes[transaction_key(sent.request)]
        if not episode.open(self.now):
            return  # the peer's Timer B/F has ended its transaction, or it ACKed
        self._peer_sends(sent.request, sent.data)

    def _peer_invites(self) -> list[Request]:
        return [s.request for s in self.peer_sent if s.request.method == "INVITE"]

    @precondition(lambda self: self._peer_invites())
    @rule(index=st.integers(min_value=0, max_value=30))
    def peer_cancels(self, index: int) -> None:
        invites = self._peer_invites()
        invite = recent(invites, index)
        cancel = cancel_for(invite)
        episode = self.episodes.get(transaction_key(cancel))
        first = episode is None or not episode.open(self.now)
        was_pending = transaction_key(invite) in self.pending
        self.peer_sent.append(PeerSent(cancel, bytes(cancel)))
        effects = self._peer_sends(cancel)
        statuses = [parse(e.data).status for e in effects if isinstance(e, SendTo)]
        assert statuses in ([200], [481])
        if was_pending and first:
            assert statuses == [200]

    @precondition(lambda self: self._peer_invites())
    @rule(index=st.integers(min_value=0, max_value=30), same_branch=st.booleans())
    def peer_acks(self, index: int, same_branch: bool) -> None:
        invites = self._peer_invites()
        invite = recent(invites, index)
        key = transaction_key(invite)
        final, _ = self.finals.get(key, (None, 0.0))
        branch = key[0] if same_branch else self._fresh("a")[0]
        effects = self._peer_sends(ack_for(invite, final, branch))
        assert not any(isinstance(e, SendTo) for e in effects)
        if same_branch and key in self.pending:
            assert effects == []  # absorbed by the INVITE server transaction
        if final is not None and key in self.episodes:
            self.episodes[key].acked = True

    # -- the transaction user as a server ---------------------------------------------------

    @precondition(lambda self: self.pending)
    @rule(index=st.integers(min_value=0, max_value=30),
          status=st.sampled_from([100, 180, 183, 200, 202, 404, 486, 500, 603]),
          crossing=st.booleans())
    def tu_responds(self, index: int, status: int, crossing: bool = False) -> None:
        """Our response to a pending request; with `crossing`, a retransmission of that
        request was already on its way and arrives just after it."""
        key = recent(list(self.pending), index)
        request = self.pending[key]
        response = answer(request, status)
        self.core.send_response(response, self.now)
        if status >= 200:
            del self.pending[key]
            if request.method == "INVITE":
                self.finals[key] = (response, self.now)
        sends = [e for e in self._take() if isinstance(e, SendTo)]
        assert [e.data for e in sends] == [bytes(response)]
        if crossing and self.episodes[key].open(self.now):
            sent = next(s for s in reversed(self.peer_sent) if transaction_key(s.request) == key)
            self._peer_sends(sent.request, sent.data)

    def _retransmittable_2xx(self) -> list[Response]:
        """The 2xx the transaction user still retransmits (RFC 3261 13.3.1.4: for 64*T1)."""
        return [response for response, sent in self.finals.values()
                if response.status < 300 and self.now < sent + 64 * T1]

    @precondition(lambda self: self._retransmittable_2xx())
    @rule(index=st.integers(min_value=0, max_value=30))
    def tu_retransmits_2xx(self, index: int) -> None:
        accepted = self._retransmittable_2xx()
        response = recent(accepted, index)
        self.core.send_response(response, self.now)
        sends = [e for e in self._take() if isinstance(e, SendTo)]
        assert [e.data for e in sends] == [bytes(response)]

    @precondition(lambda self: any(r.status >= 300 for r, _ in self.finals.values()))
    @rule(index=st.integers(min_value=0, max_value=30))
    def tu_answers_twice(self, index: int) -> None:
        refused = [r for r, _ in self.finals.values() if r.status >= 300]
        response = recent(refused, index)
        try:
            self.core.send_response(Response(500, "Late", response.headers), self.now)
        except TransactionStateError:
            pass
        else:
            raise AssertionError("a second final response was accepted")
        assert self._take() == []

    # -- the transaction user as a client ---------------------------------------------------

    @rule(method=st.sampled_from(["INVITE", "OPTIONS", "BYE"]))
    def tu_sends_request(self, method: str) -> None:
        branch, number = self._fresh("c")
        request = our_request(method, branch, number)
        key = self.core.send_request(request, PEER, self.now)
        self.ours[key] = Ours(request)
        effects = self._take()
        assert effects == [SendTo(bytes(request), PEER)]

    @precondition(lambda self: any(o.got_2xx for o in self.ours.values()))
    @rule(index=st.integers(min_value=0, max_value=30))
    def tu_acks_2xx(self, index: int) -> None:
        accepted = [o.request for o in self.ours.values() if o.got_2xx]
        invite = recent(accepted, index)
        number = invite.headers.get("CSeq").split()[0]
        headers = invite.headers.replace("Via", invite.headers.get("Via") + "x")
        ack = Request("ACK", invite.uri, headers.replace("CSeq", f"{number} ACK"))
        self.core.send_request(ack, PEER, self.now)
        assert self._take() == [SendTo(bytes(ack), PEER)]

    @precondition(lambda self: self.ours)
    @rule(index=st.integers(min_value=0, max_value=30),
          status=st.sampled_from([100, 180, 200, 200, 404, 486, 503]))
    def peer_answers(self, index: int, status: int) -> None:
        ours = recent(list(self.ours.values()), index)
        was_pending = ours.pending
        response = answer(ours.request, status, tag="peer")
        self.core.receive_datagram(bytes(response), PEER, self.now)
        effects = self._take()
        delivered = [e.message for e in effects if isinstance(e, Deliver)]
        if was_pending:
            assert delivered == [response]
        elif ours.request.method != "INVITE" or status < 200:
            assert delivered == []
        acks = [parse(e.data) for e in effects if isinstance(e, SendTo)]
        assert all(ack.method == "ACK" for ack in acks)
        if acks:
            assert ours.request.method == "INVITE" and status >= 300

    @rule(method=st.sampled_from(["INVITE", "BYE"]),
          status=st.sampled_from([100, 180, 200, 486]))
    def peer_answers_unknown(self, method: str, status: int) -> None:
        branch, number = self._fresh("u")
        response = answer(our_request(method, branch, number), status, tag="peer")
        self.core.receive_datagram(bytes(response), PEER, self.now)
        effects = self._take()
        if method == "INVITE" and status == 200:
            assert effects == [Deliver(response)]
        else:
            assert effects == []

    # -- time -------------------------------------------------------------------------------

    def _run_until(self, target: float) -> None:
        """What a driver does: wake the layer at each deadline, in order."""
        while (when := self.core.next_deadline()) is not None and when <= target:
            self.now = when
            self.core.on_deadline(when)
            self._take()
        self.now = target
        self.core.on_deadline(target)
        self._take()

    @rule(delta=st.sampled_from([0.1, 0.5, 1.0, 4.0, 5.0, 16.0, 31.9, 32.0, 32.1, 37.5, 70.0]),
          late=st.booleans())
    def advance(self, delta: float, late: bool) -> None:
        """Time passes; a late driver wakes the layer once, every timer due on the way firing
        at once."""
        if late:
            self.now += delta
            self.core.on_deadline(self.now)
            self._take()
        else:
            self._run_until(self.now + delta)

    @rule(status=st.sampled_from([200, 486]))
    def settle(self, status: int) -> None:
        """Answer everything, then let time run: nothing may be left behind."""
        while self.pending:
            self.tu_responds(0, status)
        for ours in self.ours.values():
            if ours.pending:
                self.core.receive_datagram(bytes(answer(ours.request, 486)), PEER, self.now)
                self._take()
        self._run_until(self.now + QUIET)
        assert self.core._clients == {}
        assert self.core._servers == {}
        assert self.core._accepted == set()
        assert self.core.next_deadline() is None
        assert not self.core.has_clients()

    # -- invariants -------------------------------------------------------------------------

    @invariant()
    def has_clients_means_a_request_awaits_its_final(self) -> None:
        assert self.core.has_clients() == any(o.pending for o in self.ours.values())

    @invariant()
    def nothing_outlives_its_timers(self) -> None:
        # The layer has no public view of its tables; reading them is the point here.
        tables = [client for client, _ in self.core._clients.values()]
        tables += list(self.core._servers.values())
        seen: dict[int, tuple[object, Lifetime]] = {}
        for transaction in tables:
            known = self.lifetimes.get(id(transaction))
            if known is None or known[0] is not transaction:
                life = Lifetime(self.now, transaction.state, self.now)
            else:
                life = known[1]
                if life.state is not transaction.state:
                    life.state, life.since = transaction.state, self.now
            seen[id(transaction)] = (transaction, life)
            assert self.now < lifetime_bound(transaction, life), (transaction, life)
        self.lifetimes = seen

    @invariant()
    def outbox_is_drained(self) -> None:
        assert self.core.take_effects() == []


def test_invite_retransmitted_after_its_2xx_is_not_a_new_call() -> None:
    """Found by the machine: the INVITE server transaction ends on a 2xx (RFC 3261 17.2.1),
    so a retransmission crossing the 200 OK reached the TU again, as a second call."""
    core = TransactionLayer(Deadlines(), METHODS)
    invite = peer_request("INVITE", "z9hG4bKcross", 1)
    core.receive_datagram(bytes(invite), SOURCE, 0.0)
    [delivered] = [e.message for e in core.take_effects() if isinstance(e, Deliver)]
    ok = answer(delivered, 200)
    core.send_response(ok, 0.4)
    assert core.take_effects() == [SendTo(bytes(ok), SOURCE)]
    core.receive_datagram(bytes(invite), SOURCE, 0.5)  # Timer A at the peer
    assert core.take_effects() == []
    core.send_response(ok, 0.9)  # the TU's own 2xx retransmission still goes out
    assert core.take_effects() == [SendTo(bytes(ok), SOURCE)]
    ack = ack_for(invite, ok, "z9hG4bKcross")
    core.receive_datagram(bytes(ack), SOURCE, 1.0)
    assert [type(e.message) for e in core.take_effects()] == [Request]  # the ACK, to the TU
    assert core.next_deadline() == 0.4 + 64 * T1  # Timer L (RFC 6026 7.1)
    core.on_deadline(0.4 + 64 * T1)
    assert core.next_deadline() is None
    core.receive_datagram(bytes(invite), SOURCE, 40.0)  # long after: a new transaction
    assert [e.message for e in core.take_effects() if isinstance(e, Deliver)] == [delivered]


LayerMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=30,
                                          deadline=None)
TestLayerMachine = LayerMachine.TestCase
