"""A registrar (RFC 3261 10.3): binds phones' Contact URIs to their users, sans-I/O.

`Registrar.handle(request, source, now)` answers a REGISTER; `lookup(user, now)` gives the live
bindings to ring; `next_expiry()` says when a binding next runs out and `expire(now)` removes
what has. Every time a user gains a first binding or loses the last one, a `Change` is recorded
for the owner to drain with `take_changes()`, so call control can log the agent in or out.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Container
from dataclasses import dataclass
from typing import NamedTuple

from appliance.net import Address
from appliance.pbx.sip.digest import AuthResult, DigestAuthenticator, make_tagged_response
from appliance.pbx.sip.headers import Headers
from appliance.pbx.sip.message import Request, Response, SipError, parse_cseq, parse_name_addr
from appliance.pbx.sip.uri import SipUri, parse_uri

# RFC 3261 10.2.1: larger delta-seconds are taken as 2**32-1.
_MAX_DELTA = 2**32 - 1
_DELTA = re.compile(r"\d+")
_QVALUE = re.compile(r"0(\.\d{0,3})?|1(\.0{0,3})?")


@dataclass(frozen=True)
class Binding:
    """One Contact URI bound to a user's address-of-record.

    `source` is the (host, port) the REGISTER came from: the way to reach a phone behind NAT.
    `call_id` and `cseq` are those of the REGISTER that last wrote the binding, at `updated_at`.
    """

    user: str
    contact: str
    expires_at: float
    source: Address
    call_id: str
    cseq: int
    q: float = 1.0
    updated_at: float = 0.0


class Change(NamedTuple):
    """`user` got a first binding (`registered` True) or lost the last one (False)."""

    user: str
    registered: bool


@dataclass(frozen=True)
class _Update:
    key: str
    contact: str
    expires: int
    q: float


class _Rejected(Exception):
    def __init__(self, status: int, reason: str, headers: tuple[tuple[str, str], ...] = ()):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = headers


def _preference(binding: Binding) -> tuple[float, float, str]:
    """Highest q first, then the most recently updated, then by contact for a stable order."""
    return -binding.q, -binding.updated_at, binding.contact


class Registrar:
    """Bindings of the users `authenticator` knows, kept in memory.

    Requested expiry times are clamped to `max_expires`; a non-zero one under `min_expires`
    gets a 423. A REGISTER's updates apply all together or not at all. The To tags of responses
    come from `rng`, by default the authenticator's. Users in `static_only` (phones reached at
    a static contact that must not register) get 403 once authenticated, and so does a
    REGISTER that would leave a user with more than `max_bindings` contacts.
    """

    def __init__(
        self,
        authenticator: DigestAuthenticator,
        default_expires: int = 3600,
        min_expires: int = 60,
        max_expires: int = 7200,
        *,
        rng: random.Random | None = None,
        static_only: Container[str] = frozenset(),
        max_bindings: int = 10,
    ) -> None:
        if not 0 < min_expires <= default_expires <= max_expires:
            raise ValueError("need 0 < min_expires <= default_expires <= max_expires")
        self.authenticator = authenticator
        self.default_expires = default_expires
        self.min_expires = min_expires
        self.max_expires = max_expires
        self.rng = rng if rng is not None else authenticator.rng
        self.static_only = static_only
        self.max_bindings = max_bindings
        self.changes: list[Change] = []
        self._bindings: dict[str, dict[str, Binding]] = {}

    def take_changes(self) -> list[Change]:
        """The changes so far, oldest first; the list is left empty."""
        changes, self.changes = self.changes, []
        return changes

    def lookup(self, user: str, now: float) -> list[Binding]:
        """`user`'s bindings still live at `now`: highest q first, then most recent."""
        live = (b for b in self._bindings.get(user, {}).values() if b.expires_at > now)
        return sorted(live, key=_preference)

    def next_expiry(self) -> float | None:
        """When the next binding runs out, or None when there is none."""
        return min((b.expires_at for table in self._bindings.values() for b in table.values()),
                   default=None)

    def expire(self, now: float) -> list[str]:
        """Remove the bindings run out by `now`; the users left with none, sorted."""
        emptied: list[str] = []
        for user in sorted(self._bindings):
            table = self._bindings[user]
            live = {key: b for key, b in table.items() if b.expires_at > now}
            if len(live) != len(table):
                self._store(user, live)
                if not live:
                    emptied.append(user)
        return emptied

    def handle(self, request: Request, source: Address, now: float,
               auth: AuthResult | None = None) -> Response:
        """The response to a REGISTER from `source`, after updating the bindings. `auth` is
        what the authenticator's `verify()` said of `request`, if the caller has asked it.

        Bindings run out by `now` are expired first. 200 lists every live binding of the
        user with its remaining seconds; 401/403/400 come from the authenticator; 403 when the
        To user is not the authenticated one; 400 for a malformed request or a Contact "*"
        with anything but Expires: 0 alone; 423 with Min-Expires for too brief an interval;
        405 for another method. A binding update from the same Call-ID with a CSeq not
        higher than the binding's is ignored (an old request arriving late).
        """
        self.expire(now)
        if request.method != "REGISTER":
            return self._respond(request, _Rejected(405, "Method Not Allowed",
                                                    (("Allow", "REGISTER"),)))
        result = auth if auth is not None else self.authenticator.verify(request, now)
        if result.response is not None:
            return result.response
        try:
            user = _aor_user(request)
            if user != result.user:
                raise _Rejected(403, "Forbidden")
            if user in self.static_only:
                raise _Rejected(403, "Forbidden: this phone has a static contact")
            self._register(user, request, source, now)
        except _Rejected as rejected:
            return self._respond(request, rejected)
        return self._ok(request, user, now)

    def _register(self, user: str, request: Request, source: Address, now: float) -> None:
        call_id, cseq = _call_id_and_cseq(request)
        updates = self._requested_updates(request)
        table = dict(self._bindings.get(user, {}))
        if updates is None:  # Contact: *
            updates = [_Update(key, b.contact, 0, b.q) for key, b in table.items()]
        for update in updates:
            existing = table.get(update.key)
            if existing is not None and existing.call_id == call_id and existing.cseq >= cseq:
                continue
            if update.expires == 0:
                table.pop(update.key, None)
            else:
                table[update.key] = Binding(user, update.contact, now + update.expires, source,
                                            call_id, cseq, update.q, now)
        if len(table) > self.max_bindings:
            raise _Rejected(403, f"Forbidden: more than {self.max_bindings} contacts")
        self._store(user, table)

    def _requested_updates(self, request: Request) -> list[_Update] | None:
        """One update per Contact, or None for "Contact: *" (remove all)."""
        contacts = request.headers.get_all("Contact")
        header_expires = _expires_header(request)
        if any(contact == "*" for contact in contacts):
            if len(contacts) != 1 or header_expires != 0:
                raise _Rejected(400, "Bad Request: Contact * needs Expires: 0 and no other")
            return None
        default = self.default_expires if header_expires is None else header_expires
        return [self._update(contact, default) for contact in contacts]

    def _update(self, contact: str, default: int) -> _Update:
        try:
            address = parse_name_addr(contact)
            uri = parse_uri(address.uri)
        except SipError:
            raise _Rejected(400, "Bad Request: malformed Contact") from None
        expires = default
        if "expires" in address.params:
            expires = _delta_seconds(address.params["expires"])
        if 0 < expires < self.min_expires:
            raise _Rejected(423, "Interval Too Brief", (("Min-Expires", str(self.min_expires)),))
        return _Update(_contact_key(uri), address.uri, min(expires, self.max_expires),
                       _q_value(address.params.get("q", "1")))

    def _store(self, user: str, table: dict[str, Binding]) -> None:
        had = bool(self._bindings.get(user))
        if table:
            self._bindings[user] = table
        else:
            self._bindings.pop(user, None)
        if had != bool(table):
            self.changes.append(Change(user, bool(table)))

    def _ok(self, request: Request, user: str, now: float) -> Response:
        response = make_tagged_response(request, 200, "OK", self.rng)
        headers = response.headers
        for binding in self.lookup(user, now):
            headers = headers.add("Contact", _contact_value(binding, now))
        return Response(200, "OK", headers)

    def _respond(self, request: Request, rejected: _Rejected) -> Response:
        response = make_tagged_response(request, rejected.status, rejected.reason, self.rng)
        headers = Headers((*response.headers, *rejected.headers))
        return Response(response.status, response.reason, headers)


def _contact_value(binding: Binding, now: float) -> str:
    remaining = max(0, math.ceil(binding.expires_at - now))
    q = "" if binding.q == 1.0 else f";q={binding.q:g}"
    return f"<{binding.contact}>;expires={remaining}{q}"


def _aor_user(request: Request) -> str | None:
    try:
        return parse_uri(parse_name_addr(request.headers.get("To") or "").uri).user
    except SipError:
        raise _Rejected(400, "Bad Request: malformed To") from None


def _call_id_and_cseq(request: Request) -> tuple[str, int]:
    call_id = request.headers.get("Call-ID")
    try:
        cseq, _ = parse_cseq(request.headers.get("CSeq") or "")
    except SipError:
        raise _Rejected(400, "Bad Request: malformed CSeq") from None
    if not call_id:
        raise _Rejected(400, "Bad Request: missing Call-ID")
    return call_id, cseq


def _expires_header(request: Request) -> int | None:
    value = request.headers.get("Expires")
    return None if value is None else _delta_seconds(value)


def _delta_seconds(value: str | None) -> int:
    if value is None or not _DELTA.fullmatch(value):
        raise _Rejected(400, "Bad Request: malformed expires value")
    digits = value.lstrip("0") or "0"
    return _MAX_DELTA if len(digits) > 10 else min(int(digits), _MAX_DELTA)


def _q_value(value: str | None) -> float:
    if value is None or not _QVALUE.fullmatch(value):
        raise _Rejected(400, "Bad Request: malformed q value")
    return float(value)


def _contact_key(uri: SipUri) -> str:
    """What makes two Contact URIs the same binding.

    Scheme and host compare without case, the user part with case (RFC 3261 19.1.4); a port
    or parameter written in one and not the other makes them differ, parameter order does not.
    """
    params = sorted((name.lower(), value) for name, value in uri.params)
    written = "".join(f";{name}" if value is None else f";{name}={value}"
                      for name, value in params)
    port = "" if uri.port is None else f":{uri.port}"
    return f"{uri.scheme}:{uri.user or ''}@{uri.host.lower()}{port}{written}"
