"""An agent's phone holds its caller by re-INVITE, with the media anchored: the caller hears the
site's music on hold, the agent nothing, until the phone resumes. Signalling runs on the
simulated network; RTP is fed to and read from the media plane directly."""

from __future__ import annotations

import pytest

from appliance.media import sdp
from appliance.pbx.sip.message import Response, parse, parse_cseq
from sim.sipua import offer_sdp
from tests.appliance.pbx.b2bua.harness import APPLIANCE, Lab
from tests.appliance.pbx.b2bua.test_media import (
    CALLER_MEDIA,
    PHONE_MEDIA,
    answered,
    media_lab,
    rtp,
    sent,
)

CALLER_PORT, AGENT_PORT = 30000, 30002  # the relay's ports facing each party
HOLDS = {
    "sendonly": offer_sdp(*PHONE_MEDIA, "sendonly"),
    "inactive": offer_sdp(*PHONE_MEDIA, "inactive"),
    "c=0.0.0.0": offer_sdp("0.0.0.0", PHONE_MEDIA[1]),
}


def talking() -> tuple[Lab, int, int]:
    """A caller and agent a1 in conversation, each heard once by the relay (latched)."""
    lab = media_lab()
    call = answered(lab)
    incoming = next(iter(lab.phones["a1"].calls))
    exchange(lab, 1)
    sent(lab)
    return lab, call, incoming


def exchange(lab: Lab, seq: int) -> list:
    """One packet from each party, 0.2 s of the relay's output after it."""
    lab.box.receive_media(CALLER_PORT, rtp(seq), CALLER_MEDIA, lab.net.now)
    lab.box.receive_media(AGENT_PORT, rtp(seq, ssrc=0x99), PHONE_MEDIA, lab.net.now)
    lab.run(0.2)
    return sent(lab)


def reinvite(lab: Lab, incoming: int, body: bytes) -> bytes:
    """The agent's phone sends `body` in a re-INVITE; the appliance's 2xx answer's body."""
    trace = lab.net.trace = []
    lab.do(lab.phones["a1"], "reinvite", incoming, body)
    lab.run(0.5)
    lab.net.trace = None
    answers = [parse(data) for _, source, destination, data in trace
               if (source, destination) == (APPLIANCE, lab.phones["a1"].local)]
    [ok] = [m for m in answers if type(m) is Response and m.status == 200
            and parse_cseq(m.headers.get("CSeq") or "")[1] == "INVITE"]
    return ok.body


@pytest.mark.parametrize("style", HOLDS)
def test_a_caller_held_by_the_agent_hears_music_and_the_agent_hears_nothing(style: str) -> None:
    lab, call, incoming = talking()
    answer = reinvite(lab, incoming, HOLDS[style])
    # The caller is told the appliance sends (music), however the phone held; the phone's
    # answer mirrors its own offer.
    told = sdp.parse(lab.gateway.calls[call].remote_body)
    assert sdp.audio_direction(told) == "sendonly" and told.media[0].port == CALLER_PORT
    offered = sdp.audio_direction(sdp.parse(HOLDS[style]))
    assert sdp.audio_direction(sdp.parse(answer)) == sdp.mirrored(offered or "")
    assert lab.box.media.playing(1) == "music"
    lab.run(1.0)
    packets = exchange(lab, 2)
    assert {(port, to) for port, _, to in packets} == {(CALLER_PORT, CALLER_MEDIA)}
    assert len(packets) >= 55  # 1.2 s of music at 50 packets a second
    assert 0x99 not in {packet.ssrc for _, packet, _ in packets}  # the agent's not relayed
    assert "CallHeld" in lab.record_types()


def test_resumed_the_music_stops_and_the_parties_hear_each_other_again() -> None:
    lab, call, incoming = talking()
    reinvite(lab, incoming, HOLDS["sendonly"])
    lab.run(1.0)
    answer = reinvite(lab, incoming, offer_sdp(*PHONE_MEDIA))
    assert sdp.audio_direction(sdp.parse(answer)) == "sendrecv"
    assert sdp.audio_direction(sdp.parse(lab.gateway.calls[call].remote_body)) == "sendrecv"
    assert lab.box.media.playing(1) is None
    sent(lab)
    packets = exchange(lab, 3)
    assert [(port, to) for port, _, to in packets] == [(AGENT_PORT, PHONE_MEDIA),
                                                      (CALLER_PORT, CALLER_MEDIA)]
    assert packets[1][1].payload == rtp(3, ssrc=0x99)[12:]
    assert "CallResumed" in lab.record_types()


def test_a_caller_who_holds_the_agent_is_relayed_as_before_without_music() -> None:
    lab, call, _ = talking()
    lab.do(lab.gateway, "reinvite", call, offer_sdp(*CALLER_MEDIA, "sendonly"))
    lab.run(0.5)
    assert lab.box.media.playing(1) is None
    # The caller's side plays its own music, if any: the agent hears it.
    packets = exchange(lab, 2)
    assert (AGENT_PORT, PHONE_MEDIA) in [(port, to) for port, _, to in packets]


def test_a_held_caller_whose_agent_hangs_up_is_released_with_the_music() -> None:
    lab, call, incoming = talking()
    reinvite(lab, incoming, HOLDS["sendonly"])
    lab.do(lab.phones["a1"], "hangup", incoming)
    lab.run(1.0)
    assert lab.gateway.calls[call].state == "ended"
    assert lab.box.media.calls == {} and lab.box.media.relay.sessions == {}
