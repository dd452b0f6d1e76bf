"""The sans-I/O transaction layer: datagrams in, transactions and TU events out.

`TransactionLayer` sits between a transport and the transaction user (TU). It parses
datagrams, answers what the TU never needs to see (malformed requests, unknown or unsupported
methods, unsupported extensions, CANCEL and retransmissions), keeps the table of client and
server transactions (RFC 3261 17) and turns their effects into its own outbox of `SendTo`,
`Deliver`, `CancelRequested` (inside a `Deliver`) and `TransactionTimeout` effects.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import logging
from dataclasses import dataclass

from appliance.clock import Deadlines
from appliance.net import Address
from appliance.pbx.sip.headers import Headers, canonical_name, is_token, split_values
from appliance.pbx.sip.message import (
    KNOWN_METHODS,
    Request,
    Response,
    SipError,
    Via,
    parse,
    parse_via,
)
from appliance.pbx.sip.transaction import (
    T1,
    Deliver,
    InviteClientTransaction,
    InviteServerTransaction,
    Key,
    NonInviteClientTransaction,
    NonInviteServerTransaction,
    Send,
    State,
    Terminated,
    Timeout,
    TransactionStateError,
    make_response,
    transaction_key,
)
from appliance.pbx.sip.uri import parse_uri

ClientTransaction = InviteClientTransaction | NonInviteClientTransaction
ServerTransaction = InviteServerTransaction | NonInviteServerTransaction

# RFC 6026 7.1: how long an INVITE answered with a 2xx is remembered ("Accepted").
TIMER_L = 64 * T1

logger = logging.getLogger(__name__)

# What we serve in a Request-URI: SIP over UDP. A sips: request (TLS) or a tel: one is 416.
REQUEST_URI_SCHEMES = frozenset({"sip"})

# The headers a response copies (RFC 3261 8.2.6.2); without them no answer is possible.
_ECHOED = ("Via", "From", "To", "Call-ID", "CSeq")


@dataclass(frozen=True)
class SendTo:
    """Send `data` in one datagram to `destination`."""

    data: bytes
    destination: Address


@dataclass(frozen=True)
class CancelRequested:
    """A CANCEL arrived for the pending INVITE server transaction `invite_key` (RFC 3261 9.2)."""

    invite_key: Key


@dataclass(frozen=True)
class TransactionTimeout:
    """Timer B, F or H fired for the transaction `key` (the TU acts as on a 408)."""

    key: Key


LayerEffect = SendTo | Deliver | TransactionTimeout


def response_destination(response: Response) -> Address | None:
    """Where a response goes: the top Via's received/rport, else its sent-by (RFC 3261 18.2.2,
    RFC 3581 4). None when that is not an IP literal: a request's Via gets received= from the
    layer whenever its host is not the source address, so only a host name in a Via we did
    not stamp can lead here, and no name is ever looked up."""
    via = parse_via(response.headers.get("Via") or "")
    host = (via.received or via.host).strip("[]")
    if not is_ip_literal(host):
        return None
    return host, via.rport or via.port or 5060


@functools.lru_cache(maxsize=4096)
def is_ip_literal(host: str) -> bool:
    """Whether `host` is an IPv4 or IPv6 address (no brackets), not a name to look up."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _stamped_via(via: Via, source: Address) -> Via:
    """`via` with received (and rport when asked for) set from `source` (RFC 3261 18.2.1, RFC
    3581 4). A received or rport value the sender wrote itself is replaced: only ours count."""
    params = dict(via.params)
    wants_rport = "rport" in params  # RFC 3581 4: then received= always, even if equal
    if wants_rport or via.host.strip("[]") != source[0] or "received" in params:
        params["received"] = source[0]
    if wants_rport:
        params["rport"] = str(source[1])
    if params == via.params:
        return via
    return Via(via.transport, via.host, via.port, params)


def _replace_top_via(headers: Headers, top: str) -> Headers:
    items: list[tuple[str, str]] = []
    placed = False
    for name, value in headers:
        if name == "Via" and not placed:
            items.append((name, top))
            placed = True
        else:
            items.append((name, value))
    return Headers(items)


def _stamp_via(request: Request, source: Address) -> Request:
    """The request with received (and rport when asked for) in its top Via (18.2.1)."""
    via = parse_via(request.headers.get("Via") or "")
    stamped = _stamped_via(via, source)
    if stamped is via:
        return request
    return Request(request.method, request.uri, _replace_top_via(request.headers, str(stamped)),
                   request.body)


def _unfolded_lines(head: str) -> list[str]:
    """Header lines with continuation lines joined to the line they continue (7.3.1)."""
    lines: list[str] = []
    for line in head.split("\n"):
        if line[:1] in (" ", "\t") and lines:
            lines[-1] += " " + line.strip(" \t")
        else:
            lines.append(line)
    return lines


def _salvage_request_headers(data: bytes) -> Headers | None:
    """The headers a response echoes, from a request `parse` rejected; None if too few."""
    text = data.lstrip(b"\r\n").decode("utf-8", errors="replace")
    head = text.replace("\r\n", "\n").split("\n\n", 1)[0]
    start_line, *lines = _unfolded_lines(head)
    if not start_line.strip() or start_line[:4].upper() == "SIP/":
        return None
    if start_line.split(" ", 1)[0] == "ACK":
        return None  # an ACK is never answered (RFC 3261 17), however broken
    pairs: list[tuple[str, str]] = []
    for line in lines:
        name, colon, value = line.partition(":")
        name = name.strip(" \t")
        if not colon or not is_token(name) or canonical_name(name) not in _ECHOED:
            continue
        if any(char in value for char in "\r\x00"):
            continue
        pairs.append((name, value))
    headers = Headers(pairs)
    # With a sound Via the rest is echoed where present, so that even a request lacking To,
    # From or Call-ID hears why (RFC 4475 3.3.1); without one, only a complete set will do.
    if _sound_via(headers.get("Via")) or all(name in headers for name in _ECHOED):
        return headers
    return None


def _sound_via(value: str | None) -> bool:
    try:
        parse_via(value or "")
    except SipError:
        return False
    return True


def _request_uri_refusal(request: Request) -> tuple[int, str] | None:
    """416 for a Request-URI scheme we do not serve (RFC 3261 8.2.2.1), 400 for a sip URI
    that does not parse (an IPv6 address without brackets, RFC 5118 4.2) or carries escaped
    headers (RFC 4475 3.1.2.11); None when the URI is fine."""
    return _uri_refusal(request.uri)


# Calls to one number share a Request-URI: the verdict on it is worth keeping.
@functools.lru_cache(maxsize=4096)
def _uri_refusal(text: str) -> tuple[int, str] | None:
    if text.partition(":")[0].lower() not in REQUEST_URI_SCHEMES:
        return 416, "Unsupported URI Scheme"
    try:
        uri = parse_uri(text)
    except SipError:
        return 400, "Bad Request: malformed Request-URI"
    if uri.headers:
        return 400, "Bad Request: headers in the Request-URI"
    return None


def _with_to_tag(response: Response, seed: str) -> Response:
    """`response` with a To tag if it lacks one (RFC 3261 8.2.6.2: every response but 100).
    The tag comes from `seed` (the branch), so a retransmission gets the same one."""
    to = response.headers.get("To") or ""
    if response.status == 100 or ";tag=" in to.replace(" ", "").lower():
        return response
    tag = hashlib.blake2s(seed.encode(), digest_size=4).hexdigest()
    return Response(response.status, response.reason,
                    response.headers.replace("To", f"{to};tag={tag}"), response.body)


class TransactionLayer:
    """RFC 3261 8.2 and 17 between a datagram transport and the transaction user.

    Inputs carry `now`; outputs are drained with `take_effects()`. Timers live in the shared
    `deadlines`, woken through `next_deadline()` / `on_deadline(now)`.
    """

    def __init__(self, deadlines: Deadlines, supported_methods: frozenset[str],
                 supported_extensions: frozenset[str] = frozenset()) -> None:
        self.deadlines = deadlines
        self.supported_methods = frozenset(supported_methods)
        self.supported_extensions = frozenset(supported_extensions)
        self._clients: dict[Key, tuple[ClientTransaction, Address]] = {}
        self._servers: dict[Key, ServerTransaction] = {}
        # INVITEs answered with a 2xx, for Timer L: their transaction has ended (RFC 3261
        # 17.2.1) but the peer may still retransmit them, and a retransmission must not reach
        # the TU as a new call (RFC 6026 7.1).
        self._accepted: set[Key] = set()
        self._outbox: list[LayerEffect] = []
        # Transactions whose timers fired since the last drain, with their keys.
        self._fired: list[tuple[bool, Key]] = []

    # -- transport side ---------------------------------------------------------------------

    def receive_datagram(self, data: bytes, source: Address, now: float) -> None:
        """Handle one datagram from `source`; unusable ones are answered 400/505 or dropped.

        Every answer goes where RFC 3261 18.2.2 and RFC 3581 say, with received= (and rport)
        from `source`, so it always goes to an IP literal."""
        try:
            message = parse(data)
            key = transaction_key(message)
            if isinstance(message, Request):
                message = _stamp_via(message, source)
        except SipError as error:
            self._reject_unparsed(data, source, error)
            return
        if isinstance(message, Response):
            self._receive_response(message, key, now)
        else:
            self._receive_request(message, key, now)

    def _reject_unparsed(self, data: bytes, source: Address, error: SipError) -> None:
        """Answer statelessly what `parse` refused, if enough can be read to answer it."""
        headers = _salvage_request_headers(data)
        if headers is None:
            return  # RFC 3261 allows dropping what cannot be answered
        try:
            stamped = _stamped_via(parse_via(headers.get("Via") or ""), source)
        except SipError:
            destination: Address | None = source  # a Via beyond repair: answer the source
        else:
            headers = _replace_top_via(headers, str(stamped))
            destination = None
        response = _with_to_tag(Response(error.status, error.reason, headers),
                                headers.get("Via") or "")
        self._emit(bytes(response), destination or response_destination(response))

    def _emit(self, data: bytes, destination: Address | None) -> None:
        """Queue one datagram, only ever toward an IP literal: the driver must never have to
        look a name up (that would block its event loop)."""
        if destination is None or not is_ip_literal(destination[0]):
            logger.info("dropped a datagram to %s: not an IP address", destination)
            return
        self._outbox.append(SendTo(data, destination))

    def _receive_response(self, response: Response, key: Key, now: float) -> None:
        entry = self._clients.get(key)
        if entry is not None:
            entry[0].receive_response(response, now)
            self._drain_client(key)
        elif key[3] == "INVITE" and 200 <= response.status < 300:
            self._outbox.append(Deliver(response))  # a retransmitted 2xx: the TU ACKs it

    def _receive_request(self, request: Request, key: Key, now: float) -> None:
        server = self._servers.get(key)
        if server is not None:
            server.receive_request(request, now)
            self._drain_server(key)
            return
        method = request.method
        if method == "INVITE" and key in self._accepted:
            return  # its 2xx is the TU's to retransmit; the ACK still reaches the TU below
        if method == "ACK":
            if "INVITE" in self.supported_methods:
                self._outbox.append(Deliver(request))  # the ACK for a 2xx belongs to the TU
            return
        if method not in KNOWN_METHODS:
            self._reject(request, key, now, make_response(request, 501, "Not Implemented"))
            return
        if method not in self.supported_methods:
            answer = make_response(request, 405, "Method Not Allowed")
            allow = ", ".join(sorted(self.supported_methods))
            answer = Response(405, answer.reason, answer.headers.add("Allow", allow))
            self._reject(request, key, now, answer)
            return
        refusal = _request_uri_refusal(request)
        if refusal is not None:
            self._reject(request, key, now, make_response(request, *refusal))
            return
        if method != "CANCEL":
            required = [
                option
                for value in request.headers.get_all("Require")
                for option in split_values(value)
                if option and option not in self.supported_extensions
            ]
            if required:
                answer = make_response(request, 420, "Bad Extension")
                headers = answer.headers.add("Unsupported", ", ".join(required))
                self._reject(request, key, now, Response(420, answer.reason, headers))
                return
        if method == "CANCEL":
            self._receive_cancel(request, key, now)
            return
        server = self._new_server(request, now)
        self._servers[key] = server
        self._watch(server, key, False)
        self._drain_server(key)
        self._outbox.append(Deliver(request))

    def _receive_cancel(self, request: Request, key: Key, now: float) -> None:
        invite_key = (*key[:3], "INVITE")
        invite = self._servers.get(invite_key)
        if not isinstance(invite, InviteServerTransaction):
            self._reject(request, key, now,
                         make_response(request, 481, "Call/Transaction Does Not Exist"))
            return
        self._reject(request, key, now, make_response(request, 200, "OK"))
        if invite.state is State.PROCEEDING:
            self._outbox.append(Deliver(CancelRequested(invite_key)))  # type: ignore[arg-type]

    def _new_server(self, request: Request, now: float) -> ServerTransaction:
        if request.method == "INVITE":
            return InviteServerTransaction(request, self.deadlines, now)
        return NonInviteServerTransaction(request, self.deadlines, now)

    def _reject(self, request: Request, key: Key, now: float, answer: Response) -> None:
        """Answer `request` with a final response inside a new server transaction, so that
        retransmissions get the same answer; an INVITE's 100 Trying is not sent first."""
        server = self._new_server(request, now)
        server.drain()
        self._servers[key] = server
        self._watch(server, key, False)
        server.send_response(_with_to_tag(answer, key[0]), now)
        self._drain_server(key)

    # -- transaction user side --------------------------------------------------------------

    def send_request(self, request: Request, destination: Address, now: float) -> Key:
        """Start a client transaction for `request`; an ACK is sent without one."""
        key = transaction_key(request)
        if request.method == "ACK":
            self._emit(bytes(request), destination)
            return key
        if key in self._clients:
            raise TransactionStateError(f"a client transaction {key} already exists")
        client: ClientTransaction
        if request.method == "INVITE":
            client = InviteClientTransaction(request, self.deadlines, now)
        else:
            client = NonInviteClientTransaction(request, self.deadlines, now)
        self._clients[key] = (client, destination)
        self._watch(client, key, True)
        self._drain_client(key)
        return key

    def send_response(self, response: Response, now: float) -> None:
        """Send `response` through its server transaction.

        A 2xx to an INVITE whose transaction has ended (the TU retransmits it, RFC 3261
        13.3.1.4) is sent directly.
        """
        key = transaction_key(response)
        server = self._servers.get(key)
        if server is None:
            if key[3] == "INVITE" and 200 <= response.status < 300:
                self._emit(bytes(response), response_destination(response))
                return
            raise TransactionStateError(f"no server transaction {key}")
        server.send_response(response, now)
        if key[3] == "INVITE" and 200 <= response.status < 300:
            self._accepted.add(key)
            self.deadlines.schedule(now + TIMER_L, self._forget_accepted, key)
        self._drain_server(key)

    def _forget_accepted(self, _now: float, key: Key) -> None:
        self._accepted.discard(key)

    def give_up(self, key: Key, now: float) -> None:
        """Our INVITE `key` will get no final response: end its client transaction with a
        `TransactionTimeout` (nothing happens if it has ended already)."""
        entry = self._clients.get(key)
        if entry is not None and isinstance(entry[0], InviteClientTransaction):
            entry[0].give_up(now)
            self._drain_client(key)

    def has_clients(self) -> bool:
        """Whether any request of ours is still waiting for its final response (a finished
        transaction lingering to absorb retransmissions does not count)."""
        return any(client.state < State.COMPLETED for client, _ in self._clients.values())

    def take_effects(self) -> list[LayerEffect]:
        """Everything the layer wants done, oldest first; the outbox is left empty."""
        effects, self._outbox = self._outbox, []
        return effects

    # -- timers -----------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        return self.deadlines.next_deadline()

    def on_deadline(self, now: float) -> None:
        self.deadlines.run_due(now)
        fired, self._fired = self._fired, []
        for is_client, key in fired:
            if is_client:
                if key in self._clients:
                    self._drain_client(key)
            elif key in self._servers:
                self._drain_server(key)

    def _watch(self, transaction: ClientTransaction | ServerTransaction, key: Key,
               is_client: bool) -> None:
        transaction.on_timer = lambda _transaction: self._fired.append((is_client, key))

    # -- draining ---------------------------------------------------------------------------

    def _drain_client(self, key: Key) -> None:
        client, destination = self._clients[key]
        for effect in client.drain():
            if isinstance(effect, Send):
                self._emit(bytes(effect.message), destination)
            elif isinstance(effect, Deliver):
                self._outbox.append(effect)
            elif isinstance(effect, Timeout):
                self._outbox.append(TransactionTimeout(key))
            elif isinstance(effect, Terminated):
                del self._clients[key]

    def _drain_server(self, key: Key) -> None:
        server = self._servers[key]
        for effect in server.drain():
            if isinstance(effect, Send):
                message = effect.message
                self._emit(bytes(message), response_destination(message))  # type: ignore[arg-type]
            elif isinstance(effect, Deliver):
                self._outbox.append(effect)
            elif isinstance(effect, Timeout):
                self._outbox.append(TransactionTimeout(key))
            elif isinstance(effect, Terminated):
                del self._servers[key]
