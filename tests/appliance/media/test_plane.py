"""The media plane's per-packet taps: digits and recording take whatever arrives."""

from __future__ import annotations

from random import Random

from appliance.clock import Deadlines
from appliance.media.plane import Digit, MediaPlane
from appliance.media.rtp import RtpExtension, RtpPacket, payload_of

GATEWAY = ("192.0.2.10", 40000)


def plane_with_call() -> tuple[MediaPlane, int]:
    plane = MediaPlane("127.0.0.1", range(30000, 30004), Deadlines(), Random(1))
    caller_port, _ = plane.open(1, 0.0)
    plane.set_caller(1, GATEWAY, 0, 101, inband_digits=True)
    return plane, caller_port


def test_malformed_rtp_on_a_tapped_call_is_dropped_not_raised():
    plane, port = plane_with_call()
    for packet in (
        bytes([0x8F, 0x00]) + bytes(11),  # fifteen CSRCs announced, none there
        bytes([0x90, 0x00]) + bytes(10) + b"\x00\x00\x00\xff",  # extension longer than it
        bytes([0xA0, 0x00]) + bytes(10) + b"\x00",  # padding of zero bytes
        bytes([0x80, 101]) + bytes(10) + b"\x01",  # a telephone-event cut short
    ):
        plane.receive(port, packet, GATEWAY, 0.1)
    assert plane.take_events() == []


def test_in_band_digits_are_found_behind_a_header_extension():
    import numpy as np

    from appliance.media.g711 import ulaw_encode

    plane, port = plane_with_call()
    t = np.arange(800) / 8000  # 100 ms of the digit 5 (770 Hz + 1336 Hz), then silence
    tone = (4000 * (np.sin(2 * np.pi * 770 * t) + np.sin(2 * np.pi * 1336 * t))).astype(np.int16)
    audio = ulaw_encode(np.concatenate([tone, np.zeros(1600, dtype=np.int16)]))
    extension = RtpExtension(0xBEDE, b"\x10\x01\x00\x00")
    for n in range(len(audio) // 160):
        packet = RtpPacket(0, n, n * 160, 7, audio[n * 160:(n + 1) * 160], extension=extension)
        assert payload_of(bytes(packet)) == (0, audio[n * 160:(n + 1) * 160])
        plane.receive(port, bytes(packet), GATEWAY, n * 0.02)
    assert [(e.digit, e.via) for e in plane.take_events() if isinstance(e, Digit)] == [
        ("5", "inband")]
