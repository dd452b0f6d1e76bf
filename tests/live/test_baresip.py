"""The live appliance with a real SIP phone: baresip 1.0 registers as agent 1001 with digest
authentication, answers the queued call by itself, and the caller (SIPp) hangs up.

baresip 1.0 (libre 1.1) computes MD5 digests only and gives up ("Register: Function not
implemented") on a 401 carrying any other challenge: the site's default offer (MD5 alone)
registers it. `Baresip` is also how tests/data/captures/capture_baresip.py records the wire
fixtures.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from appliance.events import AgentState, AgentStateChanged, EndCause
from appliance.records.store import RecordReader
from sim.live import ApplianceProcess, terminate, write_site
from sim.traffic.sipp import SippConfig, SippRun, free_udp_port, scenario_path

BOUND = 60.0
USER = "1001"
PASSWORD = "baresip-1001"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("baresip") is None,
                       reason="baresip not installed: bin/test installs it"),
]

# No sound card: the call's player feeds its own source through aubridge. No UI module
# either (stdio wants a terminal): the test only starts the phone and ends it by SIGTERM,
# on which baresip unregisters. net_interface keeps the media address on loopback.
_CONFIG = """\
poll_method\t\tepoll
sip_listen\t\t127.0.0.1:{port}
net_interface\t\t127.0.0.1
call_local_timeout\t120
call_max_calls\t\t4
audio_player\t\taubridge,{user}
audio_source\t\taubridge,{user}
audio_alert\t\taubridge,{user}
module_path\t\t/usr/lib/baresip/modules
module\t\t\tg711.so
module\t\t\taubridge.so
module_tmp\t\taccount.so
"""


class Baresip:
    """baresip as `user`'s phone, registering at `registrar` and answering every call."""

    def __init__(self, workdir: Path, registrar: tuple[str, int], user: str, password: str,
                 apps: tuple[str, ...] = ()) -> None:
        self.port = free_udp_port()
        home = workdir / "baresip"
        home.mkdir(parents=True, exist_ok=True)
        config = _CONFIG.format(port=self.port, user=user)
        (home / "config").write_text(config + "".join(f"module_app\t\t{app}\n" for app in apps))
        host, port = registrar
        (home / "accounts").write_text(
            f"<sip:{user}@{host}:{port}>;auth_pass={password};answermode=auto;regint=60\n")
        self.log_path = workdir / "baresip.log"
        # -s: baresip writes every SIP message it sends and receives to its log.
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(["baresip", "-f", str(home), "-s"],
                                            stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT)

    @property
    def address(self) -> tuple[str, int]:
        return "127.0.0.1", self.port

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 10) -> int:
        """SIGTERM to baresip's PID (it unregisters first); its exit status."""
        return terminate(self.process, timeout)


def site(tmp_path: Path, caller_port: int) -> Path:
    return write_site(tmp_path / "site.yaml", caller_port, users={USER: PASSWORD})


def wait_until_ready(records: Path, agent: str, within: float,
                     phone: Baresip | None = None) -> None:
    """Until the event log shows `agent` ready (logged in by their phone's REGISTER)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if phone is not None and phone.process.poll() is not None:
            raise RuntimeError(f"baresip exited: {phone.log()}")
        if any(type(record) is AgentStateChanged and record.agent == agent
               and record.state is AgentState.READY
               for record in RecordReader(records).events()):
            return
        time.sleep(0.1)
    phone_log = "" if phone is None else phone.log()
    raise TimeoutError(f"agent {agent} never became ready: {phone_log}")


def call(box: ApplianceProcess, caller_port: int, workdir: Path, talk_ms: int = 2000):
    config = SippConfig(scenario_path("caller.xml"), remote=box.address, local_port=caller_port,
                        rate=1, max_calls=1, duration_ms=talk_ms, service="100")
    return SippRun(config, timeout=BOUND, workdir=workdir).run()


def test_baresip_registers_with_digest_and_answers_a_queued_call(tmp_path):
    caller_port = free_udp_port()
    box = ApplianceProcess(site(tmp_path, caller_port), tmp_path)
    phone = None
    try:
        phone = Baresip(tmp_path, box.address, USER, PASSWORD)
        wait_until_ready(box.records, USER, within=15, phone=phone)
        result = call(box, caller_port, tmp_path / "caller")
        assert (result.successful, result.failed) == (1, 0), (result, phone.log(), box.log())
        assert phone.stop() == 0, phone.log()
        assert box.stop() == 0, box.log()
        details = RecordReader(box.records).calls()
        assert [(d.agent, d.cause) for d in details] == [(USER, EndCause.CALLER_HANGUP)]
        assert details[0].answered_at is not None
        # baresip's REGISTER with expires=0 on SIGTERM logged the agent out.
        states = [record.state for record in RecordReader(box.records).events()
                  if type(record) is AgentStateChanged and record.agent == USER]
        assert states[-1] is AgentState.LOGGED_OUT
    finally:
        if phone is not None:
            phone.stop()
        box.stop()


_CALLER_CONFIG = """\
poll_method\t\tepoll
sip_listen\t\t127.0.0.1:{port}
net_interface\t\t127.0.0.1
audio_player\t\taubridge,caller
audio_source\t\taubridge,caller
audio_alert\t\taubridge,caller
module_path\t\t/usr/lib/baresip/modules
module\t\t\tg711.so
module\t\t\taubridge.so
module\t\t\tsndfile.so
module\t\t\tmenu.so
module_tmp\t\taccount.so
snd_path\t\t{dumps}
"""


def heard_by_baresip(tmp_path: Path, box_address: tuple[str, int], port: int,
                     seconds: float) -> Path:
    """baresip dials the appliance's queue as a trunk gateway, stays `seconds`, hangs up;
    the audio it received (its sndfile module's '-dec' dump)."""
    home, dumps = tmp_path / "caller-home", tmp_path / "dumps"
    home.mkdir()
    dumps.mkdir()
    (home / "config").write_text(_CALLER_CONFIG.format(port=port, dumps=dumps))
    (home / "accounts").write_text("<sip:gateway@127.0.0.1>;regint=0\n")
    host, sip_port = box_address
    log_path = tmp_path / "baresip-caller.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            ["baresip", "-f", str(home), "-e", f"/dial sip:100@{host}:{sip_port}"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        time.sleep(seconds)
    finally:
        terminate(process, 10)  # on SIGTERM baresip hangs up (BYE) before it exits
    received = sorted(dumps.glob("*-dec.wav"))
    assert received, log_path.read_text(errors="replace")
    return received[0]


def test_baresip_calling_the_queue_hears_the_welcome_prompt(tmp_path):
    import wave

    import numpy as np

    from appliance.live.prompt_build import ensure_default_prompts
    from appliance.storage.promptfiles import PromptSet

    port = free_udp_port()
    config = write_site(tmp_path / "site.yaml", port, users={USER: PASSWORD},
                        media={"queued_callers": "answer"})
    box = ApplianceProcess(config, tmp_path)  # no phone registered: the caller waits
    try:
        dump = heard_by_baresip(tmp_path, box.address, port, seconds=8.0)
        assert box.stop() == 0, box.log()
    finally:
        box.stop()
    with wave.open(str(dump), "rb") as wav:
        assert wav.getframerate() == 8000
        heard = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        if wav.getnchannels() > 1:
            heard = heard[::wav.getnchannels()]
    welcome = PromptSet(ensure_default_prompts("en")).samples("welcome").astype(np.float64)
    heard = heard.astype(np.float64)
    assert len(heard) > len(welcome), "baresip did not hear the whole welcome prompt"
    # Where the prompt lies in what baresip heard, and how alike the two are there (G.711
    # both ways, so near 1 if it is the prompt, near 0 for anything else).
    size = 1 << int(np.ceil(np.log2(len(heard) + len(welcome))))
    correlation = np.fft.irfft(np.fft.rfft(heard, size) * np.conj(np.fft.rfft(welcome, size)),
                               size)[:len(heard) - len(welcome) + 1]
    offset = int(np.argmax(correlation))
    segment = heard[offset:offset + len(welcome)]
    similarity = correlation[offset] / (np.linalg.norm(segment) * np.linalg.norm(welcome))
    assert similarity > 0.9, similarity
    details = RecordReader(box.records).calls()
    assert [d.cause for d in details] == [EndCause.ABANDONED]
