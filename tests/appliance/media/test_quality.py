"""RTCP with one party: reception statistics of their stream, their reports read, ours built
as RFC 3550 asks, and the figures a quality report keeps."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.media import rtcp
from appliance.media.quality import NTP_UNIX_OFFSET, Reception, RtcpParty, ntp_middle, ntp_time
from appliance.media.stream import OutboundStream


@given(first=st.integers(0, 65535), count=st.integers(1, 300),
       lost=st.sets(st.integers(1, 299), max_size=30))
def test_loss_and_the_highest_sequence_run_on_across_the_16_bit_wrap(first, count, lost):
    reception = Reception()
    arrived = [n for n in range(count) if n not in lost]
    for n in arrived:
        reception.packet((first + n) % 65536, 160 * n, 7, 0.02 * n)
    assert reception.received == len(arrived)
    assert reception.extended_highest - reception.base == arrived[-1]
    assert reception.lost == arrived[-1] + 1 - len(arrived)
    block = reception.report_block(0, 0)
    assert block is not None and block.cumulative_lost == reception.lost
    assert block.fraction_lost == (reception.lost << 8) // (arrived[-1] + 1)


def test_steady_packets_have_no_jitter_and_a_late_one_shows():
    reception = Reception()
    for n in range(100):
        reception.packet(n, 160 * n, 7, 0.02 * n)
    assert reception.jitter_ms == pytest.approx(0, abs=1e-6)
    reception.packet(100, 160 * 100, 7, 0.02 * 100 + 0.032)  # 32 ms late
    assert reception.jitter_ms == pytest.approx(2.0)  # A.8: a sixteenth of the deviation


def test_timestamps_that_wrap_do_not_look_like_jitter():
    reception = Reception()
    start = 2**32 - 800
    for n in range(20):
        reception.packet(n, (start + 160 * n) % 2**32, 7, 0.02 * n)
    assert reception.jitter_ms == pytest.approx(0, abs=1e-6)


def test_a_new_ssrc_starts_the_counts_afresh():
    reception = Reception()
    for n in range(10):
        reception.packet(n, 160 * n, 7, 0.02 * n)
    reception.packet(5000, 0, 8, 0.3)
    assert (reception.ssrc, reception.received, reception.lost) == (8, 1, 0)


def party() -> RtcpParty:
    return RtcpParty(OutboundStream(0xAAAA, 0, 0), "ccbox@192.0.2.1", ntp_epoch=1_800_000_000)


def test_before_we_send_anything_we_send_a_receiver_report_and_then_sender_reports():
    ours = party()
    first, sdes = rtcp.parse(ours.report(1.0))
    assert first == rtcp.ReceiverReport(0xAAAA)  # and no block: they sent nothing yet
    assert sdes.chunks[0].cname == "ccbox@192.0.2.1"
    ours.stream.own(0, b"\xff" * 160, 160, True, 1.0)
    ours.reception.packet(1, 160, 0x5555, 1.0)
    sr, _ = rtcp.parse(ours.report(1.5))
    assert isinstance(sr, rtcp.SenderReport)
    assert (sr.packet_count, sr.octet_count, sr.rtp_timestamp) == (1, 160, 4000)
    assert sr.ntp_timestamp == ntp_time(1.5 + 1_800_000_000 + NTP_UNIX_OFFSET)
    assert [b.ssrc for b in sr.reports] == [0x5555]
    *_, bye = rtcp.parse(ours.report(2.0, bye=True))
    assert bye == rtcp.Bye((0xAAAA,))


def test_their_sender_report_is_echoed_with_the_time_we_held_it():
    ours = party()
    ours.reception.packet(1, 160, 0x5555, 1.0)
    theirs = rtcp.SenderReport(0x5555, 0x1234_5678_9ABC_DEF0, 0, 1, 160)
    ours.receive(bytes(theirs), 2.0)
    sr = rtcp.parse(ours.report(2.25))[0]
    block = sr.reports[0]
    assert block.last_sr == ntp_middle(theirs.ntp_timestamp) == 0x5678_9ABC
    assert block.delay_since_last_sr == 0.25 * 65536


def test_the_round_trip_comes_from_their_block_about_our_stream():
    ours = party()
    ours.stream.own(0, b"\xff" * 160, 160, True, 0.0)
    sr = rtcp.parse(ours.report(5.0))[0]
    lsr = ntp_middle(sr.ntp_timestamp)
    about_us = rtcp.ReportBlock(0xAAAA, 0, 3, 0, 0, lsr, int(0.5 * 65536))
    about_another = rtcp.ReportBlock(0xBBBB, 0, 99, 0, 0, lsr, 0)
    ours.receive(bytes(rtcp.ReceiverReport(0x5555, (about_another, about_us))), 5.62)
    figures = ours.figures()
    assert figures.rtt_ms == pytest.approx(120, abs=0.1)
    assert figures.reported_lost == 3


def test_a_report_that_would_make_the_round_trip_negative_is_no_figure():
    ours = party()
    ours.stream.own(0, b"\xff" * 160, 160, True, 0.0)
    lsr = ntp_middle(rtcp.parse(ours.report(5.0))[0].ntp_timestamp)
    block = rtcp.ReportBlock(0xAAAA, 0, 0, 0, 0, lsr, 65536)  # held 1 s, back after 0.1 s
    ours.receive(bytes(rtcp.ReceiverReport(0x5555, (block,))), 5.1)
    assert ours.figures().rtt_ms is None


@given(st.binary(max_size=80))
def test_rtcp_that_does_not_parse_is_counted_never_raised(data):
    ours = party()
    ours.receive(data, 1.0)
    try:
        rtcp.parse(data)
    except rtcp.RtcpError:
        assert ours.malformed == 1
    else:
        assert ours.malformed == 0


def test_jitter_figures_are_the_mean_and_max_over_report_intervals():
    ours = party()
    now = 0.0
    for n in range(300):
        late = 0.01 if 100 <= n < 110 else 0.0  # a rough patch in the middle
        now = 0.02 * n + late
        ours.reception.packet(n, 160 * n, 0x5555, now)
        if n % 50 == 49:
            ours.report(now)
    figures = ours.figures()
    assert figures.jitter_max_ms > figures.jitter_mean_ms > 0
    assert (figures.packets_received, figures.packets_lost) == (300, 0)
