"""SDP parse/serialize (RFC 4566) and the RFC 3264 answer for G.711 audio."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.media.sdp import (
    Attribute,
    Connection,
    Media,
    Origin,
    RtpMap,
    Sdp,
    SdpError,
    answer,
    parse,
)

# RFC 4566 section 5, with LF line ends as many senders use.
RFC4566_EXAMPLE = """v=0
o=jdoe 2890844526 2890842807 IN IP4 10.47.16.5
s=SDP Seminar
i=A Seminar on the session description protocol
u=http://www.example.com/seminars/sdp.pdf
e=j.doe@example.com (Jane Doe)
c=IN IP4 224.2.17.12/127
t=2873397496 2873404696
a=recvonly
m=audio 49170 RTP/AVP 0
m=video 51372 RTP/AVP 99
a=rtpmap:99 h263-1998/90000
"""

# RFC 3264 section 10.1: Alice offers PCMU, PCMA, iLBC and two video codecs.
RFC3264_OFFER = (
    "v=0\r\n"
    "o=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com\r\n"
    "s=\r\n"
    "c=IN IP4 host.atlanta.example.com\r\n"
    "t=0 0\r\n"
    "m=audio 49170 RTP/AVP 0 8 97\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:97 iLBC/8000\r\n"
    "m=video 51372 RTP/AVP 31 32\r\n"
    "a=rtpmap:31 H261/90000\r\n"
    "a=rtpmap:32 MPV/90000\r\n"
)


def test_parse_the_rfc_4566_example() -> None:
    sdp = parse(RFC4566_EXAMPLE)
    assert sdp.origin == Origin("jdoe", 2890844526, 2890842807, "10.47.16.5")
    assert sdp.session_name == "SDP Seminar"
    assert sdp.connection == Connection("224.2.17.12/127")
    assert sdp.timing == ((2873397496, 2873404696),)
    assert sdp.direction == "recvonly"
    audio, video = sdp.media
    assert (audio.media, audio.port, audio.proto, audio.formats) == ("audio", 49170, "RTP/AVP",
                                                                     ("0",))
    assert audio.direction(sdp.direction) == "recvonly"
    assert audio.rtpmap(0) == RtpMap(0, "PCMU", 8000)  # static: no rtpmap needed
    assert video.rtpmap(99) == RtpMap(99, "h263-1998", 90000)
    assert [kind for kind, _ in sdp.other] == ["i", "u", "e"]
    assert str(sdp) == RFC4566_EXAMPLE.replace("\n", "\r\n")
    assert parse(str(sdp)) == sdp


def test_rfc_3264_offer_gets_pcmu_and_the_video_is_rejected() -> None:
    offer = parse(RFC3264_OFFER)
    assert str(offer) == RFC3264_OFFER
    result = answer(offer, "192.0.2.10", 40000, session_id=7, session_version=1)
    assert str(result) == (
        "v=0\r\n"
        "o=ccbox 7 1 IN IP4 192.0.2.10\r\n"
        "s=-\r\n"
        "c=IN IP4 192.0.2.10\r\n"
        "t=0 0\r\n"
        "m=audio 40000 RTP/AVP 0\r\n"
        "a=rtpmap:0 PCMU/8000\r\n"
        "a=sendrecv\r\n"
        "m=video 0 RTP/AVP 31 32\r\n"
    )


def offer_with(audio_lines: str, session_attributes: str = "") -> Sdp:
    return parse(
        "v=0\r\no=- 1 1 IN IP4 198.51.100.1\r\ns=-\r\nc=IN IP4 198.51.100.1\r\nt=0 0\r\n"
        + session_attributes + audio_lines
    )


def test_first_offered_supported_codec_wins_and_telephone_event_keeps_its_number() -> None:
    offer = offer_with(
        "m=audio 5004 RTP/AVP 18 8 0 101\r\n"
        "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendonly\r\n"
    )
    media = answer(offer, "192.0.2.10", 40000).media[0]
    assert media.formats == ("8", "101")
    assert media.rtpmap(8) == RtpMap(8, "PCMA", 8000)
    assert media.rtpmap(101) == RtpMap(101, "telephone-event", 8000)
    assert media.fmtp(101) == "0-16"
    assert media.ptime == 20
    assert media.direction() == "recvonly"


@pytest.mark.parametrize(
    ("offered", "answered"),
    [("sendrecv", "sendrecv"), ("sendonly", "recvonly"), ("recvonly", "sendonly"),
     ("inactive", "inactive")],
)
def test_direction_is_mirrored_from_media_or_session_level(offered: str, answered: str) -> None:
    at_media = offer_with(f"m=audio 5004 RTP/AVP 0\r\na={offered}\r\n")
    at_session = offer_with("m=audio 5004 RTP/AVP 0\r\n", f"a={offered}\r\n")
    for offer in (at_media, at_session):
        assert answer(offer, "192.0.2.10", 40000).media[0].direction() == answered


def test_dynamic_pcmu_is_accepted_under_the_offered_number() -> None:
    offer = offer_with("m=audio 5004 RTP/AVP 96\r\na=rtpmap:96 pcmu/8000\r\n")
    assert answer(offer, "192.0.2.10", 40000).media[0].formats == ("96",)


@pytest.mark.parametrize(
    "audio",
    [
        "m=audio 5004 RTP/AVP 18 101\r\na=rtpmap:101 telephone-event/8000\r\n",  # no codec
        "m=audio 0 RTP/AVP 0\r\n",  # disabled by the offerer
        "m=audio 5004 RTP/SAVP 0\r\n",  # SRTP: not ours
        "m=audio 5004 RTP/AVP 96\r\na=rtpmap:96 PCMU/16000\r\n",  # wrong clock rate
    ],
)
def test_streams_we_cannot_take_are_rejected_with_port_zero(audio: str) -> None:
    offered = offer_with(audio).media[0]
    media = answer(offer_with(audio), "192.0.2.10", 40000).media[0]
    assert media.rejected and media.formats == offered.formats and media.attributes == ()


def test_only_the_first_acceptable_audio_stream_is_taken() -> None:
    offer = offer_with("m=audio 5004 RTP/AVP 9\r\nm=audio 5006 RTP/AVP 0\r\n"
                       "m=audio 5008 RTP/AVP 8\r\n")
    assert [m.port for m in answer(offer, "192.0.2.10", 40000).media] == [0, 40000, 0]


def test_ipv6_address_and_custom_support() -> None:
    offer = offer_with("m=audio 5004 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n")
    result = answer(offer, "2001:db8::5", 40000, {"PCMA": 8})
    assert result.connection == Connection("2001:db8::5", "IN", "IP6")
    assert result.media[0].formats == ("8",)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "malformed line"),
        ("o=- 1 1 IN IP4 a\r\nv=0\r\ns=-\r\nt=0 0\r\n", "must begin with v=, o= and s="),
        ("v=1\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\n", "unsupported SDP version"),
        ("v=0\r\no=- x 1 IN IP4 a\r\ns=-\r\nt=0 0\r\n", "must be digits"),
        ("v=0\r\no=- 1 1 IN IP4\r\ns=-\r\nt=0 0\r\n", "malformed o= line"),
        ("v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\n", "no t= line"),
        ("v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0\r\n", "malformed t= line"),
        ("v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nc=IN IP4\r\nt=0 0\r\n", "malformed c= line"),
        ("v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\nm=audio x RTP/AVP 0\r\n", "malformed m="),
        ("v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\nm=audio 70000 RTP/AVP 0\r\n",
         "malformed m="),
        ("v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\nm=audio 1 RTP/AVP\r\n", "malformed m="),
        ("v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\nt=0 0\r\n",
         "unexpected t= line in the audio section"),
        ("v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\na=ptime:x\r\n", "malformed ptime"),
        ("v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\nx y\r\n", "malformed line"),
        (b"v=0\r\no=- 1 1 IN IP4 \xff\r\ns=-\r\nt=0 0\r\n", "not UTF-8"),
    ],
)
def test_malformed_descriptions_say_why(text: str | bytes, reason: str) -> None:
    with pytest.raises(SdpError, match=reason):
        parse(text)


UNKNOWN_CODEC_OFFER = (
    "v=0\r\no=- 1 1 IN IP4 192.0.2.5\r\ns=-\r\nc=IN IP4 192.0.2.5\r\nt=0 0\r\n"
    "m=audio 49170 RTP/AVP 31 0 101\r\n"
    "a=rtpmap:31 LPC\r\na=fmtp:31\r\na=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n"
)


def test_an_unknown_codec_beside_pcmu_is_ignored_and_pcmu_answered() -> None:
    result = answer(parse(UNKNOWN_CODEC_OFFER), "192.0.2.10", 40000)
    [audio] = result.media
    assert (audio.port, audio.formats) == (40000, ("0", "101"))


def test_an_unreadable_rtpmap_for_a_static_type_falls_back_on_its_rfc_3551_meaning() -> None:
    offer = parse(UNKNOWN_CODEC_OFFER.replace("a=rtpmap:0 PCMU/8000", "a=rtpmap:0 PCMU"))
    assert offer.media[0].rtpmap(0) == RtpMap(0, "PCMU", 8000)
    assert answer(offer, "192.0.2.10", 40000).media[0].formats == ("0", "101")


def test_bad_local_port_is_refused() -> None:
    with pytest.raises(SdpError):
        answer(parse(RFC3264_OFFER), "192.0.2.10", 0)


word = st.text("abcdefghijklmnopqrstuvwxyz0123456789.-", min_size=1, max_size=10)
phrase = st.lists(word, min_size=1, max_size=3).map(" ".join)
attributes = st.lists(
    st.builds(Attribute, word, st.none() | phrase).filter(
        lambda a: a.name not in {"rtpmap", "fmtp", "ptime"}
    )
    | st.builds(lambda pt, name, rate: Attribute("rtpmap", str(RtpMap(pt, name, rate))),
                st.integers(0, 127), word.filter(lambda w: "/" not in w), st.integers(1, 96000)),
    max_size=4,
).map(tuple)
connections = st.none() | st.builds(Connection, word)
media = st.builds(
    Media, st.sampled_from(["audio", "video", "application"]), st.integers(0, 65535),
    st.sampled_from(["RTP/AVP", "RTP/SAVP", "udp"]), st.lists(word, min_size=1, max_size=4)
    .map(tuple), connections, attributes, st.none() | st.integers(1, 4),
    st.lists(st.tuples(st.sampled_from("ibk"), phrase), max_size=2)
    .map(lambda lines: tuple(sorted(lines, key=lambda line: "ibk".index(line[0])))),
)
descriptions = st.builds(
    Sdp, st.builds(Origin, word, st.integers(0, 2**63), st.integers(0, 2**63), word),
    phrase, connections, st.lists(st.tuples(st.integers(0, 2**32), st.integers(0, 2**32)),
                                  min_size=1, max_size=2).map(tuple),
    attributes, st.lists(media, max_size=3).map(tuple),
)


@given(descriptions)
def test_generated_descriptions_round_trip(sdp: Sdp) -> None:
    assert parse(str(sdp)) == sdp
    assert parse(bytes(sdp)) == sdp


@given(st.text(max_size=200) | st.binary(max_size=200))
def test_random_text_raises_only_sdp_error(text: str | bytes) -> None:
    try:
        sdp = parse(text)
    except SdpError:
        return
    assert str(parse(str(sdp))) == str(sdp)  # canonical form is a fixed point


@given(descriptions)
def test_any_parsed_offer_gets_an_answer_with_one_line_per_stream(offer: Sdp) -> None:
    result = answer(offer, "192.0.2.10", 40000)
    assert len(result.media) == len(offer.media)
    assert sum(not m.rejected for m in result.media) <= 1
    assert parse(str(result)) == result
