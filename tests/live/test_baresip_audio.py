"""Audio both ways between two real softphones through the appliance: Debian's baresip as a
caller on the trunk and as an agent registered with digest, twenty calls through a queue
whose callers are answered and hear music until the agent answers.

Each phone sends its own tone from a WAV file (the aufile module) and dumps what it decodes
(the sndfile module). In every call each side must hear the other's tone, and neither
phone's jitter buffer may drop a packet: baresip logs "stream: audio: dropping ... (Connection
timed out)" for each packet it takes as late, which is what it did with every packet of the
agent's audio while the relay passed it on under the agent's own SSRC and numbering.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from appliance.events import CallAnswered
from appliance.records.store import RecordReader
from sim.live import ApplianceProcess, terminate, write_site
from sim.traffic.sipp import free_udp_port
from tests.live.test_baresip import PASSWORD, USER, wait_until_ready

CALLS = 20
TALK_SECONDS = 3.0
LONG_CALL_SECONDS = 20.0  # the first call: long enough for RTCP both ways (5 s intervals),
# with room for a late answer and a late first report on a loaded machine
CALLER_TONE = 600.0  # Hz; neither is in the other's tone, the music or the prompts' pitch
AGENT_TONE = 1400.0
ANSWER_WITHIN = 20.0  # from the caller's start to the agent's answer, each call
BOUND = 300.0  # the whole test
DROPPED = re.compile(r"dropping \d+ bytes")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("baresip") is None,
                       reason="baresip not installed: bin/test installs it"),
]

# No sound card: the tone comes from aufile, what is heard goes to aubridge (nowhere) and is
# dumped by sndfile, per call, as dump-<time>-dec.wav.
_CONFIG = """\
poll_method\t\tepoll
sip_listen\t\t127.0.0.1:{port}
net_interface\t\t127.0.0.1
call_local_timeout\t120
audio_player\t\taubridge,{name}
audio_source\t\taufile,{tone}
audio_alert\t\taubridge,{name}
module_path\t\t/usr/lib/baresip/modules
module\t\t\tg711.so
module\t\t\taubridge.so
module\t\t\taufile.so
module\t\t\tsndfile.so
module\t\t\tmenu.so
module_tmp\t\taccount.so
snd_path\t\t{dumps}
"""


def write_tone(path: Path, frequency: float, seconds: float = 60.0) -> Path:
    t = np.arange(int(seconds * 8000)) / 8000
    samples = (8000 * np.sin(2 * np.pi * frequency * t)).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(samples.tobytes())
    return path


def phone_home(folder: Path, name: str, port: int, tone: float, account: str) -> Path:
    """A baresip configuration folder sending `tone` and dumping what it hears."""
    home = folder / name
    (home / "dumps").mkdir(parents=True)
    wav = write_tone(home / "tone.wav", tone)
    (home / "config").write_text(_CONFIG.format(port=port, name=name, tone=wav,
                                                dumps=home / "dumps"))
    (home / "accounts").write_text(account + "\n")
    return home


def wait_until_answered(records: Path, count: int, within: float) -> None:
    """Until the event log holds `count` answered calls."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if sum(type(record) is CallAnswered for record in RecordReader(records).events()) >= count:
            return
        time.sleep(0.1)
    raise TimeoutError(f"call {count} was not answered within {within} s")


def heard(dump: Path) -> tuple[float, float]:
    """(the strongest frequency in Hz, the share of the power within 20 Hz of it) in the
    second half of a dump: by then the caller hears the agent, not the music."""
    with wave.open(str(dump), "rb") as wav:
        rate, channels = wav.getframerate(), wav.getnchannels()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")[::channels]
    half = samples[len(samples) // 2:].astype(np.float64)
    if len(half) < rate // 4 or not half.any():
        return 0.0, 0.0
    power = np.abs(np.fft.rfft(half * np.hanning(len(half)))) ** 2
    frequencies = np.fft.rfftfreq(len(half), 1 / rate)
    peak = float(frequencies[int(np.argmax(power))])
    near = np.abs(frequencies - peak) <= 20
    return peak, float(power[near].sum() / power.sum())


def test_twenty_calls_between_two_baresips_carry_audio_both_ways_without_a_drop(tmp_path):
    started = time.monotonic()
    caller_port = free_udp_port()
    config = write_site(tmp_path / "site.yaml", caller_port, users={USER: PASSWORD},
                        media={"queued_callers": "answer"})
    box = ApplianceProcess(config, tmp_path)
    agent = None
    caller_logs: list[str] = []
    try:
        agent_port = free_udp_port()
        host, sip_port = box.address
        agent_home = phone_home(tmp_path, "agent", agent_port, AGENT_TONE,
                                f"<sip:{USER}@{host}:{sip_port}>;auth_pass={PASSWORD};"
                                "answermode=auto;regint=600")
        agent_log = tmp_path / "agent.log"
        with agent_log.open("w") as log:
            agent = subprocess.Popen(["baresip", "-f", str(agent_home)],
                                     stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT)
        wait_until_ready(box.records, USER, within=15)
        caller_home = phone_home(tmp_path, "caller", caller_port, CALLER_TONE,
                                 "<sip:gateway@127.0.0.1>;regint=0")
        for number in range(CALLS):
            assert time.monotonic() - started < BOUND, f"only {number} calls in {BOUND} s"
            caller_log = tmp_path / f"caller-{number}.log"
            with caller_log.open("w") as log:
                caller = subprocess.Popen(
                    ["baresip", "-f", str(caller_home), "-e", f"/dial sip:100@{host}:{sip_port}"],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
            try:
                # Talk time counts from the agent's answer: a loaded machine can take
                # seconds to start baresip, and a caller gone before the answer is no test.
                wait_until_answered(box.records, number + 1, within=ANSWER_WITHIN)
                time.sleep(LONG_CALL_SECONDS if number == 0 else TALK_SECONDS)
            finally:
                terminate(caller, 10)  # on SIGTERM baresip hangs up (BYE) before it exits
            caller_logs.append(caller_log.read_text(errors="replace"))
            time.sleep(1.1)  # sndfile names its dumps by the second
        assert terminate(agent, 10) == 0
        agent_text = agent_log.read_text(errors="replace")
        assert box.stop() == 0, box.log()
    finally:
        if agent is not None:
            terminate(agent, 10)
        box.stop()

    details = RecordReader(box.records).calls()
    unanswered = [d for d in details if d.agent != USER]
    assert (len(details), unanswered) == (CALLS, []), details
    caller_dumps = sorted((caller_home / "dumps").glob("*-dec.wav"))
    agent_dumps = sorted((agent_home / "dumps").glob("*-dec.wav"))
    assert (len(caller_dumps), len(agent_dumps)) == (CALLS, CALLS)
    failures = []
    for number, (caller_dump, agent_dump) in enumerate(zip(caller_dumps, agent_dumps,
                                                           strict=True)):
        caller_heard, agent_heard = heard(caller_dump), heard(agent_dump)
        drops = len(DROPPED.findall(caller_logs[number]))
        if (abs(caller_heard[0] - AGENT_TONE) > 10 or caller_heard[1] < 0.5
                or abs(agent_heard[0] - CALLER_TONE) > 10 or agent_heard[1] < 0.5 or drops):
            failures.append((number, caller_heard, agent_heard, drops))
    agent_drops = len(DROPPED.findall(agent_text))
    assert (failures, agent_drops) == ([], 0), "(call, caller heard (Hz, share), agent " \
        "heard, caller's drops); agent's drops"
    # Every detail record has each party's figures; the long call has the round trips from
    # both phones' RTCP, and neither reported a packet of ours lost.
    assert all(d.caller_packets and d.agent_packets for d in details)
    assert all(d.caller_lost == d.agent_lost == 0 for d in details)
    long_call = min(details, key=lambda d: d.call)
    assert long_call.caller_rtt_ms is not None and long_call.agent_rtt_ms is not None, long_call
    assert (long_call.caller_reported_lost, long_call.agent_reported_lost) == (0, 0), long_call
