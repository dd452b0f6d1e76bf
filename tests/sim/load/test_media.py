"""The load's RTP: where an SDP receives, packets sent on the grid, what comes back counted
and its gaps found (a fake clock drives the sender)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct

from sim.load.media import GAP, SAMPLES, Heard, LoadMedia, rtp_address
from sim.load.pacing import BURST
from sim.sipua import offer_sdp


def test_the_address_an_sdp_receives_on() -> None:
    assert rtp_address(offer_sdp("127.0.0.1", 40000)) == ("127.0.0.1", 40000)
    assert rtp_address(b"v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 0 RTP/AVP 0\r\n") is None
    assert rtp_address(b"") is None


async def _echo_then_silence(media: LoadMedia, relay: socket.socket) -> None:
    """Two streams to `relay`, which answers the first one's packets only."""
    running = asyncio.create_task(media.run())
    await asyncio.sleep(0)
    sdp = offer_sdp(*relay.getsockname())
    media.start("caller", sdp)
    media.start("agent", sdp)
    media.start("caller", sdp)  # once a key
    caller = media.streams["caller"].sock.getsockname()
    loop = asyncio.get_running_loop()
    while media.seen.received < 3:
        data, source = await loop.sock_recvfrom(relay, 2048)
        assert len(data) == 12 + SAMPLES and data[1] == 0  # PCMU
        if source == caller:
            relay.sendto(data, source)
    await asyncio.sleep(0.05)
    media.stop("caller")
    media.stop("agent")
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running


def test_packets_go_out_on_every_stream_and_what_comes_back_is_counted() -> None:
    relay = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    relay.bind(("127.0.0.1", 0))
    relay.setblocking(False)
    media = LoadMedia("127.0.0.1")
    try:
        asyncio.run(_echo_then_silence(media, relay))
    finally:
        relay.close()
    seen = media.seen
    assert seen.streams == 2 and seen.sent >= 3 and seen.received >= 3
    assert seen.silent == 1  # the agent's stream heard nothing back
    assert not media.streams


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _relay() -> socket.socket:
    relay = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    relay.bind(("127.0.0.1", 0))
    relay.settimeout(5)  # loopback delivers at once; this only bounds a broken run
    return relay


def _drain(relay: socket.socket, count: int) -> list[tuple[bytes, tuple[str, int]]]:
    return [relay.recvfrom(2048) for _ in range(count)]


def _stamps(packets: list[tuple[bytes, tuple[str, int]]]) -> list[tuple[int, int]]:
    return [struct.unpack("!HI", data[2:8]) for data, _ in packets]


async def _late_sender(media: LoadMedia, clock: FakeClock, relay: socket.socket) -> list:
    media.open()
    clock.now = 0.005
    media.start("caller", offer_sdp(*relay.getsockname()))
    packets = []
    for now, count in ((0.01, 0), (0.02, 1), (0.045, 1), (0.1, 3), (0.1, 0), (1.0, BURST)):
        clock.now = now
        media.tick(now)
        packets += _drain(relay, count)
    media.stop("caller")
    return packets


def test_late_rounds_are_caught_up_up_to_a_burst_and_the_stamps_follow_the_ticks() -> None:
    clock, relay = FakeClock(), _relay()
    media = LoadMedia("127.0.0.1", clock)
    try:
        packets = asyncio.run(_late_sender(media, clock, relay))
    finally:
        relay.close()
    # Ticks 1 (0.02), 2 (0.04), 3-5 (0.1), then 50 at 1.0: 46-50 sent, 6-45 skipped.
    ticks = [1, 2, 3, 4, 5, *range(50 - BURST + 1, 51)]
    assert _stamps(packets) == [(seq, (tick - 1) * SAMPLES) for seq, tick in enumerate(ticks)]
    assert len({source for _, source in packets}) == 1
    seen = media.seen
    assert (seen.sent, seen.late, seen.skipped) == (len(ticks), 2 + BURST - 1, 45 - BURST)


def test_audio_back_is_counted_and_its_gaps_found() -> None:
    heard = Heard()
    for now in (1.0, 1.02, 1.04, 1.04 + GAP + 0.5, 1.04 + GAP + 0.52):
        heard.packet(now)
    heard.end(1.04 + GAP + 0.6)
    assert heard.count == 5 and heard.gaps == [(1.04, GAP + 0.5)]
    heard.end(1.04 + GAP + 0.52 + GAP + 0.1)  # stopped before the call ended
    assert heard.gaps[-1] == (1.04 + GAP + 0.52, GAP + 0.1)


def test_no_gap_while_the_party_holds_and_the_silence_is_timed_again_from_its_resume() -> None:
    heard = Heard()
    heard.packet(1.0)
    heard.hold(True, 1.1)
    heard.end(1.1 + 5 * GAP)  # ended on hold
    assert heard.gaps == []
    heard.hold(False, 9.0)
    heard.packet(9.0 + GAP)  # not more than GAP after the resume
    heard.hold(False, 9.5)  # resumed again: nothing to restart
    heard.end(9.0 + 2.5 * GAP)
    assert heard.gaps == [(9.0 + GAP, 1.5 * GAP)]


def test_silence_before_the_first_packet_is_no_gap() -> None:
    heard = Heard()
    heard.end(5.0)
    assert heard.gaps == []
    heard.packet(5.0)
    heard.end(5.0 + GAP)  # not more than GAP
    assert heard.gaps == []


async def _received(media: LoadMedia, count: int) -> None:
    """Until the loop's reader has taken `count` packets (at the fake time)."""
    for _ in range(10_000):
        if media.seen.received >= count:
            return
        await asyncio.sleep(0)
    raise AssertionError("the echoed packets never reached the reader")


async def _echoed(media: LoadMedia, clock: FakeClock, relay: socket.socket) -> None:
    """One stream echoed at 0.02 s, then not until 1.5 s (a gap), then up to its end."""
    media.open()
    media.start("caller", offer_sdp(*relay.getsockname()))
    media.start("agent", offer_sdp(*relay.getsockname()))
    caller = media.streams["caller"].sock.getsockname()
    echoed = 0
    for now, count in ((0.02, 1), (1.5, BURST), (1.52, 1)):
        clock.now = now
        media.tick(now)
        for data, source in _drain(relay, 2 * count):
            if source == caller:
                relay.sendto(data, source)
        echoed += count
        await _received(media, echoed)
    clock.now = 1.53
    media.stop("caller")
    media.stop("agent")


def test_a_stream_whose_audio_back_stopped_mid_call_is_reported() -> None:
    clock, relay = FakeClock(), _relay()
    media = LoadMedia("127.0.0.1", clock)
    try:
        asyncio.run(_echoed(media, clock, relay))
    finally:
        relay.close()
    seen = media.seen
    assert (seen.streams, seen.silent, seen.gapped) == (2, 1, 1)
    assert seen.received == 1 + BURST + 1 and not seen.flowed
    [gap] = seen.gaps
    assert (gap.at, gap.seconds) == (0.02, 1.48) and "caller" in gap.stream
    assert seen.longest_gap == 1.5 - 0.02


async def _held(media: LoadMedia, clock: FakeClock, relay: socket.socket) -> None:
    media.open()
    media.start("agent", offer_sdp(*relay.getsockname()))
    media.hold("nobody", True)  # no stream: nothing
    media.streams["agent"].heard.packet(0.02)
    clock.now = 0.5
    media.hold("agent", True)
    clock.now = 4.0
    media.hold("agent", False)
    clock.now = 4.9
    media.stop("agent")


def test_an_agent_on_hold_hears_nothing_and_that_is_no_gap() -> None:
    clock, relay = FakeClock(), _relay()
    media = LoadMedia("127.0.0.1", clock)
    try:
        asyncio.run(_held(media, clock, relay))
    finally:
        relay.close()
    assert media.seen.flowed and media.seen.streams == 1
