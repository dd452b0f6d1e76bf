"""An E1 span that is down, seen from SIP: its gateway still answers OPTIONS but refuses a
call out on the span's channels with 503 and `Reason: Q.850;cause=38` (or 27). The span then
takes no calls out for `sip.span_retry` seconds and the call goes again on a channel of the
other span; calls in on it are taken as ever; other refusals fail the call as before."""

from __future__ import annotations

from random import Random

from appliance.events import CallQueued, OutsideCallAnswered, OutsideCallEnded
from appliance.hw import PortState
from appliance.pbx.b2bua.gatewayports import GatewayPorts
from sim.sipua import UserAgent
from tests.appliance.pbx.b2bua.harness import APPLIANCE, Lab, live_site
from tests.appliance.pbx.b2bua.test_media import kinds, media_plane

DOWN = [("Reason", 'Q.850;cause=38;text="Network out of order"')]
RETRY = 30.0


def e1_lab() -> tuple[Lab, UserAgent]:
    """A dual-E1 card with an endpoint per channel (channel n at 5060 + n - 1) serving the
    trunk group of calls out and in; the lab's gateway is channel 1 (span 1), the card
    returned is channel 31 (span 2)."""
    card = {"name": "e1", "profile": "e1-60", "address": "10.0.0.2:5060", "port_in": "source",
            "ports": [{"ports": "1-60", "trunk_group": "pstn"}]}
    outbound = {"gateway": "10.0.0.2:5060", "prefix": "9"}
    site = live_site(agents=1, trunk={"kind": "e1", "spans": 2, "channels": 60,
                                      "outbound": outbound},
                     routes=[{"trunk_group": "pstn", "queue": "sales"}],
                     extra_queues=[{"name": "sales"}], more={"gateways": [card]},
                     sip={"probe_interval": 10, "span_retry": RETRY})
    lab = Lab(site, media_for=media_plane(60.0))
    lab.register_all()
    span2 = UserAgent("ch31", "", ("10.0.0.2", 5090), APPLIANCE, Random("ch31"))
    lab.net.attach(span2.local, span2)
    return lab, span2


def ports(lab: Lab) -> GatewayPorts:
    return lab.box.intake.ports


def state(lab: Lab, port: str) -> PortState:
    return ports(lab).gateways["e1"].ports[port].state


def call_out(lab: Lab, number: str = "90301234567") -> int:
    """An agent's call out; the id of its INVITE at channel 1."""
    lab.do(lab.phones["a1"], "call", number)
    lab.run(1)
    events = lab.gateway.take_events()
    assert kinds(events) == ["incoming"]
    return events[0].call


def test_a_span_refused_as_down_takes_no_calls_out_and_the_call_goes_to_the_other_span():
    lab, span2 = e1_lab()
    first = call_out(lab)
    assert state(lab, "1") is PortState.ALERTING  # the E1 SETUP took 50 ms
    lab.do(lab.gateway, "reject", first, 503, "Service Unavailable", DOWN)
    lab.run(1)
    assert kinds(span2.take_events()) == ["incoming"]
    assert state(lab, "1") is PortState.IDLE and state(lab, "31") is PortState.ALERTING
    assert ports(lab).span_down("e1", "1") and not ports(lab).span_down("e1", "2")
    assert ports(lab).free_port("pstn").port == "32"
    lab.do(span2, "answer", next(iter(span2.calls)))
    lab.run(1)
    assert [type(r).__name__ for r in lab.log
            if isinstance(r, OutsideCallAnswered | OutsideCallEnded)] == ["OutsideCallAnswered"]
    lab.run(RETRY)
    assert not ports(lab).span_down("e1", "1")
    assert ports(lab).free_port("pstn").port == "1"


def test_calls_in_on_a_span_that_is_down_for_calls_out_are_taken():
    lab, _span2 = e1_lab()
    lab.do(lab.gateway, "reject", call_out(lab), 503, "Service Unavailable", DOWN)
    lab.run(1)
    lab.do(lab.gateway, "call", "800")
    lab.run(1)
    assert kinds(lab.gateway.take_events()) == ["answered"]
    assert state(lab, "1") is PortState.CONNECTED
    assert [r.queue for r in lab.log if isinstance(r, CallQueued)] == ["sales"]


def test_destination_out_of_order_on_480_is_a_span_down_too():
    lab, span2 = e1_lab()
    lab.do(lab.gateway, "reject", call_out(lab), 480, "Temporarily Unavailable",
           [("Reason", "Q.850;cause=27")])
    lab.run(1)
    assert kinds(span2.take_events()) == ["incoming"]
    assert ports(lab).span_down("e1", "1")


def test_a_refusal_that_names_no_span_fault_fails_the_call():
    for status, extra in ((503, []), (486, DOWN), (503, [("Reason", "Q.850;cause=34")])):
        lab, span2 = e1_lab()
        lab.do(lab.gateway, "reject", call_out(lab), status, "No", extra)
        lab.run(1)
        assert kinds(span2.take_events()) == []
        assert not ports(lab).span_down("e1", "1")
        ended = [r for r in lab.log if isinstance(r, OutsideCallEnded)]
        assert [r.status for r in ended] == [status]
        assert state(lab, "1") is PortState.IDLE


def test_with_every_span_down_the_call_fails_with_the_refusal():
    lab, span2 = e1_lab()
    lab.do(lab.gateway, "reject", call_out(lab), 503, "Service Unavailable", DOWN)
    lab.run(1)
    lab.do(span2, "reject", span2.take_events()[0].call, 503, "Service Unavailable", DOWN)
    lab.run(1)
    ended = [r for r in lab.log if isinstance(r, OutsideCallEnded)]
    assert [(r.cause, r.status) for r in ended] == [("failed", 503)]
    assert ports(lab).free_port("pstn") is None
    assert {state(lab, p) for p in ("1", "31")} == {PortState.IDLE}
