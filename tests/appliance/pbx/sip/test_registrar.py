"""The registrar (RFC 3261 10.3): bindings, expiry, ordering and the changes it reports."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from appliance.pbx.sip import (
    Headers,
    Request,
    Response,
    digest_response,
    format_auth_params,
    parse_auth_params,
    parse_name_addr,
)
from appliance.pbx.sip.digest import ALGORITHMS, DigestAuthenticator, ha1
from appliance.pbx.sip.registrar import Binding, Change, Registrar

REALM = "example.com"
URI = "sip:example.com"
SOURCE = ("203.0.113.7", 41234)
USERS = ("alice", "bob")


def password(user: str) -> str:
    return f"{user} secret"


def authenticator() -> DigestAuthenticator:
    credentials = {user: {name: ha1(user, REALM, password(user), name) for name in ALGORITHMS}
                   for user in USERS}
    return DigestAuthenticator(REALM, credentials, b"site secret", random.Random(3))


def registrar(**kwargs: int) -> Registrar:
    return Registrar(authenticator(), **kwargs)


def authorization(challenge: dict[str, str], user: str, nc: int, method: str) -> str:
    """What a client sends, computed from the password with auth.digest_response."""
    nc_text, cnonce = f"{nc:08x}", f"cn{nc}"
    response = digest_response(challenge["algorithm"], user, challenge["realm"], password(user),
                               method, URI, challenge["nonce"], nc=nc_text, cnonce=cnonce,
                               qop="auth")
    return format_auth_params("Digest", {
        "username": user, "realm": challenge["realm"], "nonce": challenge["nonce"], "uri": URI,
        "algorithm": challenge["algorithm"], "opaque": challenge["opaque"], "qop": "auth",
        "nc": nc_text, "cnonce": cnonce, "response": response,
    })


class Phone:
    """A user agent that registers, answering a 401 once with its password."""

    def __init__(self, user: str, call_id: str | None = None) -> None:
        self.user = user
        self.auth_user = user
        self.call_id = call_id or f"{user}-1@10.0.0.5"
        self.cseq = 0
        self.challenge: dict[str, str] | None = None
        self.nc = 0

    def request(self, contacts: Sequence[str] = (), *, expires: int | str | None = None,
                to_user: str | None = None, cseq: int | None = None,
                method: str = "REGISTER") -> Request:
        if cseq is None:
            self.cseq += 1
            cseq = self.cseq
        headers = Headers([
            ("Via", f"SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK{cseq}"),
            ("Max-Forwards", "70"),
            ("To", f"<sip:{to_user or self.user}@example.com>"),
            ("From", f"<sip:{self.user}@example.com>;tag=a73kszlfl"),
            ("Call-ID", self.call_id),
            ("CSeq", f"{cseq} {method}"),
            *(("Contact", contact) for contact in contacts),
        ])
        if expires is not None:
            headers = headers.add("Expires", str(expires))
        if self.challenge is not None:
            self.nc += 1
            headers = headers.add("Authorization", authorization(
                self.challenge, self.auth_user, self.nc, method))
        return Request(method, URI, headers)

    def send(self, target: Registrar, contacts: Sequence[str] = (), now: float = 0.0, *,
             source: tuple[str, int] = SOURCE, **kwargs: Any) -> Response:
        response = target.handle(self.request(contacts, **kwargs), source, now)
        if response.status == 401:
            _, self.challenge = parse_auth_params(response.headers.get_all("WWW-Authenticate")[0])
            self.nc = 0
            response = target.handle(self.request(contacts, **kwargs), source, now)
        return response


def contacts_of(response: Response) -> list[str]:
    return response.headers.get_all("Contact")


def contact(n: int, user: str = "alice") -> str:
    return f"sip:{user}@10.0.0.{n}:5060"


# --- authentication ----------------------------------------------------------------------------

def test_unauthenticated_register_is_challenged_and_binds_nothing() -> None:
    reg = registrar()
    response = reg.handle(Phone("alice").request([f"<{contact(1)}>"]), SOURCE, 0.0)
    assert response.status == 401
    assert parse_name_addr(response.headers.get("To") or "").tag
    assert reg.lookup("alice", 0.0) == [] and reg.take_changes() == []


def test_to_user_must_be_the_authenticated_user() -> None:
    reg = registrar()
    response = Phone("alice").send(reg, [f"<{contact(1)}>"], to_user="bob")
    assert (response.status, response.reason) == (403, "Forbidden")
    assert reg.lookup("bob", 0.0) == [] and reg.lookup("alice", 0.0) == []


def test_a_user_cannot_register_with_someone_elses_password() -> None:
    reg = registrar()
    phone = Phone("alice")
    phone.auth_user = "bob"
    assert phone.send(reg, [f"<{contact(1)}>"]).status == 403


def test_other_methods_are_not_allowed() -> None:
    response = registrar().handle(Phone("alice").request(method="OPTIONS"), SOURCE, 0.0)
    assert response.status == 405 and response.headers.get("Allow") == "REGISTER"


# --- registering -------------------------------------------------------------------------------

def test_register_binds_the_contact_with_its_source() -> None:
    reg = registrar()
    phone = Phone("alice")
    response = phone.send(reg, [f"<{contact(1)}>"], now=100.0)
    assert (response.status, response.reason) == (200, "OK")
    assert contacts_of(response) == [f"<{contact(1)}>;expires=3600"]
    assert parse_name_addr(response.headers.get("To") or "").tag
    assert response.headers.get("Call-ID") == phone.call_id
    assert "Date" not in response.headers
    assert reg.lookup("alice", 100.0) == [
        Binding("alice", contact(1), 3700.0, SOURCE, phone.call_id, phone.cseq, 1.0, 100.0)]
    assert reg.take_changes() == [Change("alice", True)]
    assert reg.take_changes() == []


def test_expires_header_contact_param_and_default() -> None:
    reg = registrar()
    response = Phone("alice").send(
        reg, [f"<{contact(1)}>;expires=120", f"<{contact(2)}>"], expires=600)
    assert sorted(contacts_of(response)) == [
        f"<{contact(1)}>;expires=120", f"<{contact(2)}>;expires=600"]


@pytest.mark.parametrize(("asked", "granted"), [
    (7200, 7200), (7201, 7200), (10**30, 7200), (60, 60)])
def test_expires_is_clamped_to_the_maximum(asked: int, granted: int) -> None:
    response = Phone("alice").send(registrar(), [f"<{contact(1)}>;expires={asked}"])
    assert contacts_of(response) == [f"<{contact(1)}>;expires={granted}"]


@pytest.mark.parametrize("contacts,expires", [
    ([f"<{contact(1)}>;expires=59"], None),
    ([f"<{contact(1)}>"], 1),
    ([f"<{contact(1)}>;expires=3600", f"<{contact(2)}>;expires=30"], None),
])
def test_too_brief_an_interval_gets_423_and_changes_nothing(
    contacts: list[str], expires: int | None
) -> None:
    reg = registrar()
    response = Phone("alice").send(reg, contacts, expires=expires)
    assert (response.status, response.reason) == (423, "Interval Too Brief")
    assert response.headers.get("Min-Expires") == "60"
    assert reg.lookup("alice", 0.0) == [] and reg.take_changes() == []


def test_refresh_keeps_one_binding_and_reports_no_change() -> None:
    reg = registrar()
    phone = Phone("alice")
    phone.send(reg, [f"<{contact(1)}>"], now=0.0, source=("198.51.100.1", 5060))
    reg.take_changes()
    response = phone.send(reg, [f"<{contact(1)}>;expires=1800"], now=1000.0)
    assert contacts_of(response) == [f"<{contact(1)}>;expires=1800"]
    (binding,) = reg.lookup("alice", 1000.0)
    assert (binding.expires_at, binding.source, binding.updated_at) == (2800.0, SOURCE, 1000.0)
    assert reg.take_changes() == []


def test_the_same_contact_written_differently_is_one_binding() -> None:
    reg = registrar()
    phone = Phone("alice")
    phone.send(reg, ["<SIP:alice@PC.Example.com;transport=udp;ob>"])
    phone.send(reg, ["<sip:alice@pc.example.com;OB;transport=udp>;expires=600"])
    (binding,) = reg.lookup("alice", 0.0)
    assert binding.contact == "sip:alice@pc.example.com;OB;transport=udp"
    phone.send(reg, ["<sip:Alice@pc.example.com;transport=udp;ob>"])
    phone.send(reg, ["<sip:alice@pc.example.com:5060;transport=udp;ob>"])
    assert len(reg.lookup("alice", 0.0)) == 3


def test_response_lists_every_binding_with_remaining_seconds() -> None:
    reg = registrar()
    Phone("alice", "first").send(reg, [f"<{contact(1)}>;q=0.5"], now=0.0)
    response = Phone("alice", "second").send(reg, [f"<{contact(2)}>;expires=600"], now=100.5)
    assert contacts_of(response) == [
        f"<{contact(2)}>;expires=600", f"<{contact(1)}>;expires=3500;q=0.5"]


def test_query_without_contact_lists_bindings_and_changes_nothing() -> None:
    reg = registrar()
    phone = Phone("alice")
    phone.send(reg, [f"<{contact(1)}>"], now=0.0)
    reg.take_changes()
    response = phone.send(reg, now=10.0)
    assert response.status == 200
    assert contacts_of(response) == [f"<{contact(1)}>;expires=3590"]
    assert reg.take_changes() == []


# --- removing ----------------------------------------------------------------------------------

def test_expires_zero_removes_a_binding() -> None:
    reg = registrar()
    phone = Phone("alice")
    phone.send(reg, [f"<{contact(1)}>", f"<{contact(2)}>"])
    response = phone.send(reg, [f"<{contact(1)}>;expires=0"])
    assert contacts_of(response) == [f"<{contact(2)}>;expires=3600"]
    assert reg.take_changes() == [Change("alice", True)]
    response = phone.send(reg, [f"<{contact(2)}>"], expires=0)
    assert response.status == 200 and contacts_of(response) == []
    assert reg.take_changes() == [Change("alice", False)]


def test_removing_an_unknown_contact_is_harmless() -> None:
    reg = registrar()
    response = Phone("alice").send(reg, [f"<{contact(1)}>;expires=0"])
    assert response.status == 200 and reg.take_changes() == []


def test_wildcard_removes_all_bindings() -> None:
    reg = registrar()
    phone = Phone("alice")
    phone.send(reg, [f"<{contact(1)}>", f"<{contact(2)}>"])
    Phone("bob").send(reg, [f"<{contact(1, 'bob')}>"])
    response = phone.send(reg, ["*"], expires=0)
    assert response.status == 200 and contacts_of(response) == []
    assert reg.lookup("alice", 0.0) == [] and len(reg.lookup("bob", 0.0)) == 1
    assert reg.take_changes() == [Change("alice", True), Change("bob", True),
                                  Change("alice", False)]


@pytest.mark.parametrize("contacts,expires", [
    (["*"], None),
    (["*"], 3600),
    (["*", f"<{contact(1)}>"], 0),
])
def test_wildcard_needs_expires_zero_and_no_other_contact(
    contacts: list[str], expires: int | None
) -> None:
    reg = registrar()
    phone = Phone("alice")
    phone.send(reg, [f"<{contact(1)}>"])
    assert phone.send(reg, contacts, expires=expires).status == 400
    assert len(reg.lookup("alice", 0.0)) == 1


# --- out of order ------------------------------------------------------------------------------

def test_same_call_id_with_a_cseq_not_higher_is_ignored() -> None:
    reg = registrar()
    phone = Phone("alice")
    phone.send(reg, [f"<{contact(1)}>;expires=600"], cseq=10)
    for late in (10, 9):
        response = phone.send(reg, [f"<{contact(1)}>;expires=0"], cseq=late)
        assert response.status == 200
        assert contacts_of(response) == [f"<{contact(1)}>;expires=600"]
    phone.send(reg, [f"<{contact(1)}>;expires=1200"], cseq=5)
    assert reg.lookup("alice", 0.0)[0].expires_at == 600.0
    phone.send(reg, [f"<{contact(1)}>;expires=1200"], cseq=11)
    assert reg.lookup("alice", 0.0)[0].expires_at == 1200.0


def test_another_call_id_updates_whatever_its_cseq() -> None:
    reg = registrar()
    Phone("alice", "before-reboot").send(reg, [f"<{contact(1)}>"], cseq=50)
    Phone("alice", "after-reboot").send(reg, [f"<{contact(1)}>;expires=0"], cseq=1)
    assert reg.lookup("alice", 0.0) == []


def test_wildcard_keeps_bindings_a_late_request_must_not_remove() -> None:
    reg = registrar()
    phone = Phone("alice")
    phone.send(reg, [f"<{contact(1)}>"], cseq=10)
    Phone("alice", "other").send(reg, [f"<{contact(2)}>"], cseq=1)
    phone.send(reg, ["*"], expires=0, cseq=5)
    assert [b.contact for b in reg.lookup("alice", 0.0)] == [contact(1)]


# --- malformed ---------------------------------------------------------------------------------

@pytest.mark.parametrize("contacts,expires", [
    (["<sip:alice@10.0.0.1"], None),
    (["<mailto:alice@example.com>"], None),
    ([f"<{contact(1)}>;expires=soon"], None),
    ([f"<{contact(1)}>;expires"], None),
    ([f"<{contact(1)}>"], "-1"),
    ([f"<{contact(1)}>;q=2"], None),
    ([f"<{contact(1)}>;q=0.1234"], None),
    ([f"<{contact(1)}>;q"], None),
])
def test_malformed_register_is_a_bad_request(contacts: list[str], expires: str | None) -> None:
    reg = registrar()
    assert Phone("alice").send(reg, contacts, expires=expires).status == 400
    assert reg.lookup("alice", 0.0) == []


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError):
        registrar(min_expires=600, default_expires=300)
    with pytest.raises(ValueError):
        registrar(default_expires=9000)


# --- lookup, expiry and changes ----------------------------------------------------------------

def test_lookup_orders_by_q_then_most_recent() -> None:
    reg = registrar()
    phone = Phone("alice")
    phone.send(reg, [f"<{contact(1)}>;q=0.5"], now=0.0)
    phone.send(reg, [f"<{contact(2)}>"], now=1.0)
    phone.send(reg, [f"<{contact(3)}>;q=0.5"], now=2.0)
    phone.send(reg, [f"<{contact(4)}>;q=1.0"], now=3.0)
    assert [b.contact for b in reg.lookup("alice", 3.0)] == [
        contact(4), contact(2), contact(3), contact(1)]


def test_expiry() -> None:
    reg = registrar()
    assert reg.next_expiry() is None
    Phone("alice").send(reg, [f"<{contact(1)}>;expires=100", f"<{contact(2)}>;expires=200"])
    Phone("bob").send(reg, [f"<{contact(1, 'bob')}>;expires=150"])
    reg.take_changes()
    assert reg.next_expiry() == 100.0
    assert reg.lookup("alice", 100.0) == reg.lookup("alice", 150.0)
    assert [b.contact for b in reg.lookup("alice", 100.0)] == [contact(2)]
    assert reg.expire(99.0) == [] and reg.expire(100.0) == []
    assert reg.next_expiry() == 150.0
    assert reg.expire(150.0) == ["bob"]
    assert reg.expire(1000.0) == ["alice"]
    assert reg.next_expiry() is None
    assert reg.take_changes() == [Change("bob", False), Change("alice", False)]


def test_handle_expires_what_has_run_out_first() -> None:
    reg = registrar()
    phone = Phone("alice")
    phone.send(reg, [f"<{contact(1)}>;expires=60"], now=0.0)
    Phone("bob").send(reg, [f"<{contact(1, 'bob')}>;expires=60"], now=0.0)
    reg.take_changes()
    response = phone.send(reg, [f"<{contact(1)}>;expires=60"], now=60.0)
    assert contacts_of(response) == [f"<{contact(1)}>;expires=60"]
    assert reg.take_changes() == [Change("alice", False), Change("bob", False),
                                  Change("alice", True)]


def test_no_response_carries_a_password_or_ha1() -> None:
    reg = registrar()
    secrets = [password("alice"), *(ha1("alice", REALM, password("alice"), name)
                                     for name in ALGORITHMS)]
    phone = Phone("alice")
    responses = [
        reg.handle(phone.request([f"<{contact(1)}>"]), SOURCE, 0.0),
        phone.send(reg, [f"<{contact(1)}>"]),
        phone.send(reg, [f"<{contact(1)}>;expires=5"]),
        phone.send(reg, [f"<{contact(1)}>"], to_user="bob"),
    ]
    assert [r.status for r in responses] == [401, 200, 423, 403]
    for response in responses:
        assert not any(secret in bytes(response).decode() for secret in secrets)


# --- a model-based run -------------------------------------------------------------------------

_CONTACT_CHOICES = [f"sip:{{user}}@10.0.0.{n}:5060" for n in (1, 2, 3)]
_EXPIRES = st.sampled_from([None, None, 0, 30, 60, 600, 600, 3600, 10_000])
_Q = st.sampled_from([None, "0.1", "0.5", "1"])
_SOURCES = st.sampled_from([SOURCE, ("198.51.100.9", 5060)])


class RegistrarMachine(RuleBasedStateMachine):
    """Register, refresh, remove and expire at random times; lookup must match a plain model."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.registrar = registrar()
        self.phones = {user: Phone(user) for user in USERS}
        self.model: dict[str, dict[str, Binding]] = {}
        self.expected_changes: list[Change] = []

    def _model_store(self, user: str, table: dict[str, Binding]) -> None:
        had = bool(self.model.get(user))
        self.model[user] = table
        if had != bool(table):
            self.expected_changes.append(Change(user, bool(table)))

    def _model_expire(self) -> list[str]:
        emptied = []
        for user in sorted(self.model):
            table = self.model[user]
            live = {c: b for c, b in table.items() if b.expires_at > self.now}
            if len(live) != len(table):
                self._model_store(user, live)
                if not live:
                    emptied.append(user)
        return emptied

    def _model_register(self, user: str, wanted: list[tuple[str, int, float]],
                        source: tuple[str, int], cseq: int) -> None:
        phone = self.phones[user]
        table = dict(self.model.get(user, {}))
        for uri, expires, q in wanted:
            existing = table.get(uri)
            if existing and existing.call_id == phone.call_id and existing.cseq >= cseq:
                continue
            if expires == 0:
                table.pop(uri, None)
            else:
                table[uri] = Binding(user, uri, self.now + min(expires, 7200), source,
                                     phone.call_id, cseq, q, self.now)
        self._model_store(user, table)

    # Whole intervals land exactly on expiry times; arbitrary floats land anywhere.
    @rule(dt=st.one_of(st.sampled_from([0, 1, 60, 540, 600, 3600, 7200]),
                       st.floats(min_value=0.0, max_value=900.0, allow_nan=False)))
    def advance(self, dt: float) -> None:
        self.now += dt

    @rule(user=st.sampled_from(USERS),
          contacts=st.lists(st.tuples(st.sampled_from(_CONTACT_CHOICES), _EXPIRES, _Q),
                            min_size=1, max_size=3, unique_by=lambda item: item[0]),
          header=_EXPIRES, source=_SOURCES, late=st.booleans())
    def register(self, user: str, contacts: list[tuple[str, int | None, str | None]],
                 header: int | None, source: tuple[str, int], late: bool) -> None:
        phone = self.phones[user]
        cseq = max(1, phone.cseq - 2) if late else phone.cseq + 1
        phone.cseq = max(phone.cseq, cseq)
        values, wanted = [], []
        for pattern, expires, q in contacts:
            uri = pattern.format(user=user)
            params = ("" if expires is None else f";expires={expires}") + (
                "" if q is None else f";q={q}")
            values.append(f"<{uri}>{params}")
            granted = expires if expires is not None else header if header is not None else 3600
            wanted.append((uri, granted, 1.0 if q is None else float(q)))
        response = phone.send(self.registrar, values, self.now, source=source, expires=header,
                              cseq=cseq)
        self._model_expire()
        if any(0 < granted < 60 for _, granted, _ in wanted):
            assert response.status == 423
            return
        assert response.status == 200
        self._model_register(user, wanted, source, cseq)
        assert len(contacts_of(response)) == len(self._model_live(user))

    @rule(user=st.sampled_from(USERS))
    def remove_all(self, user: str) -> None:
        phone = self.phones[user]
        phone.cseq += 1
        response = phone.send(self.registrar, ["*"], self.now, expires=0, cseq=phone.cseq)
        assert response.status == 200
        self._model_expire()
        wanted = [(uri, 0, 1.0) for uri in self.model.get(user, {})]
        self._model_register(user, wanted, SOURCE, phone.cseq)

    @rule()
    def expire(self) -> None:
        assert self.registrar.expire(self.now) == self._model_expire()

    def _model_live(self, user: str) -> list[Binding]:
        live = [b for b in self.model.get(user, {}).values() if b.expires_at > self.now]
        return sorted(live, key=lambda b: (-b.q, -b.updated_at, b.contact))

    @invariant()
    def lookup_matches_the_model(self) -> None:
        for user in USERS:
            assert self.registrar.lookup(user, self.now) == self._model_live(user)

    @invariant()
    def next_expiry_matches_the_model(self) -> None:
        times = [b.expires_at for table in self.model.values() for b in table.values()]
        assert self.registrar.next_expiry() == min(times, default=None)

    @invariant()
    def changes_match_the_model(self) -> None:
        assert self.registrar.take_changes() == self.expected_changes
        self.expected_changes = []


RegistrarMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=30,
                                              deadline=None)
TestRegistrarMachine = RegistrarMachine.TestCase


def test_a_static_only_user_is_refused_once_authenticated() -> None:
    box = Registrar(authenticator(), static_only={"bob"})
    refused = Phone("bob").send(box, [contact(1, "bob")])
    assert (refused.status, refused.reason) == (403, "Forbidden: this phone has a static contact")
    assert box.lookup("bob", 0.0) == [] and box.take_changes() == []
    assert Phone("alice").send(box, [contact(1)]).status == 200


def test_a_user_cannot_bind_more_than_max_bindings_contacts() -> None:
    box = Registrar(authenticator(), max_bindings=2)
    phone = Phone("alice")
    assert phone.send(box, [contact(1), contact(2)]).status == 200
    refused = phone.send(box, [contact(3)])
    assert (refused.status, refused.reason) == (403, "Forbidden: more than 2 contacts")
    assert sorted(b.contact for b in box.lookup("alice", 0.0)) == [contact(1), contact(2)]
    assert phone.send(box, [contact(1)], expires=0).status == 200  # removing one makes room
    assert phone.send(box, [contact(3)]).status == 200
