"""Call recordings paced by the clock: duration whatever the packets did, content, RTP parsing."""

from __future__ import annotations

import io
import random
import wave
from collections.abc import Iterable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.media.callrecorder import PCMA, PCMU, CallRecorder
from appliance.media.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode
from appliance.media.recording import AGENT, CALLER, MemoryWav, WavRecorder
from appliance.media.rtp import RtpExtension, RtpPacket

RATE = 8000
FRAME = 160  # 20 ms
START = 1000.0
ENCODERS = {PCMU: ulaw_encode, PCMA: alaw_encode}
DECODERS = {PCMU: ulaw_decode, PCMA: alaw_decode}


class ListSink:
    """An in-memory sink that remembers every write and every close."""

    def __init__(self) -> None:
        self.writes: list[np.ndarray] = []
        self.closes = 0

    def write(self, samples: np.ndarray) -> None:
        assert samples.dtype == np.int16 and samples.ndim == 1 and len(samples)
        self.writes.append(samples.copy())

    def close(self) -> None:
        self.closes += 1

    @property
    def samples(self) -> np.ndarray:
        return np.concatenate(self.writes) if self.writes else np.zeros(0, np.int16)


def sine(freq: float, seconds: float, amplitude: float = 6000) -> np.ndarray:
    t = np.arange(round(RATE * seconds)) / RATE
    return np.round(amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def rtp(payload: bytes, payload_type: int = PCMU, sequence: int = 0, **fields: object) -> bytes:
    packet = RtpPacket(
        payload_type, sequence % 65536, (sequence * FRAME) % 2**32, 0x1234, payload, **fields
    )  # type: ignore[arg-type]
    return bytes(packet)


def packets(samples: np.ndarray, payload_type: int = PCMU) -> list[bytes]:
    """`samples` as consecutive 20 ms RTP packets."""
    encode = ENCODERS[payload_type]
    return [
        rtp(encode(samples[i : i + FRAME]), payload_type, n)
        for n, i in enumerate(range(0, len(samples), FRAME))
    ]


def paced(stream: list[bytes], side: int, offset: float = 0.0) -> list[tuple[float, int, bytes]]:
    """Packet n delivered when its 20 ms have been spoken: at START + (n + 1) * 20 ms."""
    return [(START + offset + (n + 1) * 0.02, side, data) for n, data in enumerate(stream)]


def run(
    recorder: CallRecorder,
    deliveries: Iterable[tuple[float, int, bytes]],
    end: float,
    tick_every: float = 0.02,
) -> float:
    """Deliver packets and tick every `tick_every` in time order (packets first on a tie),
    then finish at `end`."""
    events = [(when, 0, side, data) for when, side, data in deliveries]
    ticks = round((end - START) / tick_every)
    events += [(START + k * tick_every, 1, 0, b"") for k in range(1, ticks + 1)]
    for when, kind, side, data in sorted(events, key=lambda e: (e[0], e[1])):
        if when > end:
            continue
        if kind == 0:
            recorder.packet(side, data, when)
        else:
            recorder.tick(when)
    return recorder.finish(end)


def tone_stream(side: int, seconds: float) -> list[bytes]:
    return packets(sine(1000 if side == CALLER else 440, seconds))


# ---- duration equals the time recorded -------------------------------------------------------

END = START + 10.0
EXPECTED = round((END - START) * RATE)


def steady() -> list[tuple[float, int, bytes]]:
    return paced(tone_stream(CALLER, 10), CALLER) + paced(tone_stream(AGENT, 10), AGENT)


def lossy() -> list[tuple[float, int, bytes]]:
    rng = random.Random(7)
    return [delivery for delivery in steady() if rng.random() >= 0.1]


def one_side_silent() -> list[tuple[float, int, bytes]]:
    # The agent on mute with silence suppression (or on hold) from 2 s to 8 s.
    return [
        (when, side, data)
        for when, side, data in steady()
        if side == CALLER or not START + 2 <= when < START + 8
    ]


def one_side_too_fast() -> list[tuple[float, int, bytes]]:
    caller = paced(tone_stream(CALLER, 10), CALLER)
    agent = tone_stream(AGENT, 20)
    return caller + [(START + (n // 2 + 1) * 0.02, AGENT, data) for n, data in enumerate(agent)]


def bursts() -> list[tuple[float, int, bytes]]:
    # The caller's packets arrive five at a time, 100 ms late at worst.
    caller = [
        (START + (n // 5 + 1) * 0.1, CALLER, data) for n, data in enumerate(tone_stream(CALLER, 10))
    ]
    return caller + paced(tone_stream(AGENT, 10), AGENT)


@pytest.mark.parametrize(
    "deliveries",
    [steady, lossy, one_side_silent, one_side_too_fast, bursts],
    ids=lambda scenario: scenario.__name__,
)
@pytest.mark.parametrize("tick_every", [0.02, 0.25, 1.0])
def test_duration_is_the_time_recorded(deliveries, tick_every: float) -> None:
    mixed, caller, agent = ListSink(), ListSink(), ListSink()
    recorder = CallRecorder(mixed, START, parties=(caller, agent))
    seconds = run(recorder, deliveries(), END, tick_every)
    assert abs(len(mixed.samples) - EXPECTED) <= FRAME
    assert len(mixed.samples) == len(caller.samples) == len(agent.samples) == EXPECTED
    assert seconds == recorder.seconds == pytest.approx(END - START)


def test_a_side_running_fast_keeps_its_newest_audio_and_no_more_than_the_carry() -> None:
    # Ten seconds of audio, each 20 ms packet a different level, all arriving 1 s into the call.
    levels = np.repeat(np.arange(500) * 40 - 10_000, FRAME).astype(np.int16)
    party = ListSink()
    recorder = CallRecorder(ListSink(), START, parties=(party, ListSink()), max_carry=0.5)
    for data in packets(levels):
        recorder.packet(CALLER, data, START + 1)
    recorder.tick(START + 1)
    written = party.samples
    assert len(written) == RATE
    # 1.5 s were kept (1 s due + 0.5 s carry): written is the first second of the newest 1.5 s.
    newest = ulaw_decode(ulaw_encode(levels[-round(1.5 * RATE) :]))
    np.testing.assert_array_equal(written, newest[:RATE])
    recorder.tick(START + 1.5)
    np.testing.assert_array_equal(party.samples[RATE:], newest[RATE:])


def test_jitter_within_the_carry_loses_no_audio() -> None:
    tone = sine(1000, 4) + 100  # no zero sample: the first one heard marks the lag
    party = ListSink()
    recorder = CallRecorder(ListSink(), START, parties=(party, ListSink()))
    deliveries = [
        (START + (n // 5 + 1) * 0.1, CALLER, data) for n, data in enumerate(packets(tone))
    ]
    run(recorder, deliveries, START + 4.1)
    heard = party.samples
    # All the audio is there, in order, behind at most the burst's 100 ms of silence.
    expected = ulaw_decode(ulaw_encode(tone))
    lag = int(np.flatnonzero(heard)[0])
    assert lag <= 0.1 * RATE
    np.testing.assert_array_equal(heard[lag : lag + len(tone)], expected)


# ---- what is heard ---------------------------------------------------------------------------


def band_level(samples: np.ndarray, freq: float) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64))) / len(samples)
    freqs = np.fft.rfftfreq(len(samples), 1 / RATE)
    return float(spectrum[np.abs(freqs - freq) <= 5].max())


def test_both_parties_are_heard_in_the_mix_and_each_alone_in_their_own_file() -> None:
    mixed, caller, agent = ListSink(), ListSink(), ListSink()
    recorder = CallRecorder(mixed, START, parties=(caller, agent))
    deliveries = paced(packets(sine(1000, 3)), CALLER) + paced(packets(sine(440, 3)), AGENT)
    run(recorder, deliveries, START + 3)
    strong, faint = 1000.0, 50.0  # a 6000-amplitude sine shows as 3000; quantisation noise is low
    assert band_level(mixed.samples, 1000) > strong and band_level(mixed.samples, 440) > strong
    assert band_level(caller.samples, 1000) > strong > faint > band_level(caller.samples, 440)
    assert band_level(agent.samples, 440) > strong > faint > band_level(agent.samples, 1000)


@pytest.mark.parametrize("payload_type", [PCMU, PCMA])
def test_g711_decodes(payload_type: int) -> None:
    tone = sine(700, 1)
    party = ListSink()
    recorder = CallRecorder(ListSink(), START, parties=(party, ListSink()))
    run(recorder, paced(packets(tone, payload_type), CALLER, offset=-0.02), START + 1)
    expected = DECODERS[payload_type](ENCODERS[payload_type](tone))
    np.testing.assert_array_equal(party.samples, expected)
    assert np.abs(party.samples.astype(int) - tone).max() < 400


def test_a_codec_change_mid_call_decodes_each_run_with_its_own_law() -> None:
    tone = sine(300, 0.2)
    stream = packets(tone[:800], PCMU) + packets(tone[800:], PCMA)
    party = ListSink()
    recorder = CallRecorder(ListSink(), START, parties=(party, ListSink()))
    for data in stream:
        recorder.packet(CALLER, data, START)
    recorder.finish(START + 0.2)
    expected = np.concatenate(
        [ulaw_decode(ulaw_encode(tone[:800])), alaw_decode(alaw_encode(tone[800:]))]
    )
    np.testing.assert_array_equal(party.samples, expected)


def test_the_mix_sums_the_parties() -> None:
    mixed, caller, agent = ListSink(), ListSink(), ListSink()
    recorder = CallRecorder(mixed, START, parties=(caller, agent))
    run(recorder, steady(), START + 2)
    total = caller.samples.astype(np.int32) + agent.samples.astype(np.int32)
    np.testing.assert_array_equal(mixed.samples, np.clip(total, -32768, 32767))


def test_a_wav_holds_the_time_recorded() -> None:
    storages = [MemoryWav() for _ in range(3)]
    mixed, caller, agent = (WavRecorder(storage) for storage in storages)
    recorder = CallRecorder(mixed, START, parties=(caller, agent))
    seconds = run(recorder, lossy(), START + 7.5, tick_every=0.1)
    assert seconds == pytest.approx(7.5)
    for storage in storages:
        assert storage.closed
        with wave.open(io.BytesIO(bytes(storage.data)), "rb") as wav:
            assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (RATE, 1, 2)
            assert wav.getnframes() == round(7.5 * RATE)
            samples = np.frombuffer(wav.readframes(wav.getnframes()), "<i2")
    assert band_level(samples, 440) > 1000  # the agent's file, read last


# ---- RTP: what is kept and what is ignored ---------------------------------------------------

PAYLOAD = ulaw_encode(sine(1000, 0.02))


def recorded_caller(*datagrams: bytes) -> np.ndarray:
    party = ListSink()
    recorder = CallRecorder(ListSink(), START, parties=(party, ListSink()))
    for data in datagrams:
        recorder.packet(CALLER, data, START)
    recorder.finish(START + 0.02 * max(len(datagrams), 1))
    return party.samples


def test_csrcs_extension_and_padding_are_skipped() -> None:
    data = rtp(
        PAYLOAD,
        csrcs=(1, 2, 3),
        extension=RtpExtension(0xBEDE, bytes(8)),
        padding=b"\x00\x00\x00\x04",
    )
    np.testing.assert_array_equal(recorded_caller(data), ulaw_decode(PAYLOAD))


@pytest.mark.parametrize(
    "datagram",
    [
        pytest.param(rtp(bytes(4), payload_type=101), id="telephone-event"),
        pytest.param(rtp(b"\x40", payload_type=13), id="comfort-noise"),
        pytest.param(rtp(PAYLOAD, payload_type=18), id="g729"),
        pytest.param(b"", id="empty"),
        pytest.param(rtp(PAYLOAD)[:11], id="short-header"),
        pytest.param(rtp(b""), id="no-payload"),
        pytest.param(bytes([0x40]) + rtp(PAYLOAD)[1:], id="version-1"),
        pytest.param(bytes([0x8F]) + rtp(PAYLOAD)[1:40], id="csrcs-past-the-end"),
        pytest.param(bytes([0x90]) + rtp(PAYLOAD)[1:14], id="extension-header-cut"),
        pytest.param(
            bytes([0x90]) + rtp(PAYLOAD)[1:12] + b"\xbe\xde\xff\xff" + PAYLOAD,
            id="extension-past-the-end",
        ),
        pytest.param(bytes([0xA0]) + rtp(PAYLOAD)[1:-1] + b"\x00", id="padding-count-0"),
        pytest.param(bytes([0xA0]) + rtp(PAYLOAD)[1:-1] + b"\xff", id="padding-past-the-start"),
    ],
)
def test_other_payloads_and_malformed_packets_are_ignored(datagram: bytes) -> None:
    np.testing.assert_array_equal(recorded_caller(datagram), np.zeros(FRAME, np.int16))


# ---- the clock -------------------------------------------------------------------------------


def test_time_going_backwards_or_standing_still_writes_nothing() -> None:
    mixed = ListSink()
    recorder = CallRecorder(mixed, START)
    recorder.tick(START + 1)
    recorder.tick(START + 0.5)
    recorder.tick(START + 1)
    recorder.tick(START + 1.00001)  # less than half a sample
    assert len(mixed.writes) == 1 and recorder.seconds == 1.0


def test_nothing_is_written_before_the_start() -> None:
    mixed = ListSink()
    recorder = CallRecorder(mixed, START)
    recorder.packet(CALLER, rtp(PAYLOAD), START - 5)
    recorder.tick(START - 1)
    assert mixed.writes == [] and recorder.finish(START - 0.5) == 0.0
    assert mixed.closes == 1


def test_finish_closes_every_sink_once_and_freezes_the_recording() -> None:
    mixed, caller, agent = ListSink(), ListSink(), ListSink()
    recorder = CallRecorder(mixed, START, parties=(caller, agent))
    assert recorder.finish(START + 2) == 2.0
    recorder.packet(CALLER, rtp(PAYLOAD), START + 3)
    recorder.tick(START + 4)
    assert recorder.finish(START + 5) == 2.0 == recorder.seconds
    assert len(mixed.samples) == 2 * RATE
    assert (mixed.closes, caller.closes, agent.closes) == (1, 1, 1)


def test_finish_closes_the_other_sinks_when_one_fails() -> None:
    class Broken(ListSink):
        def close(self) -> None:
            super().close()
            raise OSError("disk gone")

    mixed, caller, agent = Broken(), ListSink(), ListSink()
    recorder = CallRecorder(mixed, START, parties=(caller, agent))
    with pytest.raises(OSError, match="disk gone"):
        recorder.finish(START + 1)
    assert (mixed.closes, caller.closes, agent.closes) == (1, 1, 1)


# ---- property --------------------------------------------------------------------------------

operations = st.lists(
    st.tuples(
        st.floats(0, 0.3),  # time since the previous operation
        st.one_of(
            st.just(None),  # a tick
            st.tuples(
                st.sampled_from([CALLER, AGENT]),
                st.sampled_from([PCMU, PCMA, 13, 101]),
                st.integers(0, 480),
            ),
        ),
    ),
    max_size=80,
)


@given(operations, st.floats(-1, 1), st.floats(0, 1))
def test_total_written_is_the_time_up_to_the_last_tick(
    ops: list,
    first: float,
    max_carry: float,
) -> None:
    mixed, caller, agent = ListSink(), ListSink(), ListSink()
    recorder = CallRecorder(mixed, START, parties=(caller, agent), max_carry=max_carry)
    now, last_tick = START + first, None
    for n, (step, operation) in enumerate(ops):
        now += step
        if operation is None:
            recorder.tick(now)
            last_tick = now
        else:
            side, payload_type, size = operation
            recorder.packet(side, rtp(bytes([n % 256]) * size, payload_type, n), now)
    expected = 0 if last_tick is None else max(0, round((last_tick - START) * RATE))
    assert len(mixed.samples) == len(caller.samples) == len(agent.samples) == expected
    assert recorder.seconds == expected / RATE
