"""A real phone blind-transfers a call through the live appliance: three baresips - a caller
on the trunk, agents 1001 (A) and 1002 (B) registered with digest - each sending its own
tone. A answers, then is told (through baresip's ctrl_tcp module, netstring JSON) to
transfer the call to the queue by its name; baresip sends a REFER, the appliance accepts
it (202), reports the outcome in a NOTIFY and releases A; B is rung, answers, and caller
and B hear each other until the caller hangs up.

baresip hangs up by itself on the NOTIFY's "200 OK" (the transferor's BYE of RFC 5589 6.1),
so its BYE crosses the one the appliance sends to release A. The appliance used to answer
it 481, the dialog being gone on its side; a BYE crossing ours is now answered 200. It
also sends RTP until then: one late packet used to latch the released agent side of the
relay, and B and the caller heard nothing (about one run in five); the relay now drops the
departed party's packets.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from appliance.events import CallAnswered, CallEnded, CallTransferred, EndCause
from appliance.records.store import RecordReader
from sim.live import ApplianceProcess, terminate, wait_until, write_site
from sim.traffic.sipp import free_udp_port
from tests.live.test_baresip import wait_until_ready
from tests.live.test_baresip_audio import phone_home

A, B = "1001", "1002"
PASSWORDS = {A: "baresip-1001", B: "baresip-1002"}
QUEUE = "service"  # write_site's one queue
CALLER_TONE, A_TONE, B_TONE = 600.0, 1400.0, 1000.0  # Hz, none in another's or the music
TALK_SECONDS = 4.0  # caller and B, after the transfer: what the tone check listens to
WITHIN = 30.0  # each wait for the appliance or a phone, on a loaded machine
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("baresip") is None,
                       reason="baresip not installed: bin/test installs it"),
]


def free_tcp_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Phone:
    """baresip sending `tone`, dumping what it hears, tracing SIP (-s) to its log, and
    taking commands (the menu module's) on a ctrl_tcp port; its RTP on `rtp_ports` (first,
    last) if given, else wherever baresip picks; `apps`: more modules (mwi.so)."""

    def __init__(self, folder: Path, name: str, tone: float, account: str,
                 sip_port: int | None = None, rtp_ports: tuple[int, int] | None = None,
                 apps: tuple[str, ...] = ()) -> None:
        self.control = free_tcp_port()
        self.home = phone_home(folder, name, sip_port or free_udp_port(), tone, account)
        with (self.home / "config").open("a") as config:
            config.write(f"module_app\t\tctrl_tcp.so\nctrl_tcp_listen\t\t127.0.0.1:{self.control}\n")
            if rtp_ports is not None:
                config.write(f"rtp_ports\t\t{rtp_ports[0]}-{rtp_ports[1]}\n")
            config.writelines(f"module_app\t\t{app}\n" for app in apps)
        self.log_path = folder / f"{name}.log"
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(["baresip", "-f", str(self.home), "-s"],
                                            stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT)

    def command(self, command: str, params: str = "") -> dict[str, Any]:
        """Runs a menu command; baresip's response (`ok`, `data`). Retried while baresip
        is starting and does not listen yet."""
        wait_until(self._listening, WITHIN, f"baresip's ctrl_tcp on port {self.control}")
        request = json.dumps({"command": command, "params": params, "token": command}).encode()
        with socket.create_connection(("127.0.0.1", self.control), timeout=WITHIN) as link:
            link.sendall(b"%d:%s," % (len(request), request))
            return json.loads(_netstring(link))

    def _listening(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"baresip exited: {self.log()}")
        try:
            socket.create_connection(("127.0.0.1", self.control), timeout=1).close()
        except OSError:
            return False
        return True

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def dumps(self) -> list[Path]:
        """What the phone heard, one WAV per call (the sndfile module's '-dec' dumps)."""
        return sorted((self.home / "dumps").glob("*-dec.wav"))

    def stop(self) -> int:
        return terminate(self.process, 10)


def _netstring(link: socket.socket) -> bytes:
    """One netstring's payload; responses only: ctrl_tcp also sends events on the link."""
    buffer = b""
    while True:
        while b":" not in buffer or len(buffer) < _netstring_end(buffer):
            chunk = link.recv(65536)
            if not chunk:
                raise ConnectionError(f"ctrl_tcp closed the link: {buffer!r}")
            buffer += chunk
        end = _netstring_end(buffer)
        payload, buffer = buffer[buffer.index(b":") + 1:end - 1], buffer[end:]
        if json.loads(payload).get("response"):
            return payload


def _netstring_end(buffer: bytes) -> int:
    length, _ = buffer.split(b":", 1)
    return len(length) + 1 + int(length) + 1


def tone_at_end(dump: Path, seconds: float) -> tuple[float, float]:
    """(the strongest frequency in Hz, the share of the power within 20 Hz of it) in the
    last `seconds` of a dump, minus the last half second (the hang-up)."""
    with wave.open(str(dump), "rb") as wav:
        rate, channels = wav.getframerate(), wav.getnchannels()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")[::channels]
    tail = samples[-int(seconds * rate):-rate // 2].astype(np.float64)
    if len(tail) < rate // 4 or not tail.any():
        return 0.0, 0.0
    power = np.abs(np.fft.rfft(tail * np.hanning(len(tail)))) ** 2
    frequencies = np.fft.rfftfreq(len(tail), 1 / rate)
    peak = float(frequencies[int(np.argmax(power))])
    return peak, float(power[np.abs(frequencies - peak) <= 20].sum() / power.sum())


def agent_phone(tmp_path: Path, box: ApplianceProcess, user: str, tone: float) -> Phone:
    host, port = box.address
    phone = Phone(tmp_path, f"agent-{user}", tone,
                  f"<sip:{user}@{host}:{port}>;auth_pass={PASSWORDS[user]};"
                  "answermode=auto;regint=600")
    wait_until_ready(box.records, user, within=WITHIN, phone=phone)
    return phone


def test_baresip_agent_blind_transfers_its_caller_to_the_queue_and_the_next_agent_takes_it(
        tmp_path):
    caller_port = free_udp_port()
    # A long wrap-up keeps A out of the queue after the transfer: the call must go to B.
    config = write_site(tmp_path / "site.yaml", caller_port, users=PASSWORDS,
                        media={"queued_callers": "answer"}, wrap_up=120)
    box = ApplianceProcess(config, tmp_path)
    host, sip_port = box.address
    phones: list[Phone] = []
    try:
        phones.append(agent := agent_phone(tmp_path, box, A, A_TONE))
        phones.append(caller := Phone(tmp_path, "caller", CALLER_TONE,
                                      "<sip:gateway@127.0.0.1>;regint=0", caller_port))
        assert caller.command("dial", f"sip:100@{host}:{sip_port}")["ok"], caller.log()
        wait_for_record(box, lambda r: type(r) is CallAnswered and r.agent == A, "A answers")
        phones.append(agent_phone(tmp_path, box, B, B_TONE))  # ready only now: A was rung
        # baresip takes in-call commands (transfer among them) once it has the ACK.
        wait_until(lambda: "Call established" in agent.log(), WITHIN, "A's call established")
        response = agent.command("transfer", f"sip:{QUEUE}@{host}:{sip_port}")
        assert response["ok"], (response, agent.log())
        wait_for_record(box, lambda r: type(r) is CallAnswered and r.agent == B, "B answers")
        time.sleep(TALK_SECONDS)  # audio for the tone check, not synchronisation
        assert caller.command("hangup")["ok"], caller.log()
        wait_for_record(box, lambda r: type(r) is CallEnded, "the call ends")
        assert [phone.stop() for phone in phones] == [0, 0, 0]
        assert box.stop() == 0, box.log()
    finally:
        for phone in phones:
            phone.stop()
        box.stop()
    a_phone, caller_phone, b_phone = phones

    events = RecordReader(box.records).events()
    [transferred] = [r for r in events if type(r) is CallTransferred]
    assert (transferred.agent, transferred.target) == (A, QUEUE)
    call = transferred.call
    assert [(r.call, r.agent) for r in events if type(r) is CallAnswered] == [(call, A), (call, B)]
    assert [(r.call, r.cause) for r in events if type(r) is CallEnded] == [
        (call, EndCause.CALLER_HANGUP)]
    [detail] = RecordReader(box.records).calls()
    assert (detail.agent, detail.transfers, detail.last_queue) == (B, 1, QUEUE)

    # A's phone: our 202 and a NOTIFY reporting success, then its call ended - its BYE and
    # ours crossed, and both were answered 200.
    a_trace = call_trace(a_phone.log(), box.address)
    assert in_order(a_trace, ["> REFER", "< 202 (REFER)", "< NOTIFY SIP/2.0 200 OK",
                              "> 200 (NOTIFY)"]), a_trace
    assert {line for line in a_trace if "(BYE)" in line} <= {"< 200 (BYE)", "> 200 (BYE)"}
    assert any("(BYE)" in line for line in a_trace), a_trace
    # The caller was never let go: the only BYE is its own, answered 200.
    caller_trace = call_trace(caller_phone.log(), box.address)
    assert [line for line in caller_trace if "BYE" in line] == ["> BYE", "< 200 (BYE)"]

    # After the transfer, caller and B hear each other.
    heard_by_b = tone_at_end(b_phone.dumps()[-1], TALK_SECONDS)
    heard_by_caller = tone_at_end(caller_phone.dumps()[-1], TALK_SECONDS)
    assert abs(heard_by_b[0] - CALLER_TONE) <= 10 and heard_by_b[1] >= 0.5, heard_by_b
    assert abs(heard_by_caller[0] - B_TONE) <= 10 and heard_by_caller[1] >= 0.5, heard_by_caller


def wait_for_record(box: ApplianceProcess, wanted: Callable[[Any], bool], what: str) -> None:
    wait_until(lambda: any(wanted(r) for r in RecordReader(box.records).events()), WITHIN, what)


TRACED = re.compile(r"UDP (\S+) -> (\S+)\r?\n(.*?)\x1b\[;m", re.DOTALL)


def call_trace(log: str, box: tuple[str, int]) -> list[str]:
    """The SIP messages of a phone's calls in its log (-s), REGISTERs left out, each as
    "> request-method" (sent) or "< status (CSeq method)" (received); a NOTIFY with its
    sipfrag's status line."""
    lines = []
    for source, _, message in TRACED.findall(log):
        start, _, rest = message.partition("\n")
        method = re.search(r"^CSeq: \d+ (\S+)", rest, re.MULTILINE)
        if method is None or method[1] == "REGISTER":
            continue
        parts = start.split()
        text = f"{parts[1]} ({method[1]})" if parts[0] == "SIP/2.0" else parts[0]
        if text == "NOTIFY":
            text += " " + rest.rsplit("\n\n", 1)[-1].strip()
        lines.append(("<" if source == f"{box[0]}:{box[1]}" else ">") + " " + text)
    return lines


def in_order(lines: list[str], wanted: list[str]) -> bool:
    rest = iter(lines)
    return all(any(line == want for line in rest) for want in wanted)
