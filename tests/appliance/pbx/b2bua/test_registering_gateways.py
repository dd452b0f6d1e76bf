"""Gateways that register instead of having an address: one account for the gateway (the port
in the Request-URI's user part) or one per port. A port is out of service until its gateway
(or itself) registers, is found and rung where the newest registration says, and goes out of
service again when the registration runs out or is removed."""

from __future__ import annotations

from random import Random

from appliance.events import CallQueued
from appliance.hw import PortState
from sim.sipua import UserAgent
from tests.appliance.pbx.b2bua.harness import APPLIANCE, Lab, live_site, media_plane
from tests.appliance.pbx.b2bua.test_gateway_ports import ROUTES
from tests.appliance.pbx.b2bua.test_races import ringing

FXO = {"name": "fxo1", "profile": "fxo-4",
       "register": {"user": "fxo1", "password": "card-secret"},
       "ports": [{"ports": "1-2", "trunk_group": "pstn", "line": "sales"},
                 {"ports": "3-4", "trunk_group": "pstn", "line": "service"}]}
FXS = {"name": "fxs1", "profile": "fxs-8",
       "register": {"user": "fxs1-", "password": "desk-secret", "per": "port"},
       "ports": [{"ports": "2", "seats": "a1"}]}


def gateway_lab(gateway: dict) -> Lab:
    site = live_site(agents=1, trunk={"kind": "analog", "channels": 4}, routes=ROUTES,
                     extra_queues=[{"name": "sales"}], more={"gateways": [gateway]},
                     sip={"probe_interval": 10})
    lab = Lab(site, media_for=media_plane(60.0))  # queued callers are answered
    lab.run(1)
    return lab


def registered(lab: Lab, user: str, password: str, at: tuple[str, int],
               expires: int = 3600) -> UserAgent:
    """A gateway (or port) at `at` registered as `user`."""
    ua = UserAgent(user, password, at, APPLIANCE, Random(f"{user}-{at}"))
    lab.net.attach(at, ua)
    lab.do(ua, "register", expires)
    lab.run(1)
    assert [e.kind for e in ua.take_events()] == ["registered"]
    return ua


def states(lab: Lab, gateway: str = "fxo1") -> list[PortState]:
    return [port.state for port in lab.box.intake.ports.gateways[gateway].ports.values()]


def test_a_gateway_is_out_of_service_until_it_registers_then_its_calls_find_their_port():
    lab = gateway_lab(FXO)
    assert set(states(lab)) == {PortState.OUT_OF_SERVICE}
    card = registered(lab, "fxo1", "card-secret", ("10.0.0.5", 5060))
    assert set(states(lab)) == {PortState.IDLE}
    assert lab.box.intake.ports.addresses() == {("10.0.0.5", 5060): "fxo1"}
    assert ("10.0.0.5", 5060) in lab.box.probes.status.targets  # OPTIONS go there
    lab.do(card, "call", "2", None, None, "88001234")
    lab.run(0.5)
    assert [e.kind for e in card.take_events()] == ["answered"]
    assert [r.queue for r in lab.log if isinstance(r, CallQueued)] == ["sales"]
    assert states(lab)[1] is PortState.CONNECTED


def test_a_wrong_password_registers_nothing():
    lab = gateway_lab(FXO)
    ua = UserAgent("fxo1", "guess", ("10.0.0.5", 5060), APPLIANCE, Random(1))
    lab.net.attach(ua.local, ua)
    lab.do(ua, "register", 3600)
    lab.run(1)
    assert [e.kind for e in ua.take_events()] == ["register_failed"]
    assert set(states(lab)) == {PortState.OUT_OF_SERVICE}


def test_an_expired_registration_takes_the_ports_out_and_ends_their_calls():
    lab = gateway_lab(FXO)
    card = registered(lab, "fxo1", "card-secret", ("10.0.0.5", 5060), expires=60)
    lab.do(card, "call", "3")
    lab.run(0.5)
    card.take_events()
    lab.run(60)
    assert set(states(lab)) == {PortState.OUT_OF_SERVICE}
    assert "ended_by_peer" in [e.kind for e in card.take_events()]  # our BYE
    assert lab.box.intake.ports.addresses() == {}
    lab.do(card, "register", 3600)
    lab.run(1)
    assert set(states(lab)) == {PortState.IDLE}


def test_a_gateway_registering_from_a_new_address_is_found_there():
    lab = gateway_lab(FXO)
    old = registered(lab, "fxo1", "card-secret", ("10.0.0.5", 5060))
    lab.run(5)
    new = registered(lab, "fxo1", "card-secret", ("10.0.0.6", 5062))
    ports = lab.box.intake.ports
    assert ports.addresses() == {("10.0.0.6", 5062): "fxo1"}
    assert ports.port_of(("10.0.0.6", 5062), "2") == ports.refs["fxo1", "2"]
    assert ports.port_of(("10.0.0.5", 5060), "2") is None
    lab.do(new, "call", "1")
    lab.run(0.5)
    assert [e.kind for e in new.take_events()] == ["answered"]
    assert old.take_events() == []


def test_calls_out_go_to_where_the_gateway_registered():
    lab = gateway_lab(FXO)
    registered(lab, "fxo1", "card-secret", ("10.0.0.5", 5060))
    ports = lab.box.intake.ports
    ref = ports.seize("pstn", 7, "88001234", lab.net.now)
    assert ref is not None and ports.address_of(ref) == ("10.0.0.5", 5060)


def test_a_port_registering_as_its_own_account_is_its_seats_phone():
    lab = gateway_lab(FXS)
    assert lab.box.phones.target("a1", lab.net.now) is None
    port2 = registered(lab, "fxs1-2", "desk-secret", ("10.0.0.3", 5062))
    assert states(lab, "fxs1")[1] is PortState.IDLE
    assert states(lab, "fxs1")[0] is PortState.OUT_OF_SERVICE  # port 1 has not registered
    lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    incoming = ringing(port2)
    assert port2.calls[incoming].invite.uri == "sip:fxs1-2@10.0.0.3:5062"
    lab.do(port2, "register", 0)  # the port's account removed
    lab.run(1)
    assert states(lab, "fxs1")[1] is PortState.OUT_OF_SERVICE
    assert lab.box.phones.target("a1", lab.net.now) is None


def test_ports_registered_from_one_address_are_told_apart_by_their_account():
    per_port = {**FXO, "register": {"user": "line", "password": "s", "per": "port"}}
    lab = gateway_lab(per_port)
    registered(lab, "line1", "s", ("10.0.0.5", 5060))
    line3 = registered(lab, "line3", "s", ("10.0.0.5", 5060))
    ports = lab.box.intake.ports
    assert ports.port_of(("10.0.0.5", 5060), "100", ["line3", "88001234"]) == \
        ports.refs["fxo1", "3"]
    lab.do(line3, "call", "100", None, None, "88001234")  # Contact: sip:line3@...
    lab.run(0.5)
    assert [e.kind for e in line3.take_events()] == ["answered"]
    assert [r.queue for r in lab.log if isinstance(r, CallQueued)] == ["service"]
