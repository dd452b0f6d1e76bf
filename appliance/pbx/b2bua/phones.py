"""Phones as the B2BUA knows them: who they are (credentials, digest offers, static contacts),
where to ring them, which requests are theirs, and authentication within the limits on
failures."""

from __future__ import annotations

from collections.abc import Sequence
from random import Random
from typing import TYPE_CHECKING

from appliance.clock import Deadlines
from appliance.net import Address, hostport
from appliance.pbx.b2bua.wire import user_of
from appliance.pbx.sip.authlimit import AuthLimits, LimitSettings, Verdict
from appliance.pbx.sip.digest import AuthResult, DigestAuthenticator, ha1, make_tagged_response
from appliance.pbx.sip.layer import TransactionLayer
from appliance.pbx.sip.message import Request, Response
from appliance.pbx.sip.registrar import Registrar

if TYPE_CHECKING:
    from appliance.config.gateways import SiteGateway
    from appliance.config.live import Sip
    from appliance.pbx.b2bua.seatports import SeatPorts


class Phones:
    """Phones' identities, registrations and authentication. Bindings, used nonces and
    failure counts survive `apply` (the same secret keeps issued nonces valid)."""

    def __init__(self, sip: Sip, secret: bytes, rng: Random, layer: TransactionLayer,
                 deadlines: Deadlines) -> None:
        self.secret = secret
        self.rng = rng
        self.layer = layer
        self.deadlines = deadlines
        self.delayed_answers = 0  # answers to slowed-down authentications, not yet sent
        self.registrar = Registrar(self._authenticator(sip))
        self.seats: SeatPorts | None = None  # agents whose phone is a gateway port, once set
        self.auth_limits = AuthLimits(_limit_settings(sip))
        self._take(sip, self.registrar.authenticator)

    def apply(self, sip: Sip, gateways: Sequence[SiteGateway] = ()) -> None:
        """Take the phones and digest settings of `sip`, and the accounts `gateways` register
        as (`SiteGateway.accounts`) beside the phones' users."""
        self._take(sip, self._authenticator(sip, gateways))
        limits = _limit_settings(sip)
        if self.auth_limits.settings != limits:
            self.auth_limits = AuthLimits(limits)

    def _authenticator(self, sip: Sip,
                       gateways: Sequence[SiteGateway] = ()) -> DigestAuthenticator:
        credentials = {phone.user: phone.ha1_by_algorithm() for phone in sip.phones}
        offers = {phone.user: phone.offered_algorithms(sip.digest_algorithms)
                  for phone in sip.phones}
        for gateway in gateways:
            for account in gateway.accounts():
                credentials[account] = _gateway_hashes(gateway, account, sip.realm)
                offers[account] = [name for name in sip.digest_algorithms
                                   if name in credentials[account]] or sorted(
                                       credentials[account], reverse=True)
        return DigestAuthenticator(sip.realm, credentials, self.secret, self.rng,
                                   algorithms=sip.digest_algorithms, offers=offers)

    def _take(self, sip: Sip, authenticator: DigestAuthenticator) -> None:
        self.sip = sip
        registrar = self.registrar
        registrar.authenticator = authenticator
        registrar.static_only = frozenset(phone.user for phone in sip.phones
                                          if not phone.registers)
        registrar.max_bindings = sip.max_contacts
        # Phones always reachable at a fixed address:port, and who is at each such address.
        self.static_contacts = {phone.user: phone.static_contact for phone in sip.phones
                                if phone.static_contact is not None}
        self.phone_at = {address: user for user, address in self.static_contacts.items()}
        self._lines = {phone.user: phone.lines for phone in sip.phones}

    def lines(self, user: str) -> int:
        """How many calls may ring or be up at `user`'s phone at once (0: no such phone); an
        analog phone on a seat's port has one line."""
        if self.seats is not None and user in self.seats:
            return 1
        return self._lines.get(user, 0)

    def fixed_users(self) -> list[str]:
        """Users always reachable without registering: static contacts and seats on gateway
        ports, sorted."""
        seats = () if self.seats is None else self.seats.seats
        return sorted({*self.static_contacts, *seats})

    def target(self, agent: str, now: float) -> tuple[str, Address] | None:
        """Where to ring `agent`: the Request-URI and the address to send to. A seat on a
        gateway's station port is its port (None while out of service); else a live
        registration wins over a static contact; None when the phone is nowhere."""
        if self.seats is not None and agent in self.seats:
            return self.seats.target(agent)
        bindings = self.registrar.lookup(agent, now)
        if bindings:
            return bindings[0].contact, bindings[0].source
        static = self.static_contacts.get(agent)
        if static is None:
            return None
        return f"sip:{agent}@{hostport(static)}", static

    def from_phone(self, request: Request, source: Address) -> bool:
        """Whether a phone sent `request`: it comes from a phone's static contact (address and
        port), or carries credentials for our realm, even from a trunk peer's address. It must
        then authenticate, and wrong credentials are refused, never taken for the trunk."""
        return (source in self.phone_at
                or self.registrar.authenticator.has_credentials(request))

    def _is_at(self, user: str | None, source: Address, now: float) -> bool:
        """Whether `source` is where `user`'s phone is known to be (a live registration's
        source, or its static contact). A user refused for failures from elsewhere still gets
        through from there: guesses spread over many addresses must not shut out the real
        phone. Its source is still limited like any other."""
        if user is None:
            return False
        return (self.static_contacts.get(user) == source
                or any(binding.source == source for binding in self.registrar.lookup(user, now)))

    def authenticate(self, request: Request, source: Address, now: float) -> AuthResult | None:
        """`verify()` within the limits on failed authentications. None when the request
        has been answered here: a refused source or user gets 403 at once, a slowed one its
        challenge or refusal late. A success is answered by the caller, never delayed."""
        authenticator = self.registrar.authenticator
        host = source[0]
        named = (user_of(request.headers.get("From")), authenticator.claimed_user(request))
        users = [user for user in named if not self._is_at(user, source, now)]
        verdict = self.auth_limits.verdict(host, users, now)
        if verdict is Verdict.REFUSE:
            self.layer.send_response(make_tagged_response(request, 403, "Forbidden", self.rng),
                                     now)
            return None
        result = authenticator.verify(request, now)
        if result.failed:
            self.auth_limits.failed(host, result.claimed, now)
        elif result.user is not None:
            self.auth_limits.succeeded(result.user)
        if result.response is None:
            return result
        if verdict is Verdict.SLOW:
            self._answer_late(request, result.response, now)
            return None
        return result

    def _answer_late(self, request: Request, response: Response, now: float) -> None:
        if self.delayed_answers >= self.sip.auth_failures.max_delayed:
            response = make_tagged_response(request, 403, "Forbidden", self.rng)
            self.layer.send_response(response, now)
            return
        self.delayed_answers += 1
        self.deadlines.schedule(now + self.sip.auth_failures.slow_delay, self._send_late,
                                response)

    def _send_late(self, now: float, response: Response) -> None:
        self.delayed_answers -= 1
        self.layer.send_response(response, now)


def _gateway_hashes(gateway: SiteGateway, account: str, realm: str) -> dict[str, str]:
    """The ha1 hashes `account` of `gateway` is checked against, by digest algorithm."""
    registration = gateway.registration
    assert registration is not None
    if registration.password is None:
        return registration.hashes()
    return {name: ha1(account, realm, registration.password, name)
            for name in ("MD5", "SHA-256")}


def _limit_settings(sip: Sip) -> LimitSettings:
    failures = sip.auth_failures
    return LimitSettings(failures.slow_after, failures.block_after, failures.window,
                         failures.block_for, failures.max_tracked)
