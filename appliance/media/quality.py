"""RTCP with one party of a call (RFC 3550 6), sans-I/O: what we hear of them, what they say
of us, and the reports we send them.

Once the appliance rewrites the streams it sends (`appliance.media.stream`), each party's
RTCP is about streams only the appliance knows, so RTCP is no longer relayed: the appliance
reads each party's reports and sends its own. `Reception` keeps the statistics of the stream
a party sends (RFC 3550 A.1 counts and A.8 interarrival jitter, lean enough for every
packet); `RtcpParty` reads the party's RTCP (their sender report, for the LSR/DLSR echo;
their report block about our stream, for loss they saw and the round trip) and builds the
compound packets we send: SR (or RR before we have sent anything), SDES CNAME and, at the
end, BYE. `figures()` gives what a call center's quality report keeps per party.

Time is the caller's `now` in seconds; NTP timestamps are `now + ntp_epoch` (the Unix time of
`now == 0`, if the owner knows it) in NTP's era. Round trips need only that the clock be
steady: the party echoes our own timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.media.rtcp import (
    Bye,
    ReceiverReport,
    ReportBlock,
    RtcpError,
    RtcpPacket,
    SenderReport,
    SourceDescription,
    parse,
    serialize,
)
from appliance.media.rtp import MAX_DROPOUT, SEQ_MOD, ts_diff
from appliance.media.stream import OutboundStream

NTP_UNIX_OFFSET = 2_208_988_800  # seconds from 1900 (NTP) to 1970 (Unix)
REPORT_INTERVAL = 5.0
"""RFC 3550 6.2's minimum interval between reports; each is randomised to 0.5-1.5 times it."""


def ntp_time(seconds: float) -> int:
    """A 64-bit NTP timestamp for `seconds` since 1900 (32.32 fixed point)."""
    return int(seconds * (1 << 32)) & 0xFFFF_FFFF_FFFF_FFFF


def ntp_middle(ntp: int) -> int:
    """The middle 32 bits of an NTP timestamp: what LSR carries (RFC 3550 6.4.1)."""
    return (ntp >> 16) & 0xFFFF_FFFF


@dataclass(frozen=True)
class PartyQuality:
    """One party's media over a call: what the appliance received from them
    (`packets_received`, `packets_lost`, and the interarrival jitter of their stream, mean and
    max over the reporting intervals, in ms) and from their RTCP: the round trip to them
    (`rtt_ms`, the latest; None if their reports never echoed ours) and how many of our
    packets they last reported lost (`reported_lost`; None if they sent no report of us)."""

    packets_received: int
    packets_lost: int
    jitter_mean_ms: float
    jitter_max_ms: float
    rtt_ms: float | None
    reported_lost: int | None

    def as_tuple(self) -> tuple[int, int, float, float, float | None, int | None]:
        """The figures in the order the fields are declared."""
        return (self.packets_received, self.packets_lost, self.jitter_mean_ms,
                self.jitter_max_ms, self.rtt_ms, self.reported_lost)


class Reception:
    """Statistics of the stream one party sends: RFC 3550 A.1 without probation (the party
    was negotiated in SDP and latched; there is no stranger to sort out) and A.8's jitter.

    A change of SSRC (the party restarted its stream) starts the counts afresh, as a new
    source: losses are counted within one source only."""

    __slots__ = ("base", "clock_rate", "cycles", "expected_prior", "jitter", "max_seq",
                 "received", "received_prior", "ssrc", "transit")

    def __init__(self, clock_rate: int = 8000) -> None:
        self.clock_rate = clock_rate
        self.ssrc: int | None = None
        self.received = 0
        self.base = self.max_seq = self.cycles = 0
        self.expected_prior = self.received_prior = 0
        self.jitter = 0.0  # in timestamp units, as RFC 3550 A.8 keeps it
        self.transit: float | None = None

    def packet(self, sequence: int, timestamp: int, ssrc: int, now: float) -> None:
        """Count one packet the party sent (header fields as received)."""
        if ssrc != self.ssrc:
            self._restart(sequence, ssrc)
        delta = (sequence - self.max_seq) % SEQ_MOD
        if delta < MAX_DROPOUT:
            if sequence < self.max_seq:
                self.cycles += SEQ_MOD
            self.max_seq = sequence
        self.received += 1
        transit = now * self.clock_rate - timestamp
        previous = self.transit
        self.transit = transit
        if previous is not None:
            # Timestamps wrap at 2^32: take the difference the short way round.
            self.jitter += (abs(ts_diff(transit, previous)) - self.jitter) / 16

    @property
    def extended_highest(self) -> int:
        return self.cycles + self.max_seq

    @property
    def expected(self) -> int:
        return 0 if self.ssrc is None else self.extended_highest - self.base + 1

    @property
    def lost(self) -> int:
        """Packets missing from the source (duplicates can make it negative)."""
        return self.expected - self.received

    @property
    def jitter_ms(self) -> float:
        return 1000.0 * self.jitter / self.clock_rate

    def report_block(self, last_sr: int, delay: int) -> ReportBlock | None:
        """A report block about the party's stream, closing the reporting interval (A.3);
        None before the party sent anything."""
        if self.ssrc is None:
            return None
        expected, received = self.expected, self.received
        expected_interval = expected - self.expected_prior
        lost_interval = expected_interval - (received - self.received_prior)
        self.expected_prior, self.received_prior = expected, received
        fraction = 0
        if expected_interval > 0 and lost_interval > 0:
            fraction = min(255, (lost_interval << 8) // expected_interval)
        lost = max(-(1 << 23), min((1 << 23) - 1, expected - received))
        return ReportBlock(self.ssrc, fraction, lost, self.extended_highest & 0xFFFF_FFFF,
                           min(int(self.jitter), 0xFFFF_FFFF), last_sr, delay)

    def _restart(self, sequence: int, ssrc: int) -> None:
        self.ssrc = ssrc
        self.base = self.max_seq = sequence
        self.cycles = self.received = self.expected_prior = self.received_prior = 0
        self.jitter = 0.0
        self.transit = None


class RtcpParty:
    """RTCP with one party: `reception` of their stream, `stream` the one we send them."""

    __slots__ = ("_jitter_max", "_jitter_samples", "_jitter_sum", "_last_sr", "_last_sr_at",
                 "cname", "malformed", "ntp_epoch", "reception", "reported_lost", "rtt_ms",
                 "stream")

    def __init__(self, stream: OutboundStream, cname: str, ntp_epoch: float = 0.0) -> None:
        self.stream = stream
        self.cname = cname
        self.ntp_epoch = ntp_epoch
        self.reception = Reception(stream.clock_rate)
        self.rtt_ms: float | None = None
        self.reported_lost: int | None = None
        self.malformed = 0  # RTCP datagrams from the party that did not parse
        self._last_sr = 0  # the middle of their last SR's NTP timestamp
        self._last_sr_at = 0.0
        self._jitter_samples = 0
        self._jitter_sum = 0.0
        self._jitter_max = 0.0

    def _ntp(self, now: float) -> int:
        return ntp_time(now + self.ntp_epoch + NTP_UNIX_OFFSET)

    # --- what the party sends ---------------------------------------------------------

    def receive(self, data: bytes, now: float) -> None:
        """A datagram from the party's RTCP port; one that does not parse is counted in
        `malformed` and otherwise ignored."""
        try:
            packets = parse(data)
        except RtcpError:
            self.malformed += 1
            return
        for packet in packets:
            if isinstance(packet, SenderReport):
                self._last_sr = ntp_middle(packet.ntp_timestamp)
                self._last_sr_at = now
            if isinstance(packet, SenderReport | ReceiverReport):
                for block in packet.reports:
                    if block.ssrc == self.stream.ssrc:
                        self._their_report(block, now)

    def _their_report(self, block: ReportBlock, now: float) -> None:
        self.reported_lost = block.cumulative_lost
        if block.last_sr == 0:
            return  # they have had no SR from us yet: no round trip to compute
        arrival = ntp_middle(self._ntp(now))
        rtt = (arrival - block.last_sr - block.delay_since_last_sr) & 0xFFFF_FFFF
        if rtt < 1 << 31:  # a negative round trip (clock steps, a bad report) is no figure
            self.rtt_ms = 1000.0 * rtt / 65536

    # --- what we send the party -------------------------------------------------------

    def report(self, now: float, bye: bool = False) -> bytes:
        """Our compound RTCP packet for the party: SR if we have sent them RTP (else RR), with
        a block about their stream once they sent some, SDES CNAME, and BYE if `bye`. Closes
        the reporting interval and samples the jitter for `figures()`."""
        self._sample_jitter()
        delay = 0
        if self._last_sr:
            delay = min(int((now - self._last_sr_at) * 65536), 0xFFFF_FFFF)
        block = self.reception.report_block(self._last_sr, delay)
        blocks = () if block is None else (block,)
        stream = self.stream
        first: RtcpPacket
        if stream.packets and stream.last_sent_at is not None:
            elapsed = round((now - stream.last_sent_at) * stream.clock_rate)
            rtp_timestamp = (stream.last_timestamp + max(elapsed, 0)) & 0xFFFF_FFFF
            first = SenderReport(stream.ssrc, self._ntp(now), rtp_timestamp,
                                 stream.packets & 0xFFFF_FFFF, stream.octets & 0xFFFF_FFFF,
                                 blocks)
        else:
            first = ReceiverReport(stream.ssrc, blocks)
        packets: list[RtcpPacket] = [first, SourceDescription.with_cname(stream.ssrc,
                                                                           self.cname)]
        if bye:
            packets.append(Bye((stream.ssrc,)))
        return serialize(packets)

    def _sample_jitter(self) -> None:
        if self.reception.received < 2:
            return
        jitter = self.reception.jitter_ms
        self._jitter_samples += 1
        self._jitter_sum += jitter
        self._jitter_max = max(self._jitter_max, jitter)

    def figures(self) -> PartyQuality:
        """The party's figures so far (the jitter as of the last report, or now if none)."""
        if self._jitter_samples:
            mean, peak = self._jitter_sum / self._jitter_samples, self._jitter_max
        else:
            mean = peak = self.reception.jitter_ms if self.reception.received > 1 else 0.0
        reception = self.reception
        return PartyQuality(reception.received, max(0, reception.lost), round(mean, 2),
                            round(peak, 2), None if self.rtt_ms is None else round(self.rtt_ms, 2),
                            self.reported_lost)
