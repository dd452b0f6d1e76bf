"""The B2BUA's small parts: SDP hold and declining answers (as `appliance.media.sdp` reads and
writes them for the B2BUA), session-timer terms, trunk peers, live config."""

from __future__ import annotations

import pytest
import yaml

from appliance.config import ConfigError, parse_site
from appliance.config.live import parse_peer
from appliance.media.sdp import (
    audio_direction,
    declining,
    is_hold,
    mirrored,
    parse,
    readable,
)
from appliance.pbx.b2bua.peers import TrunkPeers
from appliance.pbx.b2bua.session import expiry_margin, parse_session_expires, uas_session_terms
from appliance.pbx.sip.headers import Headers
from appliance.pbx.sip.message import Request
from tests.factories import site_dict

OFFER = (b"v=0\r\no=a 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
         b"m=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n")


@pytest.mark.parametrize(("extra", "expected"), [
    (b"", "sendrecv"),
    (b"a=sendonly\r\n", "sendonly"),
    (b"a=inactive\r\n", "inactive"),
    (b"a=recvonly\r\n", "recvonly"),
])
def test_direction_of_the_audio_stream(extra: bytes, expected: str) -> None:
    assert audio_direction(parse(OFFER + extra)) == expected
    assert is_hold(OFFER + extra) is (expected in ("sendonly", "inactive"))


def test_session_level_direction_applies_when_the_stream_has_none() -> None:
    body = OFFER.replace(b"t=0 0\r\n", b"t=0 0\r\na=sendonly\r\n")
    assert audio_direction(parse(body)) == "sendonly"
    assert is_hold(body)
    no_audio = OFFER.split(b"m=")[0] + b"m=video 5000 RTP/AVP 31\r\n"
    assert audio_direction(parse(no_audio)) is None
    assert not is_hold(b"v=0\r\ns=-\r\n")  # unreadable: holds nothing


def test_an_offer_to_send_to_0_0_0_0_holds_the_call_as_rfc_2543_phones_do() -> None:
    assert is_hold(OFFER.replace(b"c=IN IP4 192.0.2.1", b"c=IN IP4 0.0.0.0"))
    stream_level = OFFER.replace(b"m=audio 4000 RTP/AVP 0 8 101\r\n",
                                 b"m=audio 4000 RTP/AVP 0 8 101\r\nc=IN IP4 0.0.0.0\r\n")
    assert is_hold(stream_level)


@pytest.mark.parametrize(("offered", "answered"), [
    ("sendrecv", "sendrecv"), ("sendonly", "recvonly"), ("recvonly", "sendonly"),
    ("inactive", "inactive"),
])
def test_an_answer_mirrors_the_offered_direction(offered: str, answered: str) -> None:
    assert mirrored(offered) == answered


def test_declining_answer_refuses_every_stream_with_port_zero() -> None:
    answer = bytes(declining(readable(OFFER), "198.51.100.7", 42)).decode()
    assert "m=audio 0 RTP/AVP 0 8 101\r\n" in answer
    assert "c=IN IP4 198.51.100.7" in answer and answer.endswith("\r\n")
    assert [m.port for m in parse(answer).media] == [0]
    bare = bytes(declining(readable(b""), "2001:db8::7", 42)).decode()
    assert "c=IN IP6 2001:db8::7" in bare and "m=" not in bare


@pytest.mark.parametrize(("value", "expected"), [
    ("1800;refresher=uac", (1800, "uac")),
    ("90 ; refresher = UAS", (90, "uas")),
    ("600", (600, None)),
    ("abc", None),
    (None, None),
])
def test_session_expires_values(value: str | None, expected: object) -> None:
    assert parse_session_expires(value) == expected


def _invite(*pairs: tuple[str, str]) -> Request:
    return Request("INVITE", "sip:100@b", Headers([
        ("Via", "SIP/2.0/UDP a;branch=z9hG4bK1"), ("Max-Forwards", "70"),
        ("From", "<sip:a@a>;tag=1"), ("To", "<sip:100@b>"), ("Call-ID", "c"),
        ("CSeq", "1 INVITE"), *pairs]))


def test_uas_terms_follow_rfc_4028() -> None:
    assert uas_session_terms(_invite(), 1800, 90).interval == 1800  # we refresh
    too_small = uas_session_terms(_invite(("Session-Expires", "60")), 1800, 90)
    assert too_small.refusal == 422
    theirs = uas_session_terms(
        _invite(("Session-Expires", "300;refresher=uac"), ("Supported", "timer")), 1800, 90)
    assert (theirs.interval, theirs.we_refresh) == (300, False)
    # A UAC that does not support timers cannot refresh, whatever it asked for.
    unsupported = uas_session_terms(_invite(("Session-Expires", "300;refresher=uac")), 1800, 90)
    assert unsupported.we_refresh
    assert expiry_margin(90) == 30 and expiry_margin(1800) == 32


def _groups(*peers: list[str]) -> list:
    data = site_dict()
    data["trunk_groups"] = [{"name": f"g{i}", "kind": "sip", "channels": 1, "peers": p}
                            for i, p in enumerate(peers)]
    data["routes"] = [{"trunk_group": "g0", "queue": "service"}]
    return parse_site(yaml.safe_dump(data), source="<t>").trunk_groups


def test_trunk_peers_match_address_port_and_network_first_match_wins() -> None:
    peers = TrunkPeers(_groups(["192.0.2.7:5062"], ["192.0.2.0/24", "[2001:db8::1]"]))
    assert peers.group_for(("192.0.2.7", 5062)) == "g0"
    assert peers.group_for(("192.0.2.7", 5060)) == "g1"  # other port: the network matches
    assert peers.group_for(("2001:db8::1", 5060)) == "g1"
    assert peers.group_for(("198.51.100.1", 5060)) is None  # a phone: must authenticate
    assert peers.group_for(("not-an-ip", 5060)) is None


def test_bad_peers_and_phone_entries_name_the_field() -> None:
    with pytest.raises(ValueError, match="expected an IP address"):
        parse_peer("gateway.example")
    data = site_dict()
    data["trunk_groups"][0]["peers"] = ["10.0.0.1:99999"]
    data["sip"] = {"phones": [{"user": "a1", "ha1_md5": "xyz"}]}
    with pytest.raises(ConfigError) as error:
        parse_site(yaml.safe_dump(data), source="site.yaml")
    text = str(error.value)
    assert "trunk_groups[0]" in text and "peers" in text and "65535" in text
    assert "sip.phones[0].ha1_md5" in text
