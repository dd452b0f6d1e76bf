"""Media through the live appliance: SIPp callers and agents that send real RTP (tones and
RFC 4733 digits, from pcaps made here), recorded by `ccbox serve` and read back from its
records and WAV files."""

from __future__ import annotations

import time
import wave
from pathlib import Path

import numpy as np
import pytest

from appliance.events import CallAnswered, DigitReceived, EndCause
from appliance.records.store import RecordReader
from sim.live import ApplianceProcess, wait_until
from sim.traffic.rtp_pcap import dtmf_tone, tone, write_rtp_pcap
from tests.live.test_sipp_calls import Floor

pytestmark = pytest.mark.slow

CALLER_HZ = 1000.0
AGENT_HZ = 1500.0
RING_MS = 500
CALL_MS = 4000
RECORDED_BEFORE_KILL = 3.5  # seconds of talk the killed call has recorded


def read_wav(path: str) -> tuple[np.ndarray, float]:
    with wave.open(path, "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
        frames = wav.readframes(wav.getnframes())
        return np.frombuffer(frames, dtype="<i2"), wav.getnframes() / 8000


def level_at(samples: np.ndarray, hz: float) -> float:
    """How far the spectrum at `hz` stands above the median of the spectrum."""
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    frequencies = np.fft.rfftfreq(len(samples), 1 / 8000)
    near = spectrum[np.abs(frequencies - hz) < 5].max()
    return float(near / (np.median(spectrum) + 1e-9))


def media_floor(tmp_path: Path, **kwargs: object) -> Floor:
    floor = Floor(tmp_path, media={"queued_callers": "answer"}, **kwargs)
    floor.register_phones()
    return floor


def talk(floor: Floor, caller_audio: np.ndarray, agent_audio: np.ndarray, *, calls: int = 1,
         talk_ms: int, scenario: str = "caller_media.xml", rate: float = 5,
         digits: list[tuple[float, str]] | None = None) -> list:
    """SIPp callers playing `caller_audio` (and RFC 4733 `digits`) to SIPp agents playing
    `agent_audio`, through the appliance; the calls' detail records once it has stopped."""
    caller_pcap = write_rtp_pcap(floor.tmp / "caller.pcap", caller_audio, digits=digits or ())
    agent_pcap = write_rtp_pcap(floor.tmp / "agent.pcap", agent_audio)
    try:
        with floor.agents("agent_media.xml", keys={"pcap": str(agent_pcap)},
                          ring_ms=RING_MS) as agents:
            result = floor.callers(scenario, calls=calls, rate=rate, talk_ms=talk_ms,
                                   keys={"pcap": str(caller_pcap)}).run()
            agents.stop()
        assert (result.successful, result.failed) == (calls, 0), result
        return floor.stop()
    finally:
        floor.box.stop()


def answered(floor: Floor) -> bool:
    return any(isinstance(r, CallAnswered) for r in RecordReader(floor.box.records).events())


def digits_logged(floor: Floor) -> list[tuple[int, str, str, str]]:
    events = RecordReader(floor.box.records).events()
    return [(r.call, r.party, r.digit, r.via) for r in events if isinstance(r, DigitReceived)]


def test_calls_are_recorded_for_their_talk_time_with_both_parties_and_rfc4733_digits(tmp_path):
    floor = media_floor(tmp_path)
    details = talk(floor, tone(CALLER_HZ, 3.6), tone(AGENT_HZ, 3.0), calls=3, rate=2,
                   talk_ms=CALL_MS, digits=[(0.2, "5"), (0.5, "#")])
    assert [d.cause for d in details] == [EndCause.CALLER_HANGUP] * 3
    for detail in details:
        assert detail.recording_status == "recorded"
        assert detail.recording is not None and Path(detail.recording).is_file()
        samples, seconds = read_wav(detail.recording)
        assert abs(seconds - detail.talk) < 0.1, (seconds, detail.talk)
        assert level_at(samples, CALLER_HZ) > 50, "the caller is not in the recording"
        assert level_at(samples, AGENT_HZ) > 50, "the agent is not in the recording"
    assert sorted(digits_logged(floor)) == sorted(
        (d.call, "caller", digit, "rfc4733") for d in details for digit in "5#")


def test_sip_info_digits_from_the_caller_are_received(tmp_path):
    floor = media_floor(tmp_path)
    (detail,) = talk(floor, tone(CALLER_HZ, 3.0), tone(AGENT_HZ, 3.0), talk_ms=3500,
                     scenario="caller_info.xml")
    assert detail.cause is EndCause.CALLER_HANGUP
    assert digits_logged(floor) == [(detail.call, "caller", "4", "info"),
                                    (detail.call, "caller", "#", "info")]


def test_inband_digits_from_an_analog_trunk_are_detected(tmp_path):
    floor = media_floor(tmp_path, trunk_kind="analog")
    silence = np.zeros(800, dtype=np.int16)
    audio = np.concatenate([silence, dtmf_tone("7", 0.08), silence, dtmf_tone("*", 0.08),
                            silence, tone(CALLER_HZ, 1.0)])
    (detail,) = talk(floor, audio, tone(AGENT_HZ, 1.0), talk_ms=2500)
    assert digits_logged(floor) == [(detail.call, "caller", "7", "inband"),
                                    (detail.call, "caller", "*", "inband")]


def test_kill_9_during_a_recorded_call_leaves_a_valid_wav_and_a_detail_record_saying_so(
        tmp_path):
    floor = media_floor(tmp_path)
    caller_pcap = write_rtp_pcap(tmp_path / "caller.pcap", tone(CALLER_HZ, 12.0))
    agent_pcap = write_rtp_pcap(tmp_path / "agent.pcap", tone(AGENT_HZ, 12.0))
    try:
        with floor.agents("agent_media.xml", keys={"pcap": str(agent_pcap)},
                          ring_ms=RING_MS) as agents:
            callers = floor.callers("caller_media.xml", calls=1, talk_ms=15_000,
                                    keys={"pcap": str(caller_pcap)}).start()
            with callers:
                callers.wait_started()
                wait_until(lambda: answered(floor), 10, "the agent answering")
                time.sleep(RECORDED_BEFORE_KILL)  # the call talks; the recording grows
                floor.box.process.kill()  # SIGKILL to the appliance's PID
                floor.box.process.wait(5)
                callers.stop()
            agents.stop()
    finally:
        floor.box.stop()
    # The next start closes the call the killed appliance left up.
    again = ApplianceProcess(tmp_path / "site.yaml", tmp_path, records=floor.box.records,
                             log_name="appliance-again.log")
    try:
        assert again.stop() == 0, again.log()
    finally:
        again.stop()
    (detail,) = RecordReader(floor.box.records).calls()
    assert detail.cause is EndCause.INTERRUPTED
    assert detail.recording_status == "interrupted"
    samples, seconds = read_wav(detail.recording)
    assert RECORDED_BEFORE_KILL - 1.0 < seconds < RECORDED_BEFORE_KILL + 1.0, seconds
    assert abs(detail.talk - seconds) < 1.0, (detail.talk, seconds)
    assert level_at(samples, CALLER_HZ) > 50 and level_at(samples, AGENT_HZ) > 50
