"""The B2BUA's side towards phones: who they are (credentials, digest offers, static
contacts), which requests are theirs, and authentication within the limits on failures.
A part of `B2bua`, which provides the layer, timers and the request's source it uses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance.pbx.b2bua.wire import user_of
from appliance.pbx.sip.authlimit import AuthLimits, LimitSettings, Verdict
from appliance.pbx.sip.digest import AuthResult, DigestAuthenticator, make_tagged_response
from appliance.pbx.sip.message import Request, Response
from appliance.pbx.sip.registrar import Registrar

if TYPE_CHECKING:
    from appliance.config.live import Sip


class PhoneSide:
    """Phones' identities and authentication, for `B2bua`."""

    _delayed_answers = 0  # answers to slowed-down authentications, not yet sent

    def _apply_phones(self, sip: Sip) -> None:
        """Take the phones and digest settings of `sip`. Bindings, used nonces and failure
        counts survive a reload (the same secret keeps issued nonces valid)."""
        credentials = {phone.user: phone.ha1_by_algorithm() for phone in sip.phones}
        offers = {phone.user: phone.offered_algorithms(sip.digest_algorithms)
                  for phone in sip.phones}
        authenticator = DigestAuthenticator(sip.realm, credentials, self.secret, self.rng,
                                            algorithms=sip.digest_algorithms, offers=offers)
        static_only = frozenset(phone.user for phone in sip.phones if not phone.registers)
        if hasattr(self, "registrar"):
            self.registrar.authenticator = authenticator
            self.registrar.static_only = static_only
        else:
            self.registrar = Registrar(authenticator, static_only=static_only)
        self.registrar.max_bindings = sip.max_contacts
        failures = sip.auth_failures
        limits = LimitSettings(failures.slow_after, failures.block_after, failures.window,
                               failures.block_for, failures.max_tracked)
        if not hasattr(self, "auth_limits") or self.auth_limits.settings != limits:
            self.auth_limits = AuthLimits(limits)
        # Phones always reachable at a fixed address:port, and who is at each such address.
        self._static_contacts = {phone.user: phone.static_contact for phone in sip.phones
                                 if phone.static_contact is not None}
        self._phone_at = {address: user for user, address in self._static_contacts.items()}

    def _log_in_static_phones(self, now: float) -> None:
        """With login by registration, an agent whose phone has a static contact is always
        reachable, so logged in (ready) as if their phone had registered."""
        for agent in sorted(self._static_contacts):
            if agent in self._agents and self.cc.agent_status(agent) is not None:
                self.cc.agent_login(now, agent, ready=True)

    def _from_phone(self, request: Request) -> bool:
        """A request from a phone's static contact (address and port), or one carrying
        credentials for our realm, is a phone's, even from a trunk peer's address: it must
        then authenticate, and wrong credentials are refused, never taken for the trunk."""
        return (self._source in self._phone_at
                or self.registrar.authenticator.has_credentials(request))

    def _phone_is_at(self, user: str | None, now: float) -> bool:
        """Whether this request comes from where `user`'s phone is known to be (a live
        registration's source, or its static contact). A user refused for failures from
        elsewhere still gets through from there: guesses spread over many addresses must not
        shut out the real phone. Its source is still limited like any other."""
        if user is None:
            return False
        source = self._source
        return (self._static_contacts.get(user) == source
                or any(binding.source == source for binding in self.registrar.lookup(user, now)))

    def _authenticate(self, request: Request, now: float) -> AuthResult | None:
        """`verify()` within the limits on failed authentications. None when the request
        has been answered here: a refused source or user gets 403 at once, a slowed one its
        challenge or refusal late. A success is answered by the caller, never delayed."""
        authenticator = self.registrar.authenticator
        host = self._source[0]
        named = (user_of(request.headers.get("From")), authenticator.claimed_user(request))
        users = [user for user in named if not self._phone_is_at(user, now)]
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
        if self._delayed_answers >= self.sip.auth_failures.max_delayed:
            response = make_tagged_response(request, 403, "Forbidden", self.rng)
            self.layer.send_response(response, now)
            return
        self._delayed_answers += 1
        self.deadlines.schedule(now + self.sip.auth_failures.slow_delay, self._send_late,
                                response)

    def _send_late(self, now: float, response: Response) -> None:
        self._delayed_answers -= 1
        self.layer.send_response(response, now)
