"""Gateway ports in the B2BUA: a call on an FXO port is routed by its line, holds its port,
and ends when busy tone is heard in its audio (or, on a line that gives no tone, when it has
been silent for the bound); in-band keys reach the IVR; a gateway that stops answering OPTIONS
takes its ports (and their calls) out of service until it answers."""

from __future__ import annotations

from random import Random

import numpy as np

from appliance.events import CallEnded, CallQueued, DigitReceived, PortLateRelease
from appliance.hw import PortState
from appliance.hw.tones import Cadence, cadence
from appliance.media.player import encode
from appliance.pbx.b2bua.gatewayports import GatewayPorts
from sim.sipua import UserAgent
from tests.appliance.config.test_gateways import MY_CARD
from tests.appliance.hw.test_tones import cadenced
from tests.appliance.pbx.b2bua.harness import APPLIANCE, Lab, live_site
from tests.appliance.pbx.b2bua.test_media import CALLER_MEDIA, kinds, media_plane, rtp
from tests.talk import RATE, pcm, speech_like

GATEWAYS = [{"name": "fxo1", "profile": "fxo-4", "address": "10.0.0.2:5060",
             "ports": [{"ports": "1-2", "trunk_group": "pstn", "line": "sales"},
                       {"ports": "3-4", "trunk_group": "pstn", "line": "service"}]}]
ROUTES = [{"trunk_group": "pstn", "line": "sales", "queue": "sales"}]


def fxo_lab(profile: str = "fxo-4", gateway: dict[str, object] | None = None,
            **sip: object) -> Lab:
    gateways = [{**GATEWAYS[0], "profile": profile, **(gateway or {})}]
    site = live_site(agents=1, trunk={"kind": "analog", "channels": 4}, routes=ROUTES,
                     extra_queues=[{"name": "sales"}], more={"gateways": gateways},
                     sip={"probe_interval": 10, **sip})
    lab = Lab(site, media_for=media_plane(60.0))
    lab.do(lab.phones["a1"], "register", 0)  # logged out: calls wait in their queue
    lab.run(1)
    return lab


def ports(lab: Lab) -> GatewayPorts:
    return lab.box.intake.ports


def port_state(lab: Lab, number: str) -> PortState:
    return ports(lab).gateways["fxo1"].ports[number].state


def send_audio(lab: Lab, samples: np.ndarray, first_seq: int = 0) -> None:
    """`samples` as 20 ms PCMU packets from the caller, at their pace."""
    for k in range(len(samples) // 160):
        payload = encode(pcm(samples[k * 160:(k + 1) * 160]), 0)
        lab.box.receive_media(30000, rtp(first_seq + k, payload=payload), CALLER_MEDIA,
                              lab.net.now)
        lab.run(0.02)


def test_a_port_is_found_by_the_user_part_and_a_call_routed_by_its_line():
    lab = fxo_lab()
    lab.do(lab.gateway, "call", "2")
    lab.run(0.5)
    assert kinds(lab.gateway.take_events()) == ["answered"]
    routed = [r for r in lab.log if isinstance(r, CallQueued)]
    assert [r.queue for r in routed] == ["sales"]
    assert port_state(lab, "2") is PortState.CONNECTED
    assert port_state(lab, "1") is PortState.IDLE


def test_a_call_on_a_busy_port_is_refused_and_an_unknown_port_is_no_gateway_call():
    lab = fxo_lab()
    lab.do(lab.gateway, "call", "port3")
    lab.run(0.5)
    lab.gateway.take_events()
    lab.do(lab.gateway, "call", "3")
    lab.run(0.5)
    assert [(e.kind, e.status) for e in lab.gateway.take_events()] == [("failed", 486)]
    assert ports(lab).port_of(("10.0.0.2", 5060), "9") is None
    assert ports(lab).port_of(("10.0.0.3", 5060), "1") is None


def test_busy_tone_on_the_line_ends_the_call_and_frees_the_port_within_the_bound():
    lab = fxo_lab()
    lab.do(lab.gateway, "call", "3")
    lab.run(0.5)
    lab.gateway.take_events()
    busy = cadence("cn-busy")
    start = lab.net.now
    send_audio(lab, cadenced(busy, 6.0))
    ended = [r for r in lab.log if isinstance(r, CallEnded)]
    assert len(ended) == 1
    assert ended[0].t - start <= busy.detection_delay + 0.1
    assert "ended_by_peer" in kinds(lab.gateway.take_events())  # our BYE frees the line
    lab.run(1.0)  # the card's guard time
    assert port_state(lab, "3") is PortState.IDLE
    lab.do(lab.gateway, "call", "3")
    lab.run(0.5)
    assert kinds(lab.gateway.take_events()) == ["answered"]


def line_tone_ends_the_call(lab: Lab, tone: Cadence) -> bool:
    """Whether `tone` on port 3's line ends its call within the tone's detection delay."""
    lab.do(lab.gateway, "call", "3")
    lab.run(0.5)
    start = lab.net.now
    send_audio(lab, cadenced(tone, 4.0))
    ended = [r.t - start for r in lab.log if isinstance(r, CallEnded)]
    return len(ended) == 1 and ended[0] <= tone.detection_delay + 0.1


def test_a_sites_own_profile_file_gives_its_lines_tones(tmp_path, monkeypatch):
    (tmp_path / "my-card.yaml").write_text(MY_CARD)  # E.180 tones, not China's
    monkeypatch.chdir(tmp_path)  # the test's site file is read from here
    lab = fxo_lab("my-card.yaml")
    assert ports(lab).refs["fxo1", "3"].capabilities.answerable_after == 10.0
    assert not line_tone_ends_the_call(lab, cadence("cn-busy"))
    assert line_tone_ends_the_call(fxo_lab("my-card.yaml"), cadence("eu-busy"))


def test_a_sites_tones_and_supervision_override_the_profiles():
    us = {"tones": {"busy": "us-busy", "reorder": "us-reorder"}}
    assert line_tone_ends_the_call(fxo_lab(gateway=us), cadence("us-reorder"))
    assert not line_tone_ends_the_call(fxo_lab(gateway=us), cadence("cn-busy"))
    lab = fxo_lab(gateway={"disconnect": {"supervision": "timeout", "delay": 10.0}})
    lab.do(lab.gateway, "call", "3")
    lab.run(0.5)
    left = lab.net.now
    send_audio(lab, np.zeros(11 * RATE))
    ended = [r for r in lab.log if isinstance(r, CallEnded)]
    assert len(ended) == 1 and abs(ended[0].t - left - 10.0) <= 0.05


def test_talk_on_the_line_does_not_end_the_call():
    lab = fxo_lab()
    lab.do(lab.gateway, "call", "3")
    lab.run(0.5)
    t = np.arange(int(4 * RATE)) / RATE
    send_audio(lab, 3000 * np.sin(2 * np.pi * 450 * t) * (np.sin(2 * np.pi * 0.3 * t) > 0))
    assert not [r for r in lab.log if isinstance(r, CallEnded)]
    assert port_state(lab, "3") is PortState.CONNECTED


def test_a_silent_line_that_gives_no_tone_ends_the_call_at_its_bound():
    lab = fxo_lab("fxo-4-silent")
    lab.do(lab.gateway, "call", "3")
    lab.run(0.5)
    lab.gateway.take_events()
    talk = pcm(speech_like(np.random.default_rng(7), 20.0))  # pauses of a fifth of a second
    send_audio(lab, talk)
    assert not [r for r in lab.log if isinstance(r, CallEnded)]
    left = lab.net.now  # the far end hung up; the gateway sends silence packets on
    send_audio(lab, np.zeros(31 * RATE), first_seq=len(talk) // 160)
    ended = [r for r in lab.log if isinstance(r, CallEnded)]
    assert len(ended) == 1 and abs(ended[0].t - left - 30.0) <= 0.05
    assert ended[0].cause == "abandoned"  # a caller's hang-up while waiting in the queue
    late = [r for r in lab.log if isinstance(r, PortLateRelease)]
    assert [(r.gateway, r.port, r.trunk_group, r.seconds) for r in late] == [
        ("fxo1", "3", "pstn", 30.0)]
    assert "ended_by_peer" in kinds(lab.gateway.take_events())  # our BYE frees the line
    lab.run(1.0)
    assert port_state(lab, "3") is PortState.IDLE


def test_silence_on_a_line_that_gives_busy_tone_ends_nothing():
    lab = fxo_lab()
    lab.do(lab.gateway, "call", "3")
    lab.run(0.5)
    send_audio(lab, np.zeros(31 * RATE))
    assert not [r for r in lab.log if isinstance(r, CallEnded)]
    assert port_state(lab, "3") is PortState.CONNECTED


def test_in_band_keys_on_an_fxo_line_are_heard():
    lab = fxo_lab()
    lab.do(lab.gateway, "call", "1")
    lab.run(0.5)
    t = np.arange(int(0.1 * RATE)) / RATE
    key = 6000 * (np.sin(2 * np.pi * 697 * t) + np.sin(2 * np.pi * 1209 * t))  # "1"
    send_audio(lab, np.concatenate([key, np.zeros(int(0.2 * RATE))]))
    assert [(r.digit, r.via) for r in lab.log if isinstance(r, DigitReceived)] == [("1", "inband")]


def test_a_gateway_silent_to_options_takes_its_ports_out_and_back():
    lab = fxo_lab()
    lab.do(lab.gateway, "call", "4")
    lab.run(12)
    lab.gateway.take_events()
    lab.gateway.ignore_all = True
    lab.run(10 + 33)
    assert {port_state(lab, n) for n in "1234"} == {PortState.OUT_OF_SERVICE}
    assert len([r for r in lab.log if isinstance(r, CallEnded)]) == 1
    assert ports(lab).free_port("pstn") is None
    lab.gateway.ignore_all = False
    lab.run(10 + 1)
    assert {port_state(lab, n) for n in "1234"} == {PortState.IDLE}
    assert ports(lab).free_port("pstn").port == "1"


def two_gateway_lab() -> tuple[Lab, UserAgent]:
    """Two FXO cards serving one trunk group, its calls out going through them."""
    second = {**GATEWAYS[0], "name": "fxo2", "address": "10.0.0.3:5060",
              "ports": [{"ports": "1-4", "trunk_group": "pstn", "line": "service"}]}
    outbound = {"gateway": "10.0.0.2:5060", "prefix": "9"}
    site = live_site(agents=1, trunk={"kind": "analog", "channels": 8, "outbound": outbound},
                     routes=ROUTES, extra_queues=[{"name": "sales"}],
                     more={"gateways": [GATEWAYS[0], second]}, sip={"probe_interval": 10})
    lab = Lab(site, media_for=media_plane(60.0))
    lab.register_all()
    card = UserAgent("gw2", "", ("10.0.0.3", 5060), APPLIANCE, Random("gw2"))
    lab.net.attach(card.local, card)
    return lab, card


def test_calls_out_take_a_free_port_and_avoid_a_gateway_out_of_service():
    lab, card = two_gateway_lab()
    lab.do(lab.phones["a1"], "call", "90301234567")
    lab.run(1)
    assert kinds(lab.gateway.take_events()) == ["incoming"]
    assert port_state(lab, "1") is PortState.DIALING
    lab.do(lab.phones["a1"], "hangup", next(iter(lab.phones["a1"].calls)))
    lab.run(2)
    assert port_state(lab, "1") is PortState.IDLE
    lab.gateway.ignore_all = True
    lab.run(10 + 33)
    lab.do(lab.phones["a1"], "call", "90301234568")
    lab.run(1)
    assert kinds(card.take_events()) == ["incoming"]
    assert ports(lab).gateways["fxo2"].ports["1"].state is PortState.DIALING


def test_a_gateway_with_an_endpoint_per_port_is_told_apart_by_source_port():
    from appliance.clock import Deadlines
    from appliance.config.gateways import SiteGateway

    card = SiteGateway.model_validate({**GATEWAYS[0], "port_in": "source",
                                       "address": "10.0.0.2:5062"})
    found = GatewayPorts(Deadlines())
    found.apply([card])
    assert [found.port_of(("10.0.0.2", 5062 + k), "anything").port for k in range(4)] == [
        "1", "2", "3", "4"]
    assert found.port_of(("10.0.0.2", 5066), "1") is None
    assert [found.address_of(found.refs["fxo1", n]) for n in "14"] == [
        ("10.0.0.2", 5062), ("10.0.0.2", 5065)]
    assert found.addresses() == {("10.0.0.2", 5062): "fxo1"}
    assert [ref.line for ref in found.refs.values()] == ["sales", "sales", "service", "service"]
