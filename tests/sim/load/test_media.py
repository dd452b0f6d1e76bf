"""The load's RTP: where an SDP receives, streams sent on each tick, what comes back counted."""

from __future__ import annotations

import asyncio
import contextlib
import socket

from sim.load.media import SAMPLES, LoadMedia, rtp_address
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
