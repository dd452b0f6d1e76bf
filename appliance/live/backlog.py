"""The SIP socket's backlog: datagrams read but not yet handled, the order they are handled in,
how long the oldest has waited, and when that means the appliance is overloaded.

A datagram is classified from a peek at its first line and its To header, without a parse,
so that a flood of INVITEs costs little each:

- FIRST: responses, requests inside a dialog (a To tag: BYE, ACK, re-INVITE ...) and OPTIONS.
  They keep calls that are up going and answer the keep-alives of peers, so they go first.
- NEW_INVITE: an INVITE that would create a call (no To tag). The only thing shed.
- NEW_OTHER: everything else (REGISTER, CANCEL, unparseable ...), in arrival order with the
  new INVITEs, so that a CANCEL never overtakes its INVITE.
- DROP: the ACK for a 503 this module built (it ends a transaction that does not exist).

While overloaded, a new INVITE is refused with a stateless 503 + Retry-After built from its
bytes (`refusal`), which costs a fraction of what the transaction layer would spend on it.
"""

from __future__ import annotations

import hashlib
import re
from collections import deque
from dataclasses import dataclass
from enum import Enum

from appliance.net import Address


class Kind(Enum):
    FIRST = "first"
    NEW_INVITE = "new_invite"
    NEW_OTHER = "new_other"
    DROP = "drop"


# Tags of the stateless 503s start with this; the appliance's own tags are hex digits only.
SHED_TAG_PREFIX = b"ovl"

_TO_LINE = re.compile(rb"\n(?:to|t)[ \t]*:([^\r\n]*)", re.IGNORECASE)
_TAG = re.compile(rb";[ \t]*tag[ \t]*=[ \t]*([^;>, \t\r\n]*)", re.IGNORECASE)
_BRANCH = re.compile(rb"\n(?:via|v)[ \t]*:[^\r\n]*?;[ \t]*branch[ \t]*=[ \t]*([^;, \t\r\n]+)",
                     re.IGNORECASE)
# The headers a response copies from its request (RFC 3261 8.2.6.2), long and compact names.
_ECHOED = {b"via": b"via", b"v": b"via", b"from": b"from", b"f": b"from", b"to": b"to",
           b"t": b"to", b"call-id": b"call-id", b"i": b"call-id", b"cseq": b"cseq"}


def _head(data: bytes) -> bytes:
    end = data.find(b"\r\n\r\n")
    return data if end < 0 else data[:end + 2]


def classify(data: bytes) -> Kind:
    """The class of one datagram, from its first bytes and its To header only."""
    if data.startswith(b"SIP/"):
        return Kind.FIRST
    method = data[:data.find(b" ")]
    head = _head(data)
    to = _TO_LINE.search(head)
    if method == b"OPTIONS":
        return Kind.FIRST
    if to is None:
        return Kind.NEW_OTHER  # malformed: the transaction layer answers or drops it
    tag = _TAG.search(to.group(1))
    if tag is not None:
        if method == b"ACK" and tag.group(1).startswith(SHED_TAG_PREFIX):
            return Kind.DROP
        return Kind.FIRST
    if method == b"INVITE":
        # A tag the regular expression missed (an odd spelling) must not get a re-INVITE shed.
        return Kind.FIRST if b"tag" in to.group(1).lower() else Kind.NEW_INVITE
    return Kind.NEW_OTHER


# A call's own requests, never rate-limited per source; and those that belong to a call or a
# subscription when inside a dialog (a To tag).
_CALL_METHODS = frozenset({b"INVITE", b"ACK", b"BYE", b"CANCEL"})
_DIALOG_METHODS = frozenset({b"PRACK", b"UPDATE", b"INFO", b"REFER", b"NOTIFY"})


def rate_limited(data: bytes) -> bool:
    """Whether the datagram is a request the per-source limit counts: not a response, not a
    call's own request (see `_CALL_METHODS`, `_DIALOG_METHODS`). Garbage counts."""
    if data.startswith(b"SIP/"):
        return False
    method = data[:data.find(b" ")]
    if method in _CALL_METHODS:
        return False
    if method not in _DIALOG_METHODS:
        return True
    to = _TO_LINE.search(_head(data))
    return to is None or _TAG.search(to.group(1)) is None


def top_branch(data: bytes) -> bytes | None:
    """The branch of the first Via header, or None."""
    found = _BRANCH.search(_head(data))
    return None if found is None else found.group(1)


_TOP_VIA = re.compile(rb"\n(?:via|v)[ \t]*:[ \t]*SIP[ \t]*/[ \t]*2\.0[ \t]*/[ \t]*UDP[ \t]+"
                      rb"(\[[^\]]*\]|[^\s:;,]+)(?:[ \t]*:[ \t]*(\d+))?([^\r\n,]*)",
                      re.IGNORECASE)
_RPORT = re.compile(rb";[ \t]*rport(?=[ \t]*(?:;|$))", re.IGNORECASE)


def reply_address(data: bytes, source: Address) -> Address:
    """Where a response to the request `data` from `source` goes: the source's address with
    the top Via's port, or the source's port if the Via asks for rport (RFC 3261 18.2.2, RFC
    3581 4). A Via this peek cannot read gets the source."""
    via = _TOP_VIA.search(_head(data))
    if via is None or _RPORT.search(via.group(3)):
        return source
    port = via.group(2)
    return source[0], int(port) if port else 5060


def refusal(data: bytes, retry_after: int) -> bytes | None:
    """A 503 with Retry-After for the request `data`, built without parsing it, or None if it
    lacks a header a response must copy. The To tag is derived from the top Via and Call-ID,
    so a retransmitted INVITE gets the very same answer."""
    lines = _head(data).replace(b"\r\n", b"\n").split(b"\n")[1:]
    kept: list[bytes] = []
    seen: set[bytes] = set()
    keeping = False
    for line in lines:
        if line[:1] in (b" ", b"\t"):  # a folded continuation of the previous header
            if keeping:
                kept[-1] += b" " + line.strip()
            continue
        name = line.split(b":", 1)[0].strip().lower()
        canonical = _ECHOED.get(name)
        keeping = canonical is not None and b":" in line
        if keeping:
            assert canonical is not None
            seen.add(canonical)
            kept.append(line)
    if len(seen) < 5:
        return None
    key = b"".join(line for line in kept if line.split(b":", 1)[0].strip().lower()
                   in (b"via", b"v", b"call-id", b"i"))
    tag = SHED_TAG_PREFIX + hashlib.blake2s(key, digest_size=4).hexdigest().encode()
    out = [b"SIP/2.0 503 Service Unavailable"]
    for line in kept:
        if _ECHOED[line.split(b":", 1)[0].strip().lower()] == b"to" and not _TAG.search(line):
            line = line.rstrip() + b";tag=" + tag
        out.append(line)
    out += [b"Retry-After: %d" % retry_after, b"Content-Length: 0", b"", b""]
    return b"\r\n".join(out)


@dataclass(slots=True)
class Waiting:
    kind: Kind
    data: bytes
    source: Address
    arrived: float  # on the driver's clock


class Backlog:
    """Datagrams waiting to be handled, FIRST ones before the others, each class in arrival
    order. DROP datagrams are counted and never kept."""

    def __init__(self) -> None:
        self._first: deque[Waiting] = deque()
        self._new: deque[Waiting] = deque()
        self.dropped = 0

    def add(self, data: bytes, source: Address, arrived: float) -> None:
        kind = classify(data)
        if kind is Kind.DROP:
            self.dropped += 1
            return
        queue = self._first if kind is Kind.FIRST else self._new
        queue.append(Waiting(kind, data, source, arrived))

    def pop(self) -> Waiting:
        """The next datagram to handle; the backlog must not be empty."""
        return self._first.popleft() if self._first else self._new.popleft()

    @property
    def first_waiting(self) -> bool:
        """Whether a FIRST datagram waits."""
        return bool(self._first)

    def oldest(self) -> float | None:
        """When the longest-waiting datagram arrived, or None if nothing waits."""
        fronts = [queue[0].arrived for queue in (self._first, self._new) if queue]
        return min(fronts) if fronts else None

    def __len__(self) -> int:
        return len(self._first) + len(self._new)


class OverloadGauge:
    """Overloaded once datagrams have been waiting longer than `overload_age` seconds for
    `persist` seconds on end (a backlog that does not drain; one pause of the process, a page
    fault or a collection, drains at once); back to normal when the oldest waiting is younger
    than `recovered_age` and nothing has been late for `hold` seconds, so that the state does
    not flap."""

    def __init__(self, overload_age: float, recovered_age: float, hold: float,
                 persist: float = 0.0) -> None:
        self.overload_age = overload_age
        self.recovered_age = recovered_age
        self.hold = hold
        self.persist = persist
        self.overloaded = False
        self._late_since: float | None = None
        self._last_late = float("-inf")

    def observe(self, age: float, now: float) -> bool:
        """Take the age of the oldest waiting datagram (0 if none); True if the state changed."""
        if age > self.overload_age:
            self._last_late = now
            if self._late_since is None:
                self._late_since = now
            if not self.overloaded and now - self._late_since >= self.persist:
                self.overloaded = True
                return True
            return False
        self._late_since = None
        if (self.overloaded and age < self.recovered_age
                and now - self._last_late >= self.hold):
            self.overloaded = False
            return True
        return False


class RecentInvites:
    """Branches of the new INVITEs handed to the core in the last `keep` seconds: a
    retransmission of one of them belongs to its transaction and is never shed."""

    def __init__(self, keep: float) -> None:
        self.keep = keep
        self._branches: dict[bytes, float] = {}
        self._order: deque[tuple[float, bytes]] = deque()

    def add(self, branch: bytes, now: float) -> None:
        self._branches[branch] = now
        self._order.append((now, branch))

    def __contains__(self, branch: bytes) -> bool:
        return branch in self._branches

    def expire(self, now: float) -> None:
        order, branches = self._order, self._branches
        while order and order[0][0] <= now - self.keep:
            when, branch = order.popleft()
            if branches.get(branch) == when:
                del branches[branch]

    def __len__(self) -> int:
        return len(self._branches)
