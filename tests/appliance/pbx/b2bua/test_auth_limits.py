"""Failed authentications through the B2BUA: a guessing phone is slowed, then refused, and a
REGISTER flood from random users and addresses leaves every table within its bound."""

from __future__ import annotations

import logging
from random import Random

import pytest

from appliance.pbx.sip import Headers, Request, Response, parse_auth_params
from appliance.pbx.sip.auth import digest_response, format_auth_params
from appliance.pbx.sip.message import parse
from tests.appliance.pbx.b2bua.harness import APPLIANCE, Lab, live_site

LIMITS = {"slow_after": 3, "slow_delay": 2.0, "block_after": 6, "block_for": 60.0,
          "window": 120.0, "max_tracked": 500, "max_delayed": 50}


def register(user: str, source: tuple[str, int], n: int, authorization: str | None = None
             ) -> bytes:
    aor = f"<sip:{user}@{APPLIANCE[0]}>"
    pairs = [("Via", f"SIP/2.0/UDP {source[0]}:{source[1]};branch=z9hG4bK-f{n}"),
             ("Max-Forwards", "70"), ("From", f"{aor};tag=f{n}"), ("To", aor),
             ("Call-ID", f"flood-{n}"), ("CSeq", "1 REGISTER"),
             ("Contact", f"<sip:{user}@{source[0]}:{source[1]}>"), ("Expires", "3600")]
    if authorization is not None:
        pairs.append(("Authorization", authorization))
    return bytes(Request("REGISTER", f"sip:{APPLIANCE[0]}", Headers(pairs)))


def guess(challenge: dict[str, str], user: str, password: str) -> str:
    uri = f"sip:{APPLIANCE[0]}"
    response = digest_response("MD5", user, challenge["realm"], password, "REGISTER", uri,
                               challenge["nonce"], "00000001", "c0ffee", "auth")
    return format_auth_params("Digest", {
        "username": user, "realm": challenge["realm"], "nonce": challenge["nonce"],
        "uri": uri, "algorithm": "MD5", "qop": "auth", "nc": "00000001", "cnonce": "c0ffee",
        "opaque": challenge["opaque"], "response": response})


class Box:
    """The appliance alone, fed datagrams directly; its answers by destination."""

    def __init__(self, agents: int = 1) -> None:
        self.lab = Lab(live_site(agents=agents, sip={"auth_failures": LIMITS}))
        self.box = self.lab.box
        self.now = 0.0

    def send(self, data: bytes, source: tuple[str, int]) -> list[int]:
        """Deliver `data` from `source`; the statuses of what was sent back at once."""
        self.box.receive_datagram(data, source, self.now)
        return self._statuses()

    def _statuses(self) -> list[int]:
        """The statuses of the responses sent (the trunk's OPTIONS probes left out)."""
        sent = [parse(out) for out, _ in self.box.take_datagrams()]
        return [message.status for message in sent if isinstance(message, Response)]

    def advance(self, seconds: float) -> list[int]:
        """Let `seconds` pass, running timers; the statuses sent meanwhile."""
        end = self.now + seconds
        statuses: list[int] = []
        while (when := self.box.next_deadline()) is not None and when <= end:
            self.now = max(self.now, when)
            self.box.on_deadline(self.now)
            statuses += self._statuses()
        self.now = end
        return statuses

    def challenge(self, user: str, source: tuple[str, int], n: int) -> dict[str, str]:
        self.box.receive_datagram(register(user, source, n), source, self.now)
        answers = [parse(out) for out, _ in self.box.take_datagrams()]
        (answer,) = [message for message in answers if isinstance(message, Response)]
        return parse_auth_params(answer.headers.get("WWW-Authenticate") or "")[1]


def test_a_guessing_phone_is_answered_then_slowed_then_refused(caplog):
    box = Box()
    source = ("198.51.100.7", 5060)
    challenge = box.challenge("a1", source, 0)  # a wrong guess does not use up its nonce
    statuses = []
    with caplog.at_level(logging.WARNING, logger="appliance.pbx.sip.authlimit"):
        for n in range(1, 9):
            statuses.append(box.send(register("a1", source, n,
                                              guess(challenge, "a1", f"guess{n}")), source))
            box.advance(0.5)
    # Three wrong guesses answered at once, three slowed (their 403s come later), then
    # refused at once without a look at the credentials.
    assert statuses == [[403]] * 3 + [[]] * 3 + [[403]] * 2
    assert [r.getMessage() for r in caplog.records] == [
        "3 failed authentications from source 198.51.100.7: answers slowed down",
        "3 failed authentications from user a1: answers slowed down",
        "6 failed authentications from source 198.51.100.7: refused for 60 s",
        "6 failed authentications from user a1: refused for 60 s",
    ]
    # The user is refused from anywhere while blocked, even with the right password ...
    elsewhere = ("192.0.2.50", 5060)
    assert box.send(register("a1", elsewhere, 100), elsewhere) == [403]
    # ... and answered once block_for has run out.
    box.advance(61.0)
    challenge = box.challenge("a1", elsewhere, 101)
    assert box.send(register("a1", elsewhere, 102, guess(challenge, "a1", "secret-a1")),
                    elsewhere) == [200]


def test_a_blocked_user_still_gets_through_from_where_its_phone_registered():
    box = Box()
    phone = ("10.0.1.1", 5060)
    challenge = box.challenge("a1", phone, 0)
    assert box.send(register("a1", phone, 1, guess(challenge, "a1", "secret-a1")),
                    phone) == [200]
    for n in range(6):  # guesses from six addresses: a1 is refused, no source is
        source = (f"203.0.113.{n}", 5060)
        box.send(register("a1", source, 10 + n, guess(challenge, "a1", f"guess{n}")), source)
    assert box.box.phones.auth_limits.users.verdict("a1", box.now).name == "REFUSE"
    elsewhere = ("192.0.2.50", 5060)
    assert box.send(register("a1", elsewhere, 20), elsewhere) == [403]
    challenge = box.challenge("a1", phone, 21)  # the registered phone refreshes as usual
    assert box.send(register("a1", phone, 22, guess(challenge, "a1", "secret-a1")),
                    phone) == [200]


def test_slowed_answers_come_after_slow_delay():
    box = Box()
    source = ("198.51.100.8", 5060)
    for n in range(3):
        challenge = box.challenge("a1", source, 2 * n)
        box.send(register("a1", source, 2 * n + 1, guess(challenge, "a1", "x")), source)
    assert box.send(register("a1", source, 10), source) == []  # the challenge is held back
    assert box.advance(1.9) == []
    assert box.advance(0.2) == [401]


@pytest.mark.slow
def test_a_register_flood_from_random_users_and_addresses_stays_within_bounds():
    box = Box(agents=2)
    rng = Random(13)
    challenge = box.challenge("a1", ("192.0.2.1", 5060), 0)
    issued_at = 0.0
    settings = box.box.sip
    for n in range(1, 100_001):
        source = (f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
                  rng.randrange(1024, 65536))
        user = f"{rng.randrange(10**6):06d}"
        kind = n % 3
        if box.now - issued_at > 200:  # a nonce the flood can use stays fresh
            challenge, issued_at = box.challenge(user, source, -n), box.now
        authorization = None if kind == 0 else guess(
            challenge if kind == 2 else {**challenge, "nonce": f"{n:064x}"}, user, "guess")
        box.box.receive_datagram(register(user, source, n, authorization), source, box.now)
        box.box.take_datagrams()
        if n % 1000 == 0:
            box.advance(1.0)  # 1,000 REGISTERs a second
            limits = box.box.phones.auth_limits
            assert len(limits.sources) <= LIMITS["max_tracked"]
            assert len(limits.users) <= LIMITS["max_tracked"]
            assert box.box.phones.delayed_answers <= LIMITS["max_delayed"]
            assert len(box.box.phones.registrar._bindings) == 0
            assert len(box.box.phones.registrar.authenticator._seen) == 0
            # Transactions last Timer J (32 s) after their answer: at most 33 s of the flood.
            assert len(box.box.layer._servers) <= 33_000
    assert settings.auth_failures.max_tracked == LIMITS["max_tracked"]
    # The flood did fill the tables to their bounds: the bounds held, not an empty table.
    assert len(box.box.phones.auth_limits.sources) == len(box.box.phones.auth_limits.users) == 500
    # The phones still register in the middle of it.
    phone = ("10.0.1.2", 5060)
    challenge = box.challenge("a2", phone, -1)
    assert box.send(register("a2", phone, -2, guess(challenge, "a2", "secret-a2")),
                    phone) == [200]
