"""RFC 3261 section 12 dialog state: built from an INVITE exchange, makes in-dialog requests.

Random values (tags, branches) come from a `random.Random` supplied by the caller.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from appliance.pbx.sip.headers import Headers
from appliance.pbx.sip.message import (
    Request,
    Response,
    Via,
    parse_cseq,
    parse_name_addr,
    parse_via,
)
from appliance.pbx.sip.transaction import MAGIC_COOKIE
from appliance.pbx.sip.uri import parse_uri

_SAME_CSEQ = frozenset({"ACK", "CANCEL"})
_TARGET_REFRESH = frozenset({"INVITE", "UPDATE"})


def new_tag(rng: random.Random) -> str:
    """A From/To tag with 32 random bits (RFC 3261 19.3)."""
    return f"{rng.getrandbits(32):08x}"


def new_branch(rng: random.Random) -> str:
    """A Via branch with the RFC 3261 magic cookie and 64 random bits."""
    return f"{MAGIC_COOKIE}{rng.getrandbits(64):016x}"


def _uri_of(value: str | None) -> str:
    if not value:
        raise ValueError("missing name-addr header")
    return parse_name_addr(value).uri


def _is_sips(uri: str) -> bool:
    return uri.lower().startswith("sips:")


def _via_without_branch(value: str | None) -> str:
    if not value:
        return ""  # no Via of ours known: make_request refuses rather than invent one
    via = parse_via(value)
    params = {k: v for k, v in via.params.items() if k not in ("branch", "received", "rport")}
    return str(Via(via.transport, via.host, via.port, params))


@dataclass
class Dialog:
    """The state of one dialog, from the local side's point of view."""

    call_id: str
    local_tag: str
    remote_tag: str
    local_uri: str
    remote_uri: str
    remote_target: str
    route_set: list[str] = field(default_factory=list)
    local_cseq: int = 0
    remote_cseq: int | None = None
    secure: bool = False
    local_via: str = ""  # our own Via, without branch (the transport's address)

    @property
    def id(self) -> tuple[str, str, str]:
        """(Call-ID, local tag, remote tag) (RFC 3261 12)."""
        return self.call_id, self.local_tag, self.remote_tag

    @classmethod
    def from_uac(cls, request: Request, response: Response) -> Dialog:
        """The dialog a 101-299 response with a To tag creates for an INVITE we sent."""
        if request.method != "INVITE" or not 101 <= response.status <= 299:
            raise ValueError("a dialog comes from a 101-299 response to an INVITE")
        remote = parse_name_addr(response.headers.get("To") or "")
        local = parse_name_addr(request.headers.get("From") or "")
        if not remote.tag or not local.tag:
            raise ValueError("a dialog needs both a From tag and a To tag")
        number, _ = parse_cseq(request.headers.get("CSeq") or "")
        routes = list(reversed(response.headers.get_all("Record-Route")))
        return cls(
            call_id=request.headers.get("Call-ID") or "",
            local_tag=local.tag,
            remote_tag=remote.tag,
            local_uri=local.uri,
            remote_uri=remote.uri,
            remote_target=_uri_of(response.headers.get("Contact")),
            route_set=routes,
            local_cseq=number,
            remote_cseq=None,
            secure=_is_sips(request.uri),
            local_via=_via_without_branch(request.headers.get("Via")),
        )

    @classmethod
    def from_uas(cls, request: Request, local_tag: str, *, local_via: str) -> Dialog:
        """The dialog we create by answering the INVITE `request` with To tag `local_tag`."""
        if request.method != "INVITE":
            raise ValueError("a dialog comes from an INVITE")
        remote = parse_name_addr(request.headers.get("From") or "")
        local = parse_name_addr(request.headers.get("To") or "")
        if not remote.tag:
            raise ValueError("a dialog needs a From tag")
        number, _ = parse_cseq(request.headers.get("CSeq") or "")
        return cls(
            call_id=request.headers.get("Call-ID") or "",
            local_tag=local_tag,
            remote_tag=remote.tag,
            local_uri=local.uri,
            remote_uri=remote.uri,
            remote_target=_uri_of(request.headers.get("Contact")),
            route_set=list(request.headers.get_all("Record-Route")),
            local_cseq=0,
            remote_cseq=number,
            secure=_is_sips(request.uri),
            local_via=local_via,
        )

    def _route(self) -> tuple[str, list[str]]:
        """Request-URI and Route values (RFC 3261 12.2.1.1: loose and strict routing)."""
        if not self.route_set:
            return self.remote_target, []
        first = parse_name_addr(self.route_set[0]).uri
        if parse_uri(first).param("lr") is not None:
            return self.remote_target, list(self.route_set)
        # Strict routing: the first route becomes the Request-URI, the target goes last.
        return first, [*self.route_set[1:], f"<{self.remote_target}>"]

    def _build(self, method: str, number: int, rng_or_branch: random.Random | str) -> Request:
        branch = rng_or_branch if isinstance(rng_or_branch, str) else new_branch(rng_or_branch)
        uri, routes = self._route()
        pairs = [
            ("Via", f"{self._via()};branch={branch}"),
            ("Max-Forwards", "70"),
            ("From", f"<{self.local_uri}>;tag={self.local_tag}"),
            ("To", f"<{self.remote_uri}>;tag={self.remote_tag}"),
            ("Call-ID", self.call_id),
            ("CSeq", f"{number} {method}"),
        ]
        pairs += [("Route", route) for route in routes]
        return Request(method, uri, Headers(pairs))

    def _via(self) -> str:
        if not self.local_via:
            raise ValueError("the dialog has no Via of ours (the transport's address) to send with")
        return self.local_via

    def make_request(self, method: str, rng_or_branch: random.Random | str) -> Request:
        """The next in-dialog request (RFC 3261 12.2.1.1); ACK and CANCEL keep the CSeq."""
        method = method.upper()
        if method not in _SAME_CSEQ:
            self.local_cseq += 1
        return self._build(method, self.local_cseq, rng_or_branch)

    def make_ack(self, invite_cseq: int, rng_or_branch: random.Random | str) -> Request:
        """The ACK for a 2xx to the INVITE numbered `invite_cseq` (RFC 3261 13.2.2.4)."""
        return self._build("ACK", invite_cseq, rng_or_branch)

    def receive_request(self, request: Request) -> bool:
        """Apply an in-dialog request (RFC 3261 12.2.2); False means reject it with a 500."""
        number, _ = parse_cseq(request.headers.get("CSeq") or "")
        if self.remote_cseq is not None and number < self.remote_cseq:
            return False
        self.remote_cseq = number
        contact = request.headers.get("Contact")
        if request.method in _TARGET_REFRESH and contact:
            self.remote_target = _uri_of(contact)
        return True
