"""Agents' phones with static contacts, and phones that share an address with a trunk peer,
over a simulated network."""

from __future__ import annotations

from random import Random
from typing import Any

from appliance.config import TrunkGroup
from appliance.events import CallAnswered, CallOffered
from appliance.pbx.b2bua.peers import TrunkPeers
from sim.sipua import UserAgent
from tests.appliance.pbx.b2bua.harness import APPLIANCE, GATEWAY, Lab, live_site, password


def kinds(events):
    return [event.kind for event in events]


def site_with(phone_changes: dict[str, dict[str, Any]], agents: int = 1, **kwargs: Any):
    """live_site, with `phone_changes[user]` merged into that user's phone entry."""
    site = live_site(agents=agents, **kwargs)
    phones = [phone.model_dump(by_alias=True, exclude_none=True) | phone_changes.get(
        phone.user, {}) for phone in site.sip.phones]
    return live_site(agents=agents, sip={"phones": phones, **kwargs.pop("sip", {})}, **kwargs)


def extra_phone(lab: Lab, user: str, address: tuple[str, int]) -> UserAgent:
    """Another device answering as `user`'s phone at `address`."""
    phone = UserAgent(user, password(user), address, APPLIANCE, Random(f"{user}-{address}"))
    lab.net.attach(address, phone)
    return phone


def ring_once(lab: Lab) -> int:
    call = lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    return call


def test_an_agent_with_a_static_contact_is_rung_there_without_registering():
    lab = Lab(site_with({"a1": {"contact": "10.0.1.1:5060"}}))
    assert lab.box.cc.acd.agents["a1"].state.value == "ready"  # reachable, so logged in
    ring_once(lab)
    phone = lab.phones["a1"]
    assert kinds(phone.take_events()) == ["incoming"]
    lab.do(phone, "answer", next(iter(phone.calls)))
    lab.run(0.5)
    assert [r.agent for r in lab.log if isinstance(r, CallAnswered)] == ["a1"]


def test_a_static_only_phone_may_not_register_and_stays_reachable():
    lab = Lab(site_with({"a1": {"contact": "10.0.1.1:5060"}}))
    phone = lab.phones["a1"]
    lab.do(phone, "register")
    lab.run(1)
    assert [(e.kind, e.status) for e in phone.take_events()] == [("register_failed", 403)]
    ring_once(lab)
    assert kinds(phone.take_events()) == ["incoming"]


def test_a_registration_overrides_the_static_contact_while_it_lasts():
    lab = Lab(site_with({"a1": {"contact": "10.0.9.9:5060", "register": True}},
                        ring_timeout=2))
    desk = extra_phone(lab, "a1", ("10.0.9.9", 5060))
    softphone = lab.phones["a1"]
    lab.do(softphone, "register")
    lab.run(1)
    assert kinds(softphone.take_events()) == ["registered"]
    call = ring_once(lab)
    assert kinds(softphone.take_events()) == ["incoming"] and not desk.take_events()
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    lab.do(softphone, "register", 0)  # the registration ends: back to the desk phone
    lab.run(1)
    assert lab.box.cc.acd.agents["a1"].state.value == "ready"
    ring_once(lab)
    assert kinds(desk.take_events()) == ["incoming"]


def test_a_phone_on_a_trunk_peers_address_is_told_apart_by_port():
    # The trunk peer is the gateway's whole address; its FXS port is a phone on port 5062.
    lab = Lab(site_with({"a1": {"contact": f"{GATEWAY[0]}:5062"}}))
    port = extra_phone(lab, "a1", (GATEWAY[0], 5062))
    trace = lab.net.trace = []
    lab.do(port, "call", "*44")  # not ready: a feature code, not a call to the queue
    lab.run(1)
    assert any(data.startswith(b"SIP/2.0 401") for *_, data in trace)  # it must authenticate
    assert kinds(port.take_events()) == ["answered", "ended_by_peer"]
    assert lab.box.cc.acd.agents["a1"].state.value == "not_ready"
    assert not [r for r in lab.log if isinstance(r, CallOffered)]
    ring_once(lab)  # the gateway's own port is still the trunk
    assert [r.trunk_group for r in lab.log if isinstance(r, CallOffered)] == ["pstn"]


def test_credentials_from_a_trunk_address_are_a_phones_and_wrong_ones_are_refused():
    lab = Lab(live_site(agents=1))
    lab.register_all()
    phone = extra_phone(lab, "a1", (GATEWAY[0], 5070))  # same address as the trunk, no contact
    challenge = lab.box.phones.registrar.authenticator.challenge
    phone.password = "wrong"
    request_probe = lab.do(phone, "call", "*44")
    lab.run(1)
    # Without credentials a request from a trunk address is the trunk's: a queue call.
    assert [r.trunk_group for r in lab.log if isinstance(r, CallOffered)]
    lab.do(phone, "hangup", request_probe)
    lab.run(1)
    offered = len([r for r in lab.log if isinstance(r, CallOffered)])
    invite = phone.calls[request_probe].invite
    authorization = phone._authorization(invite, challenge(invite, lab.net.now))
    call = lab.do(phone, "call", "*44", None, authorization)
    lab.run(1)
    assert phone.calls[call].status == 403  # wrong password: refused, not a trunk call
    phone.password = password("a1")
    authorization = phone._authorization(invite, challenge(invite, lab.net.now))
    lab.do(phone, "call", "*44", None, authorization)
    lab.run(1)
    assert lab.box.cc.acd.agents["a1"].state.value == "not_ready"
    assert len([r for r in lab.log if isinstance(r, CallOffered)]) == offered


def test_a_trunk_peer_given_with_its_port_matches_before_a_network():
    groups = [TrunkGroup(name="office", kind="sip", channels=2, peers=["10.0.0.0/24"]),
              TrunkGroup(name="fxo", kind="sip", channels=2, peers=["10.0.0.2:5062"])]
    peers = TrunkPeers(groups)
    assert peers.group_for(("10.0.0.2", 5062)) == "fxo"
    assert peers.group_for(("10.0.0.2", 5060)) == "office"
    assert peers.group_for(("10.0.1.2", 5062)) is None


def test_a_static_contact_added_by_a_reload_logs_the_agent_in_and_is_rung():
    lab = Lab(live_site(agents=1))
    assert lab.box.cc.acd.agents["a1"].state.value == "logged_out"  # not registered
    lab.box.reload(site_with({"a1": {"contact": "10.0.1.1:5060"}}), lab.net.now)
    assert lab.box.cc.acd.agents["a1"].state.value == "ready"
    ring_once(lab)
    assert kinds(lab.phones["a1"].take_events()) == ["incoming"]
