"""One RTP stream towards a party across prompts, music and relayed audio: one SSRC,
sequence numbers by one, timestamps that follow the clock, the marker where the source
changes; relayed packets keep their order, gaps and RFC 4733 event timestamps."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from appliance.media.rtp import RtpPacket, parse, seq_diff, ts_diff
from appliance.media.stream import MIN_STEP, OutboundStream

SSRC = 0xC0FFEE
AUDIO = b"\xff" * 160


def relayed(sequence: int, timestamp: int, ssrc: int = 0x1234, payload_type: int = 0,
            marker: bool = False, payload: bytes = AUDIO) -> bytes:
    return bytes(RtpPacket(payload_type, sequence % 65536, timestamp % 2**32, ssrc, payload,
                           marker=marker))


def own(stream: OutboundStream, now: float, talkspurt: bool = False) -> RtpPacket:
    return parse(stream.own(0, AUDIO, 160, talkspurt, now))


# Streams and sources that start anywhere, near the wrap of 16 and 32 bits most of all.
sequences = st.one_of(st.integers(0, 65535), st.integers(65500, 65535))
timestamps = st.one_of(st.integers(0, 2**32 - 1), st.integers(2**32 - 20_000, 2**32 - 1))
steps = st.lists(
    st.tuples(st.sampled_from(["own", "talkspurt", "relay"]), st.integers(0, 2),
              st.floats(0.0, 0.5)),
    min_size=1, max_size=120)


@given(first_sequence=sequences, first_timestamp=timestamps, steps=steps,
       starts=st.lists(st.tuples(sequences, timestamps), min_size=3, max_size=3))
def test_any_interleaving_of_sources_is_one_continuous_stream(first_sequence, first_timestamp,
                                                              steps, starts):
    stream = OutboundStream(SSRC, first_sequence, first_timestamp)
    counters = [list(start) for start in starts]  # each relayed source's next (seq, ts)
    now = 0.0
    sent: list[tuple[RtpPacket, str, float]] = []
    for kind, source, gap in steps:
        now += gap
        if kind == "relay":
            seq, ts = counters[source]
            payload = bytes([source]) * 160
            packet = parse(stream.relay(relayed(seq, ts, 0x1000 + source, payload=payload),
                                        now))
            assert packet.payload == payload
            counters[source] = [seq + 1, ts + 160]
            sent.append((packet, f"relay{source}", now))
        else:
            sent.append((own(stream, now, kind == "talkspurt"), "own", now))
    packets = [packet for packet, _, _ in sent]
    assert {packet.ssrc for packet in packets} == {SSRC}
    assert packets[0].sequence == first_sequence and packets[0].timestamp == first_timestamp
    assert all(seq_diff(b.sequence, a.sequence) == 1 for a, b in pairwise(packets))
    for (before, source_before, at_before), (after, source_after, at_after) in pairwise(sent):
        changed = source_before != source_after
        advance = ts_diff(after.timestamp, before.timestamp)
        if changed or (source_after == "own" and after.marker):
            # A new source (or talkspurt) starts when the clock says, never overlapping.
            assert after.marker
            assert advance == max(MIN_STEP, round((at_after - at_before) * 8000))
        else:
            assert not after.marker and advance == 160


@given(start=st.tuples(sequences, timestamps), first=st.tuples(sequences, timestamps),
       order=st.permutations(range(12)), duplicates=st.lists(st.integers(0, 11), max_size=4),
       missing=st.sets(st.integers(1, 11), max_size=4))
def test_reordered_duplicated_and_missing_packets_keep_their_order_and_gaps(
        start, first, order, duplicates, missing):
    stream = OutboundStream(SSRC, *start)
    # The first packet of the source arrives first; the rest in any order, some twice, some
    # never.
    arrivals = [0] + [n for n in order if n not in missing and n != 0] + duplicates
    sequence0, timestamp0 = first
    inputs = [relayed(sequence0 + n, timestamp0 + 160 * n) for n in arrivals]
    outputs = [parse(stream.relay(packet, 0.02 * i)) for i, packet in enumerate(inputs)]
    for a_in, a_out in zip(inputs, outputs, strict=True):
        a = parse(a_in)
        for b_in, b_out in zip(inputs, outputs, strict=True):
            b = parse(b_in)
            assert seq_diff(b_out.sequence, a_out.sequence) == seq_diff(b.sequence, a.sequence)
            assert ts_diff(b_out.timestamp, a_out.timestamp) == ts_diff(b.timestamp, a.timestamp)
    # Whatever came in, the next source goes on after the highest sequence number sent.
    highest = max(arrivals)
    after = own(stream, 10.0)
    assert seq_diff(after.sequence, outputs[0].sequence) == highest + 1


def test_a_relayed_source_after_music_starts_where_the_clock_is():
    stream = OutboundStream(SSRC, 65534, 2**32 - 160)
    for n in range(3):
        last = own(stream, 0.02 * n, talkspurt=n == 0)
    agent = parse(stream.relay(relayed(4000, 123_456, marker=False), 0.54))  # 500 ms later
    assert agent.marker and agent.sequence == 1  # 65534, 65535, 0 for the music; then 1
    assert ts_diff(agent.timestamp, last.timestamp) == 4000
    following = parse(stream.relay(relayed(4001, 123_616), 0.56))
    assert not following.marker and following.sequence == 2
    assert ts_diff(following.timestamp, agent.timestamp) == 160


def test_relayed_headers_keep_everything_but_the_numbers_and_the_source():
    stream = OutboundStream(SSRC, 0, 0)
    packet = RtpPacket(101, 9, 900, 0x1234, b"\x05\x0a\x00\xa0", marker=True, csrcs=(7,))
    out = parse(stream.relay(bytes(packet), 0.0))
    assert (out.payload_type, out.payload, out.csrcs, out.marker) == (101, packet.payload, (7,),
                                                                      True)
    assert (out.ssrc, out.sequence, out.timestamp) == (SSRC, 0, 0)
    assert (stream.packets, stream.octets) == (1, len(bytes(packet)) - 12)


def test_an_rfc4733_event_keeps_one_timestamp_even_when_music_cuts_in():
    stream = OutboundStream(SSRC, 100, 50_000)
    own(stream, 0.0, talkspurt=True)
    event = [relayed(500 + n, 80_000, payload_type=101, marker=n == 0,
                     payload=bytes([5, 0x0A]) + (160 * (n + 1)).to_bytes(2, "big"))
             for n in range(4)]
    first = parse(stream.relay(event[0], 0.10))
    second = parse(stream.relay(event[1], 0.15))
    own(stream, 0.16)  # a stray music packet between two packets of the event
    third = parse(stream.relay(event[2], 0.20))
    fourth = parse(stream.relay(event[3], 0.25))
    assert first.timestamp == second.timestamp == third.timestamp == fourth.timestamp
    assert first.marker  # the event's own marker, and a change of source
    assert [p.sequence for p in (first, second, third, fourth)] == [101, 102, 104, 105]


def test_a_party_that_changes_ssrc_is_a_new_source_with_the_marker():
    stream = OutboundStream(SSRC, 0, 0)
    parse(stream.relay(relayed(10, 1000, ssrc=1), 0.0))
    restarted = parse(stream.relay(relayed(30000, 9_000_000, ssrc=2), 1.0))
    assert restarted.marker and restarted.sequence == 1
    assert restarted.timestamp == 8000  # one second after the packet before
