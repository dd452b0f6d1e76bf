"""RFC 3261 17 transactions as sans-I/O state machines.

Each transaction is built with its request, a `Deadlines` heap shared with its owner, and
`now`. Inputs are method calls that carry `now`; timers live in the shared heap, so the owner
wakes them by calling `deadlines.run_due(now)`. What a transaction wants done is appended to its
`outbox` as effects (`Send`, `Deliver`, `Timeout`, `Terminated`) for the owner to drain.

Timer values are those of RFC 3261 for UDP; with ``reliable=True`` the retransmission timers
(A, E, G) are not started and the wait timers (D, I, J, K) are zero (RFC 3261 17.1.1.2 ff.).
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from appliance.clock import Deadlines, TimerHandle
from appliance.pbx.sip.headers import Headers
from appliance.pbx.sip.message import (
    Request,
    Response,
    parse_cseq,
    parse_name_addr,
    parse_via,
)

T1 = 0.5
T2 = 4.0
T4 = 5.0
TIMER_B = 64 * T1
TIMER_D = 32.0
TIMER_F = 64 * T1
TIMER_H = 64 * T1
TIMER_I = T4
TIMER_J = 64 * T1
TIMER_K = T4

MAGIC_COOKIE = "z9hG4bK"


@dataclass(frozen=True)
class Send:
    """Send `message` to the peer."""

    message: Request | Response


@dataclass(frozen=True)
class Deliver:
    """Pass `message` up to the transaction user."""

    message: Request | Response


@dataclass(frozen=True)
class Timeout:
    """Timer B, F or H fired: the transaction failed (the TU acts as on a 408)."""


@dataclass(frozen=True)
class Terminated:
    """The transaction is over; the owner may forget it."""


Effect = Send | Deliver | Timeout | Terminated


class State(enum.IntEnum):
    """RFC 3261 17 states, numbered so that a transaction only ever moves to a higher one."""

    CALLING = 0
    TRYING = 1  # Calling and Trying never belong to the same kind of transaction
    PROCEEDING = 2
    COMPLETED = 3
    CONFIRMED = 4
    TERMINATED = 5


Key = tuple[str, str, int, str]
"""A transaction's identity as `transaction_key()` gives it: (branch, host, port, method)."""


class TransactionStateError(Exception):
    """The transaction user asked for something the current state does not allow."""


def transaction_key(message: Request | Response) -> Key:
    """(branch, sent-by host, sent-by port, method) of the top Via (RFC 3261 17.1.3, 17.2.3).

    An ACK gets the key of the INVITE it acknowledges; a CANCEL keeps its own. A response's
    method is its CSeq method. A branch without the RFC 3261 magic cookie (or the bare cookie)
    is an RFC 2543 peer's: its place is taken by an identifier made of what 17.2.3 matches
    such requests by and their responses repeat (From, Call-ID, CSeq number, the branch as
    sent), so requests, retransmissions, ACKs and our responses all meet in one key.
    """
    via = parse_via(message.headers.get("Via") or "")
    branch = via.branch or ""
    if isinstance(message, Request):
        method = message.method
    else:
        method = parse_cseq(message.headers.get("CSeq") or "")[1]
    if method == "ACK":
        method = "INVITE"
    if len(branch) <= len(MAGIC_COOKIE) or not branch.startswith(MAGIC_COOKIE):
        branch = _rfc2543_id(message.headers, branch)
    return branch, via.host.lower(), via.port or 5060, method


def _rfc2543_id(headers: Headers, branch: str) -> str:
    number, _ = parse_cseq(headers.get("CSeq") or "")
    parts = (headers.get("From") or "", headers.get("Call-ID") or "", str(number), branch)
    digest = hashlib.blake2s("\n".join(parts).encode(), digest_size=12).hexdigest()
    return f"rfc2543-{digest}"


def make_ack(request: Request, response: Response) -> Request:
    """The ACK for a non-2xx final response to `request` (RFC 3261 17.1.1.3)."""
    number, _ = parse_cseq(request.headers.get("CSeq") or "")
    headers = [
        ("Via", request.headers.get("Via") or ""),
        ("Max-Forwards", request.headers.get("Max-Forwards") or "70"),
        ("From", request.headers.get("From") or ""),
        ("To", response.headers.get("To") or ""),
        ("Call-ID", request.headers.get("Call-ID") or ""),
        ("CSeq", f"{number} ACK"),
    ]
    headers += [("Route", route) for route in request.headers.get_all("Route")]
    return Request("ACK", request.uri, Headers(headers))


def make_cancel(invite: Request) -> Request:
    """The CANCEL of a pending INVITE (RFC 3261 9.1): its Request-URI, top Via (same branch),
    From, To, Call-ID and Route, and its CSeq number."""
    number, _ = parse_cseq(invite.headers.get("CSeq") or "")
    pairs = [("Via", invite.headers.get("Via") or ""), ("Max-Forwards", "70")]
    pairs += [(name, invite.headers.get(name) or "") for name in ("From", "To", "Call-ID")]
    pairs.append(("CSeq", f"{number} CANCEL"))
    pairs += [("Route", route) for route in invite.headers.get_all("Route")]
    return Request("CANCEL", invite.uri, Headers(pairs))


def make_response(request: Request, status: int, reason: str, *, to_tag: str | None = None,
                  extra: Iterable[tuple[str, str]] = (), sdp: bytes = b"") -> Response:
    """A response echoing the headers RFC 3261 8.2.6.2 says a response copies.

    `to_tag` is added to a To without a tag (never on a 100); `extra` headers follow; `sdp`
    is the body, with its Content-Type.
    """
    names = ("Via", "From", "To", "Call-ID", "CSeq")
    pairs = [(name, value) for name in names for value in request.headers.get_all(name)]
    if to_tag is not None and status != 100:
        pairs = [(name, _tagged(value, to_tag) if name == "To" else value)
                 for name, value in pairs]
    pairs += extra
    if sdp:
        pairs.append(("Content-Type", "application/sdp"))
    return Response(status, reason, Headers(pairs), sdp)


def _tagged(to: str, tag: str) -> str:
    return to if parse_name_addr(to).tag is not None else f"{to};tag={tag}"


class _Transaction:
    def __init__(self, request: Request, deadlines: Deadlines, reliable: bool) -> None:
        self.request = request
        self.deadlines = deadlines
        self.reliable = reliable
        self.outbox: list[Effect] = []
        self._timers: dict[str, TimerHandle] = {}
        # Told when a timer of this transaction fired (and so may have left effects), so that
        # an owner of many transactions drains only those rather than all of them.
        self.on_timer: Callable[[_Transaction], None] | None = None

    state: State

    def drain(self) -> list[Effect]:
        """The effects so far, oldest first; the outbox is left empty."""
        effects, self.outbox = self.outbox, []
        return effects

    def _start(self, name: str, when: float, callback: Callable[[float], None]) -> None:
        self._cancel(name)
        self._timers[name] = self.deadlines.schedule(when, self._fire, callback)

    def _fire(self, now: float, callback: Callable[[float], None]) -> None:
        callback(now)
        if self.on_timer is not None:
            self.on_timer(self)

    def _cancel(self, *names: str) -> None:
        for name in names:
            handle = self._timers.pop(name, None)
            if handle is not None:
                handle.cancel()

    def _wait(self, seconds: float) -> float:
        return 0.0 if self.reliable else seconds

    def _terminate(self, now: float) -> None:
        self._cancel(*list(self._timers))
        self.state = State.TERMINATED
        self.outbox.append(Terminated())


class InviteClientTransaction(_Transaction):
    """RFC 3261 17.1.1: sends the INVITE at once; builds the ACK for non-2xx finals."""

    def __init__(self, request: Request, deadlines: Deadlines, now: float,
                 reliable: bool = False) -> None:
        super().__init__(request, deadlines, reliable)
        self.state = State.CALLING
        self._interval = T1
        self.outbox.append(Send(request))
        if not reliable:
            self._start("A", now + T1, self._timer_a)
        self._start("B", now + TIMER_B, self._timer_b)
        self._ack: Request | None = None

    def receive_response(self, response: Response, now: float) -> None:
        status = response.status
        if self.state in (State.CALLING, State.PROCEEDING):
            self._cancel("A", "B")
            self.outbox.append(Deliver(response))
            if status < 200:
                self.state = State.PROCEEDING
            elif status < 300:
                self._terminate(now)
            else:
                self._ack = make_ack(self.request, response)
                self.outbox.append(Send(self._ack))
                self.state = State.COMPLETED
                self._start("D", now + self._wait(TIMER_D), self._timer_d)
        elif self.state is State.COMPLETED and status >= 300 and self._ack is not None:
            self.outbox.append(Send(self._ack))

    def _timer_a(self, now: float) -> None:
        self.outbox.append(Send(self.request))
        self._interval *= 2
        self._start("A", now + self._interval, self._timer_a)

    def _timer_b(self, now: float) -> None:
        self.outbox.append(Timeout())
        self._terminate(now)

    def give_up(self, now: float) -> None:
        """Stop waiting for a final response that is not coming (RFC 3261 9.1: none 64*T1
        after a CANCEL, or a BYE, ended the request's purpose): a timeout, as Timer B gives."""
        if self.state in (State.CALLING, State.PROCEEDING):
            self._timer_b(now)

    def _timer_d(self, now: float) -> None:
        self._terminate(now)


class NonInviteClientTransaction(_Transaction):
    """RFC 3261 17.1.2: retransmits on Timer E until a final response or Timer F."""

    def __init__(self, request: Request, deadlines: Deadlines, now: float,
                 reliable: bool = False) -> None:
        super().__init__(request, deadlines, reliable)
        self.state = State.TRYING
        self._interval = T1
        self.outbox.append(Send(request))
        if not reliable:
            self._start("E", now + T1, self._timer_e)
        self._start("F", now + TIMER_F, self._timer_f)

    def receive_response(self, response: Response, now: float) -> None:
        if self.state not in (State.TRYING, State.PROCEEDING):
            return  # retransmitted finals are absorbed in Completed
        self.outbox.append(Deliver(response))
        if response.status < 200:
            self.state = State.PROCEEDING
            return
        self._cancel("E", "F")
        self.state = State.COMPLETED
        self._start("K", now + self._wait(TIMER_K), self._timer_k)

    def _timer_e(self, now: float) -> None:
        self.outbox.append(Send(self.request))
        if self.state is State.PROCEEDING:
            self._interval = T2
        else:
            self._interval = min(2 * self._interval, T2)
        self._start("E", now + self._interval, self._timer_e)

    def _timer_f(self, now: float) -> None:
        self.outbox.append(Timeout())
        self._terminate(now)

    def _timer_k(self, now: float) -> None:
        self._terminate(now)


class InviteServerTransaction(_Transaction):
    """RFC 3261 17.2.1: answers 100 Trying at once; retransmits non-2xx finals on Timer G."""

    def __init__(self, request: Request, deadlines: Deadlines, now: float,
                 reliable: bool = False) -> None:
        super().__init__(request, deadlines, reliable)
        self.state = State.PROCEEDING
        self._interval = T1
        self.last_response = make_response(request, 100, "Trying")
        self.outbox.append(Send(self.last_response))

    def receive_request(self, request: Request, now: float) -> None:
        """A retransmitted INVITE, or the ACK for a non-2xx final (absorbed, not delivered)."""
        if request.method == "ACK":
            if self.state is State.COMPLETED:
                self._cancel("G", "H")
                self.state = State.CONFIRMED
                self._start("I", now + self._wait(TIMER_I), self._timer_i)
        elif self.state in (State.PROCEEDING, State.COMPLETED):
            self.outbox.append(Send(self.last_response))

    def send_response(self, response: Response, now: float) -> None:
        if self.state is not State.PROCEEDING:
            raise TransactionStateError(f"cannot send a response in state {self.state.name}")
        self.outbox.append(Send(response))
        self.last_response = response
        if 200 <= response.status < 300:
            self._terminate(now)  # the TU retransmits the 2xx (RFC 3261 13.3.1.4)
        elif response.status >= 300:
            self.state = State.COMPLETED
            if not self.reliable:
                self._start("G", now + T1, self._timer_g)
            self._start("H", now + TIMER_H, self._timer_h)

    def _timer_g(self, now: float) -> None:
        self.outbox.append(Send(self.last_response))
        self._interval = min(2 * self._interval, T2)
        self._start("G", now + self._interval, self._timer_g)

    def _timer_h(self, now: float) -> None:
        self.outbox.append(Timeout())
        self._terminate(now)

    def _timer_i(self, now: float) -> None:
        self._terminate(now)


class NonInviteServerTransaction(_Transaction):
    """RFC 3261 17.2.2: answers retransmitted requests with the last response sent."""

    def __init__(self, request: Request, deadlines: Deadlines, now: float,
                 reliable: bool = False) -> None:
        super().__init__(request, deadlines, reliable)
        self.state = State.TRYING
        self.last_response: Response | None = None

    def receive_request(self, request: Request, now: float) -> None:
        if self.last_response is not None and self.state is not State.TERMINATED:
            self.outbox.append(Send(self.last_response))

    def send_response(self, response: Response, now: float) -> None:
        if self.state not in (State.TRYING, State.PROCEEDING):
            raise TransactionStateError(f"cannot send a response in state {self.state.name}")
        self.outbox.append(Send(response))
        self.last_response = response
        if response.status < 200:
            self.state = State.PROCEEDING
        else:
            self.state = State.COMPLETED
            self._start("J", now + self._wait(TIMER_J), self._timer_j)

    def _timer_j(self, now: float) -> None:
        self._terminate(now)
