"""What a site's configuration says about the live appliance: SIP settings, phones and their
credentials. The simulator ignores all of it except in SIP fidelity.

Passwords are never stored: a phone's entry holds the digest HA1 hashes for the site's realm
(`ccbox passwd` prints them), so the file alone does not give away a password that may be in
use elsewhere. An HA1 still lets its holder answer digest challenges for that realm, so the
file stays readable by the appliance only.
"""

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

_HEX32 = re.compile(r"[0-9a-f]{32}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_USER = re.compile(r"[A-Za-z0-9_.+-]+")
_FEATURE_CODE = re.compile(r"[*#][0-9]{1,4}")
_DIGITS = r"^[0-9]+$"
_OUTSIDE_NUMBER = r"^\+?[0-9]{1,32}$"


class _Frozen(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", allow_inf_nan=False, coerce_numbers_to_str=True
    )


def parse_peer(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, int | None]:
    """`"192.0.2.7"`, `"192.0.2.7:5062"`, `"[2001:db8::1]:5060"` or `"10.1.0.0/24"` ->
    (network, port or None). Raises ValueError naming the expected forms."""
    host, port = text.strip(), None
    if host.startswith("["):
        host, _, rest = host[1:].partition("]")
        if rest:
            port = _port(rest, text)
    elif host.count(":") == 1:
        host, _, rest = host.partition(":")
        port = _port(":" + rest, text)
    try:
        return ipaddress.ip_network(host, strict=False), port
    except ValueError:
        raise ValueError(
            "expected an IP address, 'address:port' or a network like '10.1.0.0/24'; "
            f"got {text!r}"
        ) from None


def _port(text: str, whole: str) -> int:
    if not text.startswith(":") or not text[1:].isdigit() or not 0 < int(text[1:]) < 65536:
        raise ValueError(f"expected a port from 1 to 65535 after ':'; got {whole!r}")
    return int(text[1:])


def _checked_peer(text: str) -> str:
    parse_peer(text)
    return text


PeerAddress = Annotated[str, AfterValidator(_checked_peer)]
"""A trunk peer: an address, an address with port, or a network."""


def parse_contact(text: str) -> tuple[str, int]:
    """`"192.0.2.7:5062"` or `"[2001:db8::1]:5060"` -> (address, port): one host and a port.
    Raises ValueError naming the expected form."""
    network, port = parse_peer(text)
    if port is None or network.num_addresses != 1 or "/" in text:
        raise ValueError(f"expected 'address:port' (one IP address and its port); got {text!r}")
    return str(network.network_address), port


def _checked_contact(text: str) -> str:
    parse_contact(text)
    return text


ContactAddress = Annotated[str, AfterValidator(_checked_contact)]
"""Where a phone is always reached: one IP address and its port."""

DigestAlgorithm = Literal["MD5", "SHA-256"]

DialPermission = Literal["internal", "local", "national", "international"]
"""What a phone may dial, each class allowing the ones before it: other phones and feature
codes only; local numbers; national ones; any number. Emergency numbers are always allowed."""


class Outbound(_Frozen):
    """A trunk group's route out: where the appliance sends the INVITE for an outside number
    (the gateway's or SIP trunk's address), which prefix a phone dials before the number, and
    what the far end is shown as the caller."""

    gateway: ContactAddress
    # Digits a phone dials before the outside number ("9" in "9 0301234567"); "" for none.
    prefix: Annotated[str, Field(pattern=r"^[0-9]{0,4}$")] = "9"
    # Whether the prefix is left off the number sent to the gateway.
    strip: bool = True
    # The caller number the far end sees; None: the dialling phone's user.
    caller_id: Annotated[str, Field(pattern=_OUTSIDE_NUMBER)] | None = None
    # The far end rings this long at most; then the call is given up as not answered.
    ring_timeout: Annotated[float, Field(gt=0, le=600)] = 60.0
    # What the appliance answers a gateway's digest challenge (401/407) with. Unlike a
    # phone's, this password must be stored as it is: the appliance is the client here.
    username: Annotated[str, Field(pattern=f"^{_USER.pattern}$")] | None = None
    password: Annotated[str, Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _check_credentials(self) -> "Outbound":
        if (self.username is None) != (self.password is None):
            raise ValueError("expected both username and password (a gateway's digest "
                             "credentials) or neither")
        return self


class DialPlan(_Frozen):
    """How an outside number (prefix left off) is classed for phones' dial permissions."""

    international_prefix: Annotated[str, Field(pattern=_DIGITS)] = "00"
    national_prefix: Annotated[str, Field(pattern=_DIGITS)] = "0"
    emergency: list[Annotated[str, Field(pattern=_DIGITS)]] = Field(
        default_factory=lambda: ["112", "911"])

    @model_validator(mode="after")
    def _check(self) -> "DialPlan":
        if self.international_prefix == self.national_prefix:
            raise ValueError(f"international_prefix and national_prefix must differ; both "
                             f"are {self.national_prefix!r}")
        return self


ForwardCondition = Literal["always", "busy", "no_answer"]
"""When a call to a phone goes elsewhere: at once; when the phone is busy (on a call, or it
refused with 486); when it does not answer within `no_answer_after` (or is not reachable)."""
FORWARD_CONDITIONS: tuple[ForwardCondition, ...] = ("always", "busy", "no_answer")
_FORWARD_TARGET = r"^(\+?[0-9]{1,32}|[A-Za-z0-9_.+-]+)$"
# A ring group's `then` may also name a mailbox or a queue ("voicemail:sales", "queue:help").
_GROUP_THEN = r"^(\+?[0-9]{1,32}|[A-Za-z0-9_.+-]+|(voicemail|queue):[A-Za-z0-9_-]+)$"


class Forward(_Frozen):
    """Where calls between phones to this phone go instead (`ForwardCondition`): another
    phone's user, or an outside number as a phone dials it (the route's prefix first)."""

    always: Annotated[str, Field(pattern=_FORWARD_TARGET)] | None = None
    busy: Annotated[str, Field(pattern=_FORWARD_TARGET)] | None = None
    no_answer: Annotated[str, Field(pattern=_FORWARD_TARGET)] | None = None
    # The phone rings this long before a no-answer forwarding takes the call.
    no_answer_after: Annotated[float, Field(gt=0, le=600)] = 20.0

    def targets(self) -> dict[str, str]:
        """The set conditions and their targets."""
        found = {name: getattr(self, name) for name in FORWARD_CONDITIONS}
        return {name: target for name, target in found.items() if target is not None}


class FollowMe(_Frozen):
    """Find-me/follow-me: when the phone does not answer a call from another phone, these
    `numbers` ring in turn, each for `ring_seconds` - phones' users, and at the end an
    outside number as the phone dials it (the route's prefix first), which rings until the
    route's own ring timeout."""

    numbers: Annotated[list[Annotated[str, Field(pattern=_FORWARD_TARGET)]],
                       Field(min_length=1, max_length=3)]
    ring_seconds: Annotated[float, Field(gt=0, le=600)] = 15.0


class Phone(_Frozen):
    """A SIP phone (or a gateway's FXS port) of the appliance. A phone whose user is an agent
    id is that agent's seat.

    A phone registers, unless it has a static `contact` (a desk phone at a fixed address, a
    gateway port): then it is rung there and need never register. With `register: true` as
    well, a registration overrides the static contact while it lasts."""

    # A dumped site (a sweep's workers, a reload's comparison) names the field, not its alias.
    model_config = ConfigDict(**_Frozen.model_config, populate_by_name=True)

    user: Annotated[str, Field(pattern=_USER.pattern)]
    ha1_md5: Annotated[str, Field(pattern=_HEX32.pattern)] | None = None
    ha1_sha256: Annotated[str, Field(pattern=_HEX64.pattern)] | None = None
    # Challenges offered to this phone, preferred first; None: the site's digest_algorithms.
    digest_algorithms: Annotated[
        list[DigestAlgorithm], Field(min_length=1, max_length=2)
    ] | None = None
    contact: ContactAddress | None = None
    # `register` in the file (a BaseModel attribute has that name). None: register when
    # there is no static contact, not otherwise.
    registration: bool | None = Field(default=None, alias="register")
    # The outside numbers this phone may dial (`DialPermission`); a call centre's seats
    # usually may not call abroad.
    dial: DialPermission = "national"
    # Call forwarding set by the site; the phone's own feature codes change it.
    forward: Forward = Forward()
    # Numbers rung in turn when the phone does not answer (after its own `ring_seconds`).
    follow_me: FollowMe | None = None
    # The phone may listen to, whisper to, barge into and end the calls of agents.
    supervisor: bool = False
    # Line appearances: how many calls may ring or be up at the phone at once (call waiting);
    # one more is refused with 486. The ACD still offers its calls only to a free phone.
    lines: Annotated[int, Field(ge=1, le=16)] = 4

    @model_validator(mode="after")
    def _check_hashes(self) -> "Phone":
        if self.ha1_md5 is None and self.ha1_sha256 is None:
            raise ValueError("expected ha1_md5 or ha1_sha256 (or both): print them with "
                             "`ccbox passwd USER --realm REALM`")
        if self.contact is None and self.registration is False:
            raise ValueError("register: false needs a static contact ('address:port'), or "
                             "the phone could never be reached")
        return self

    def ha1_by_algorithm(self) -> dict[str, str]:
        found = {"MD5": self.ha1_md5, "SHA-256": self.ha1_sha256}
        return {name: value for name, value in found.items() if value is not None}

    def offered_algorithms(self, default: list[str]) -> list[str]:
        """The challenges to offer this phone, preferred first: its own digest_algorithms for
        which it has a hash (a challenge it has no hash for could only fail); without them,
        the site's `default` for which it has a hash, or else (a phone holding only a SHA-256
        hash on an MD5 site) every algorithm it has a hash for, strongest first. Empty only
        when its own digest_algorithms name no hash it has."""
        stored = self.ha1_by_algorithm()
        if self.digest_algorithms is not None:
            return [name for name in self.digest_algorithms if name in stored]
        return [name for name in default if name in stored] or sorted(stored, reverse=True)

    @property
    def registers(self) -> bool:
        """Whether the phone may register (without a static contact it must)."""
        if self.registration is not None:
            return self.registration
        return self.contact is None

    @property
    def static_contact(self) -> tuple[str, int] | None:
        """The (address, port) the phone is always reached at, or None."""
        return None if self.contact is None else parse_contact(self.contact)


class FeatureCodes(_Frozen):
    """What an agent dials from their phone to change their state, or to answer a call ringing
    at another phone: `pickup` alone takes the oldest call ringing any agent of the picker's
    queues (group pickup), `directed_pickup` followed by an agent's id the call ringing them
    (``**1002``)."""

    login: Annotated[str, Field(pattern=_FEATURE_CODE.pattern)] = "*41"
    logout: Annotated[str, Field(pattern=_FEATURE_CODE.pattern)] = "*42"
    ready: Annotated[str, Field(pattern=_FEATURE_CODE.pattern)] = "*43"
    not_ready: Annotated[str, Field(pattern=_FEATURE_CODE.pattern)] = "*44"
    pickup: Annotated[str, Field(pattern=_FEATURE_CODE.pattern)] = "*8"
    directed_pickup: Annotated[str, Field(pattern=r"[*#][*#0-9]{0,3}")] = "**"
    # Call forwarding, from any phone: the "on" code is followed by the target (*72 2001,
    # *72 90301234567), the "off" code alone.
    forward_always: Annotated[str, Field(pattern=_FEATURE_CODE.pattern)] = "*72"
    forward_always_off: Annotated[str, Field(pattern=_FEATURE_CODE.pattern)] = "*73"
    forward_busy: Annotated[str, Field(pattern=_FEATURE_CODE.pattern)] = "*90"
    forward_busy_off: Annotated[str, Field(pattern=_FEATURE_CODE.pattern)] = "*91"
    forward_no_answer: Annotated[str, Field(pattern=_FEATURE_CODE.pattern)] = "*92"
    forward_no_answer_off: Annotated[str, Field(pattern=_FEATURE_CODE.pattern)] = "*93"
    # A supervisor's phone dials these followed by an agent id (`*81` `1001`): listen to the
    # agent's call, whisper to the agent, barge in (all three talk), or end the call.
    listen: Annotated[str, Field(pattern=_FEATURE_CODE.pattern)] = "*81"
    whisper: Annotated[str, Field(pattern=_FEATURE_CODE.pattern)] = "*82"
    barge: Annotated[str, Field(pattern=_FEATURE_CODE.pattern)] = "*83"
    force_off: Annotated[str, Field(pattern=_FEATURE_CODE.pattern)] = "*84"

    @model_validator(mode="after")
    def _check_distinct(self) -> "FeatureCodes":
        codes = list(self.model_dump().values())
        if len(set(codes)) != len(codes):
            raise ValueError(f"expected different feature codes; got {codes}")
        # A code starting with one that takes a number after it would be read as that one.
        for prefix in self.followed_by_number():
            clash = [code for code in codes if code != prefix and code.startswith(prefix)]
            if clash:
                raise ValueError(f"{prefix} is followed by a number, so no other code may start "
                                 f"with it; got {clash[0]}")
        return self

    def followed_by_number(self) -> list[str]:
        """The codes dialled with a number after them: an agent's id (pickup, supervision), a
        forwarding target."""
        return [self.directed_pickup, self.forward_always, self.forward_busy,
                self.forward_no_answer, self.listen, self.whisper, self.barge, self.force_off]

    def forwarding(self) -> dict[str, tuple[str, bool]]:
        """The forwarding codes: (condition, whether it turns forwarding on), by code."""
        return {self.forward_always: ("always", True), self.forward_always_off: ("always", False),
                self.forward_busy: ("busy", True), self.forward_busy_off: ("busy", False),
                self.forward_no_answer: ("no_answer", True),
                self.forward_no_answer_off: ("no_answer", False)}


_IN_CALL_CODE = r"[*#][0-9]{1,3}"


class InCallCodes(_Frozen):
    """Keys an agent presses during a customer's call on a phone without transfer or hold
    buttons (an analog phone behind a gateway, a headset); Asterisk's codes by default. The
    blind and attended transfer codes are followed by the target (a queue's name or number, an
    agent, the park number, a room ...) and `#`, or `digit_timeout` seconds without a key.
    While consulting (after `attended_transfer`) only the `consult_*` codes count; at other
    times only the first four."""

    blind_transfer: Annotated[str, Field(pattern=_IN_CALL_CODE)] = "#1"
    attended_transfer: Annotated[str, Field(pattern=_IN_CALL_CODE)] = "*2"
    park: Annotated[str, Field(pattern=_IN_CALL_CODE)] = "#72"
    # Asterisk has no hold key; its *0 (disconnect) is not offered here.
    hold: Annotated[str, Field(pattern=_IN_CALL_CODE)] = "*0"
    consult_abort: Annotated[str, Field(pattern=_IN_CALL_CODE)] = "*1"
    consult_complete: Annotated[str, Field(pattern=_IN_CALL_CODE)] = "*2"
    consult_three_way: Annotated[str, Field(pattern=_IN_CALL_CODE)] = "*3"
    consult_swap: Annotated[str, Field(pattern=_IN_CALL_CODE)] = "*4"
    digit_timeout: Annotated[float, Field(gt=0, le=30)] = 3.0

    @model_validator(mode="after")
    def _check(self) -> "InCallCodes":
        _check_prefix_free([self.blind_transfer, self.attended_transfer, self.park, self.hold])
        _check_prefix_free([self.consult_abort, self.consult_complete, self.consult_three_way,
                            self.consult_swap])
        return self

    def talking(self) -> dict[str, str]:
        """The codes of a call in conversation, by the command each is."""
        return {self.blind_transfer: "blind", self.attended_transfer: "attended",
                self.park: "park", self.hold: "hold"}

    def consulting(self) -> dict[str, str]:
        """The codes while the agent consults a colleague, by the command each is."""
        return {self.consult_abort: "abort", self.consult_complete: "complete",
                self.consult_three_way: "three_way", self.consult_swap: "swap"}


def _check_prefix_free(codes: list[str]) -> None:
    """A code that starts another would be taken before the longer one could be keyed."""
    for code in codes:
        clash = [other for other in codes if other != code and other.startswith(code)]
        if clash or codes.count(code) > 1:
            raise ValueError(f"in-call codes used together must differ and none may start "
                             f"another; got {code} and {(clash or [code])[0]}")


class Park(_Frozen):
    """Call park: an agent refers (blind transfer) their caller to `number` and the call
    waits, hearing music, in the lowest free slot of `first_slot` .. `first_slot + slots - 1`;
    any phone dialling the slot's number takes it. After `timeout` seconds the parker's phone
    is rung again (for their ring timeout); unanswered, the call goes back to the queue it came
    from, else to `fallback_queue`, else it is parked again."""

    number: Annotated[str, Field(pattern=r"[0-9*#]{1,16}")] = "700"
    first_slot: Annotated[int, Field(ge=1, le=10**9)] = 701
    slots: Annotated[int, Field(ge=1, le=1000)] = 20
    timeout: Annotated[float, Field(gt=0, le=3600)] = 45.0
    fallback_queue: str | None = None

    @model_validator(mode="after")
    def _check(self) -> "Park":
        if self.number.isdigit() and int(self.number) in self.numbers():
            raise ValueError(f"the park number {self.number} is one of its slots")
        return self

    def numbers(self) -> range:
        return range(self.first_slot, self.first_slot + self.slots)


class ConferenceRoom(_Frozen):
    """A conference room phones reach by dialling its `number`; with a `pin`, a member
    joins once they key it in (then # or the PIN's length); every member hears all others."""

    number: Annotated[str, Field(pattern=r"[0-9]{2,12}")]
    pin: Annotated[str, Field(pattern=r"[0-9]{1,12}")] | None = None


class RingGroup(_Frozen):
    """A number phones dial that rings several phones (`members`, agent ids): all at once or
    in turn (each for `ring_seconds`; all at once: `ring_seconds` in all). The first to
    answer takes the call and the others stop ringing. When nobody answers (or nobody can
    take a call), the call goes on to `then` - a phone or an outside number as dialled, or,
    for a caller a trunk's route sent here, `voicemail:BOX` (a mailbox takes a message) or
    `queue:NAME` (the caller waits there as any queued caller) - or, without one (or with a
    mailbox or queue for a phone's call), the caller hears 480."""

    number: Annotated[str, Field(pattern=r"^[0-9]{2,12}$")]
    members: Annotated[list[Annotated[str, Field(pattern=f"^{_USER.pattern}$")]],
                       Field(min_length=1, max_length=32)]
    strategy: Literal["all", "in_turn"] = "all"
    ring_seconds: Annotated[float, Field(gt=0, le=600)] = 20.0
    then: Annotated[str, Field(pattern=_GROUP_THEN)] | None = None

    @model_validator(mode="after")
    def _check(self) -> "RingGroup":
        if len(set(self.members)) != len(self.members):
            raise ValueError(f"members must differ; got {self.members}")
        return self


class AuthFailures(_Frozen):
    """Limits on failed authentications (wrong or malformed credentials), counted per source
    address and per user: from `slow_after` failures on, answers are delayed by `slow_delay`
    seconds; at `block_after` the source or user is refused (403, credentials unread) for
    `block_for` seconds. A count is forgotten after `window` seconds without a failure."""

    slow_after: Annotated[int, Field(ge=1)] = 5
    slow_delay: Annotated[float, Field(ge=0, le=30)] = 2.0
    block_after: Annotated[int, Field(ge=1)] = 20
    block_for: Annotated[float, Field(gt=0)] = 300.0
    window: Annotated[float, Field(gt=0)] = 600.0
    # Sources and users tracked, each; the least recently active are forgotten first.
    max_tracked: Annotated[int, Field(ge=1)] = 10_000
    # Answers held back at once; beyond this a slowed request is refused at once.
    max_delayed: Annotated[int, Field(ge=1)] = 1_000

    @model_validator(mode="after")
    def _check(self) -> "AuthFailures":
        if self.block_after < self.slow_after:
            raise ValueError(f"block_after ({self.block_after}) must not be below slow_after "
                             f"({self.slow_after})")
        return self


class RequestLimit(_Frozen):
    """A limit per source address (host and port) on requests that are not a call's own
    (all but INVITE, ACK, BYE and CANCEL, and PRACK, UPDATE, INFO, REFER and NOTIFY inside a
    dialog): `burst` at once, `rate` a second on average. Beyond it requests get 503 with
    Retry-After; a source that keeps sending is answered at about `rate` a second and the rest
    of its requests are dropped unanswered once it owes `drop_after`. `exempt` sources (as
    trunk peers are written: an address, `address:port` or a network; an SBC or a balancer in
    front of many phones) are never limited."""

    enabled: bool = True
    rate: Annotated[float, Field(gt=0, le=1_000_000)] = 100.0
    burst: Annotated[int, Field(ge=1, le=1_000_000)] = 400
    drop_after: Annotated[int, Field(ge=1, le=1_000_000)] = 200
    # Sources tracked at once; the least recently active are forgotten first.
    max_tracked: Annotated[int, Field(ge=1)] = 10_000
    exempt: list[Annotated[str, AfterValidator(_checked_peer)]] = Field(
        default_factory=list)


class Sip(_Frozen):
    """The live appliance's SIP settings."""

    realm: Annotated[str, Field(min_length=1, pattern=r"[A-Za-z0-9.-]+")] = "ccbox"
    # Calls in the appliance beyond which new ones get 503 with Retry-After, so that calls
    # already up keep their quality.
    max_calls: Annotated[int, Field(ge=1)] = 2000
    retry_after: Annotated[int, Field(ge=1, le=3600)] = 30
    # RFC 4028 session timers: a call whose refresh fails is ended, so a lost BYE cannot
    # leave it up for ever. The RFC's floor for Min-SE is 90 s; lower values are for lab tests.
    session_expires: Annotated[int, Field(ge=30)] = 1800
    min_se: Annotated[int, Field(ge=30)] = 90
    # A phone dialling another phone hears it ring this long at most, then 480.
    extension_ring_timeout: Annotated[float, Field(gt=0, le=600)] = 30.0
    # "register": an agent is logged in (ready) when their phone registers and logged out
    # when its last registration ends; "static": every agent of the file is logged in from
    # the start (a phone that is not registered declines the call, and the ACD makes its
    # agent not ready); "manual": only by feature code.
    agent_login: Literal["register", "static", "manual"] = "register"
    # Digest challenges offered, preferred first (RFC 8760); a phone entry may say otherwise.
    # MD5 alone by default: baresip 1.0 gives up on a 401 with any other challenge in it, and
    # SIPp knows only MD5. Phones that know SHA-256 say so in their own entry.
    digest_algorithms: Annotated[
        list[DigestAlgorithm], Field(min_length=1, max_length=2)
    ] = Field(default_factory=lambda: ["MD5"])
    # Seconds between OPTIONS probes of each trunk peer given as one address; 0: no probes.
    probe_interval: Annotated[float, Field(ge=0)] = 60.0
    # Seconds an E1 span a gateway says is down (a call out refused 480/502/503 with Q.850
    # cause 27 or 38) takes no calls out before it is tried again.
    span_retry: Annotated[float, Field(gt=0)] = 60.0
    feature_codes: FeatureCodes = FeatureCodes()
    park: Park = Park()
    in_call_codes: InCallCodes = InCallCodes()
    auth_failures: AuthFailures = AuthFailures()
    request_limit: RequestLimit = RequestLimit()
    # Contacts one phone may register at once (a registrar must not grow without bound).
    max_contacts: Annotated[int, Field(ge=1, le=100)] = 10
    dial_plan: DialPlan = DialPlan()
    phones: list[Phone] = Field(default_factory=list)
    conferences: list[ConferenceRoom] = Field(default_factory=list)
    ring_groups: list[RingGroup] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> "Sip":
        _check_ring_groups(self)
        numbers = [room.number for room in self.conferences]
        taken = set(numbers) & {phone.user for phone in self.phones}
        if len(set(numbers)) != len(numbers) or taken:
            raise ValueError(f"conference numbers must differ from each other and from the "
                             f"phones' users; got {numbers}")
        if self.min_se > self.session_expires:
            raise ValueError(f"min_se ({self.min_se}) must not exceed session_expires "
                             f"({self.session_expires})")
        seen: set[str] = set()
        contacts: dict[tuple[str, int], str] = {}
        for index, phone in enumerate(self.phones):
            if phone.user in seen:
                raise ValueError(f"phones[{index}]: duplicate user {phone.user!r}")
            seen.add(phone.user)
            if not phone.offered_algorithms(self.digest_algorithms):
                raise ValueError(f"phones[{index}]: no hash for its digest_algorithms "
                                 f"({', '.join(phone.digest_algorithms or [])}); expected "
                                 "ha1_md5 or ha1_sha256 to match them")
            address = phone.static_contact
            if address is not None and address in contacts:
                raise ValueError(f"phones[{index}].contact: {phone.contact} is already the "
                                 f"contact of {contacts[address]!r}")
            if address is not None:
                contacts[address] = phone.user
        return self


def _check_ring_groups(sip: Sip) -> None:
    """Ring group numbers are numbers of their own; their members and targets are phones."""
    users = {phone.user for phone in sip.phones}
    taken = users | {room.number for room in sip.conferences}
    for index, group in enumerate(sip.ring_groups):
        if group.number in taken:
            raise ValueError(f"ring_groups[{index}].number: expected a number no phone, "
                             f"conference room or other ring group has; got {group.number!r}")
        taken.add(group.number)
        strangers = [member for member in group.members if member not in users]
        if strangers:
            raise ValueError(f"ring_groups[{index}].members: expected phones' users (of "
                             f"sip.phones); got {', '.join(map(repr, strangers))}")


class Recording(_Frozen):
    """Call recording: every answered call, both parties mixed into one WAV (and, with
    `split`, one more file per party). Before the disk fills, recording stops cleanly and an
    alarm is raised; old recordings are removed by age and by free space."""

    enabled: bool = True
    # Relative to the folder the appliance runs in, unless absolute.
    folder: Annotated[str, Field(min_length=1)] = "recordings"
    split: bool = False
    # Below this much free space no recording starts and those running stop (alarm).
    stop_below_mb: Annotated[int, Field(ge=1)] = 500
    # Recording starts again once this much is free.
    resume_above_mb: Annotated[int, Field(ge=1)] = 1000
    # The clean-up removes recordings older than this (None: keep by age) ...
    retention_days: Annotated[int, Field(ge=1)] | None = 90
    # ... and, oldest first, as many as it takes to keep this much free.
    keep_free_mb: Annotated[int, Field(ge=1)] = 2000

    @model_validator(mode="after")
    def _check(self) -> "Recording":
        if self.resume_above_mb < self.stop_below_mb:
            raise ValueError(f"resume_above_mb ({self.resume_above_mb}) must not be below "
                             f"stop_below_mb ({self.stop_below_mb})")
        return self


class Media(_Frozen):
    """RTP, prompts and recording in the live appliance."""

    # Local UDP ports for relayed media: per call, two even RTP ports and the odd RTCP port
    # above each (four sockets a call).
    rtp_port_min: Annotated[int, Field(ge=1024, le=65534)] = 10000
    rtp_port_max: Annotated[int, Field(ge=1025, le=65535)] = 20000
    # A party that sends no RTP for this long is taken as gone and the call is ended
    # (the other half of lost-BYE protection). Held calls are not timed.
    media_timeout: Annotated[float, Field(ge=1)] = 60.0
    # How a queued caller hears prompts and music: "answer" (200 at once: the caller may be
    # charged from then on, and may hang up with BYE) or "early_media" (183 with SDP; the 200
    # comes when an agent answers, for trunks where answering a waiting call costs the caller).
    queued_callers: Literal["answer", "early_media"] = "answer"
    language: Literal["en", "zh"] = "en"
    # A folder of prompt WAVs (8 kHz mono 16-bit, named as `ccbox prompts` writes them),
    # with every prompt the IVR's flows play too; another language the flows speak in its
    # sub-folder (`zh/`). None: the default set of each language (and `ivr.prompts` spoken
    # from their texts), built under the state folder.
    prompts: str | None = None
    # Music on hold (8 kHz mono 16-bit WAV); None: the default track.
    music: str | None = None
    recording: Recording = Recording()

    @model_validator(mode="after")
    def _check(self) -> "Media":
        if self.rtp_port_max - self.rtp_port_min < 3:
            raise ValueError(f"rtp_port_min..rtp_port_max ({self.rtp_port_min}.."
                             f"{self.rtp_port_max}) must hold at least one call's two ports")
        return self

    @property
    def rtp_ports(self) -> range:
        return range(self.rtp_port_min, self.rtp_port_max + 1)
