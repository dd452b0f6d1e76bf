"""A gateway that asks for digest credentials (401 or 407) before it takes an outside call,
over a simulated network: the route's username and password answer the challenge once."""

from __future__ import annotations

from random import Random

import pytest

from appliance.events import OutsideCallEnded
from appliance.pbx.sip.digest import AuthResult, DigestAuthenticator, ha1
from appliance.pbx.sip.message import Request
from tests.appliance.pbx.b2bua.harness import GATEWAY, Lab, live_site

GATEWAY_REALM = "carrier.example"
ROUTE = {"gateway": f"{GATEWAY[0]}:{GATEWAY[1]}", "prefix": "9", "ring_timeout": 20}


class AlwaysChallenging(DigestAuthenticator):
    """A gateway that challenges whatever comes, credentials or not."""

    def verify(self, request: Request, now: float) -> AuthResult:
        return AuthResult(response=self.challenge(request, now))


def lab_of(proxy: bool = False, **route: str) -> Lab:
    site = live_site(agents=2, trunk={"outbound": {**ROUTE, **route}})
    lab = Lab(site)
    lab.register_all()
    stored = {"ccbox": {"MD5": ha1("ccbox", GATEWAY_REALM, "trunk-secret", "MD5")}}
    lab.gateway.challenger = DigestAuthenticator(GATEWAY_REALM, stored, b"gw", Random(7),
                                                 proxy=proxy)
    return lab


def dial(lab: Lab) -> int:
    call = lab.do(lab.phones["a1"], "call", "90301234567")
    lab.run(1)
    return call


def ended(lab: Lab) -> list[tuple[str, int]]:
    return [(r.cause, r.status) for r in lab.log if isinstance(r, OutsideCallEnded)]


@pytest.mark.parametrize("proxy", [False, True], ids=["401", "407"])
def test_a_challenged_invite_goes_again_with_the_routes_credentials(proxy: bool) -> None:
    lab = lab_of(proxy, username="ccbox", password="trunk-secret")
    call = dial(lab)
    events = lab.gateway.take_events()
    assert [(e.kind, e.status) for e in events] == [
        ("challenged", 407 if proxy else 401), ("incoming", 0)]
    far = next(c for c in lab.gateway.calls.values() if c.state == "incoming")
    header = "Proxy-Authorization" if proxy else "Authorization"
    assert 'username="ccbox"' in (far.invite.headers.get(header) or "")
    assert far.invite.headers.get("CSeq") == "2 INVITE"
    lab.do(lab.gateway, "answer", far.id)
    lab.run(5)
    lab.do(lab.gateway, "hangup", far.id)
    lab.run(1)
    assert [e.kind for e in lab.phones["a1"].take_events()] == [
        "ringing", "answered", "ended_by_peer"]
    assert lab.phones["a1"].calls[call].state == "ended"
    assert ended(lab) == [("far_hangup", 200)]
    assert lab.box.cc.trunks.busy["pstn"] == 0
    assert lab.box.legs.empty


def test_wrong_credentials_fail_the_call_at_the_gateways_refusal() -> None:
    lab = lab_of(username="ccbox", password="not-this")
    call = dial(lab)
    assert [e.kind for e in lab.gateway.take_events()] == ["challenged", "challenged"]
    assert lab.phones["a1"].calls[call].status == 403
    assert ended(lab) == [("rejected", 403)]
    assert lab.box.cc.trunks.busy["pstn"] == 0
    assert lab.box.legs.empty


def test_a_second_challenge_fails_the_call_as_unauthorized() -> None:
    lab = lab_of(username="ccbox", password="trunk-secret")
    lab.gateway.challenger = AlwaysChallenging(GATEWAY_REALM, {}, b"gw", Random(7))
    call = dial(lab)
    assert [e.kind for e in lab.gateway.take_events()] == ["challenged", "challenged"]
    assert lab.phones["a1"].calls[call].status == 502  # never the gateway's challenge
    assert ended(lab) == [("unauthorized", 401)]
    assert lab.box.legs.empty


def test_a_route_without_credentials_fails_the_call_at_the_first_challenge() -> None:
    lab = lab_of()
    call = dial(lab)
    assert [e.kind for e in lab.gateway.take_events()] == ["challenged"]
    assert lab.phones["a1"].calls[call].status == 502  # never the gateway's challenge
    assert ended(lab) == [("unauthorized", 401)]
    assert lab.box.legs.empty
