"""Voicemail on the live box: a phone (a `sim.sipua` user agent over UDP) subscribes to the
night mailbox's message-summary; a SIPp caller routed to the mailbox hears the greeting and
the beep, plays a tone (an RTP pcap) and hangs up; the box keeps the message as a WAV holding
the tone, with its metadata beside it and a `VoicemailLeft` record, and the phone hears
"Voice-Message: 1/0" in a NOTIFY. Then the box's owner dials *97, keys the PIN, hears the
message's tone in the RTP it receives, deletes it with 7, and the NOTIFY says 0/0."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable
from pathlib import Path
from random import Random
from typing import Any

import pytest
import yaml

from appliance.config.voicemail import Voicemail
from appliance.events import CallEnded, EndCause, VoicemailLeft
from appliance.live.udp import UdpDriver
from appliance.live.voicemail import VoicemailDesk
from appliance.records.store import RecordReader
from sim.live import ApplianceProcess, media_port_range, write_site
from sim.sipua import UserAgent, offer_sdp
from sim.traffic.rtp_pcap import dominant_frequency, rtp_audio, tone, write_rtp_pcap
from sim.traffic.sipp import SippConfig, SippResult, SippRun, free_udp_port, scenario_path
from tests.live.test_media_calls import level_at, read_wav

pytestmark = pytest.mark.slow

ANI, TONE_HZ, CALL_SECONDS = "13800000000", 1000.0, 9.0
PHONE, PASSWORD, PIN = "1001", "pw-1001", "2468"


def voicemail_site(tmp_path: Path, caller_port: int, **media: Any) -> Path:
    config = write_site(tmp_path / "site.yaml", caller_port, {PHONE: PASSWORD},
                        media={"queued_callers": "answer", **media})
    data: dict[str, Any] = yaml.safe_load(config.read_text())
    data["routes"] = [{"trunk_group": "gateway", "voicemail": "night"}]
    data["voicemail"] = {"folder": str(tmp_path / "voicemail"), "mailboxes": [
        {"name": "night", "number": "800", "pin": PIN, "max_seconds": 60, "agent": PHONE}]}
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    return config


def leave_message(box: ApplianceProcess, tmp_path: Path, caller_port: int) -> SippResult:
    pcap = write_rtp_pcap(tmp_path / "caller.pcap", tone(TONE_HZ, CALL_SECONDS))
    config = SippConfig(scenario_path("caller_ivr.xml"), remote=box.address,
                        local_port=caller_port, rate=1, max_calls=1, call_limit=1,
                        duration_ms=round(CALL_SECONDS * 1000), service="555",
                        keys={"pcap": str(pcap), "ani": ANI})
    return SippRun(config, timeout=CALL_SECONDS + 30, workdir=tmp_path / "caller").run()


async def subscribe_and_call(box: ApplianceProcess, tmp_path: Path,
                             caller_port: int) -> tuple[UserAgent, SippResult]:
    phone_port = free_udp_port()
    phone = UserAgent(PHONE, PASSWORD, ("127.0.0.1", phone_port), box.address,
                      Random("phone"))
    driver = UdpDriver(phone, "127.0.0.1", phone_port)  # type: ignore[arg-type]
    await driver.start()
    try:
        phone.subscribe(driver.now(), "800")
        driver.flush()
        await asyncio.sleep(0.5)
        result = await asyncio.to_thread(leave_message, box, tmp_path, caller_port)
        for _ in range(40):  # the NOTIFY follows the message's end
            if b"Voice-Message: 1/0" in phone.notifies[-1].body:
                break
            await asyncio.sleep(0.1)
    finally:
        driver.close()
    return phone, result


def test_a_message_is_left_kept_as_a_wav_of_the_callers_audio_and_notified(
        tmp_path: Path) -> None:
    caller_port = free_udp_port()
    box = ApplianceProcess(voicemail_site(tmp_path, caller_port), tmp_path)
    try:
        phone, caller = asyncio.run(subscribe_and_call(box, tmp_path, caller_port))
    finally:
        assert box.stop() == 0, box.log()
    assert (caller.successful, caller.failed) == (1, 0), (caller, box.log())
    bodies = [notify.body for notify in phone.notifies]
    assert bodies[0] == b"Messages-Waiting: no\r\nVoice-Message: 0/0\r\n", box.log()
    assert bodies[-1] == b"Messages-Waiting: yes\r\nVoice-Message: 1/0\r\n", box.log()
    records = RecordReader(box.records).events()
    (left,) = [r for r in records if isinstance(r, VoicemailLeft)]
    assert (left.mailbox, left.caller) == ("night", ANI)
    assert [r.cause for r in records if isinstance(r, CallEnded)] == [EndCause.VOICEMAIL]
    samples, seconds = read_wav(left.file)
    # The call lasts CALL_SECONDS; the greeting and beep take the first few of them.
    assert 2.0 <= seconds <= CALL_SECONDS and abs(seconds - left.seconds) < 0.1
    assert level_at(samples, TONE_HZ) > 20
    metadata = json.loads(Path(left.file).with_suffix(".json").read_text())
    assert (metadata["mailbox"], metadata["caller"], metadata["status"]) == ("night", ANI, "new")


def seed_message(folder: Path, seconds: float = 2.0) -> str:
    """A new message of a TONE_HZ tone in the night box, as a caller would have left it."""
    desk = VoicemailDesk(Voicemail(), folder, "seed")
    opened = desk.open(1, "night", ANI, 0.0)
    assert opened is not None
    sink, name = opened
    sink.write(tone(TONE_HZ, seconds))
    sink.close()
    desk.done(name, True, seconds)
    desk.shutdown()
    return name


class Earpiece:
    """The phone's RTP socket: keeps the audio it receives (mu-law, as offered first)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port))
        self.sock.setblocking(False)
        self.port = port
        self.packets: list[bytes] = []

    def drain(self) -> None:
        while True:
            try:
                self.packets.append(self.sock.recv(2048))
            except BlockingIOError:
                return

    def heard_tone(self) -> bool:
        """Whether the last half second received is the message's tone."""
        if len(self.packets) < 25:
            return False
        return abs(dominant_frequency(rtp_audio(self.packets[-25:])) - TONE_HZ) < 5


async def retrieve(box: ApplianceProcess, earpiece: Earpiece) -> tuple[UserAgent, bool]:
    phone_port = free_udp_port()
    phone = UserAgent(PHONE, PASSWORD, ("127.0.0.1", phone_port), box.address,
                      Random("phone"))
    driver = UdpDriver(phone, "127.0.0.1", phone_port)  # type: ignore[arg-type]
    await driver.start()

    def do(method: str, *args: object) -> object:
        result = getattr(phone, method)(driver.now(), *args)
        driver.flush()
        return result

    async def until(condition: Callable[[], bool], seconds: float = 15.0) -> bool:
        for _ in range(int(seconds / 0.02)):
            earpiece.drain()
            if condition():
                return True
            await asyncio.sleep(0.02)
        return False

    try:
        do("subscribe", "800")
        assert await until(lambda: bool(phone.notifies)), box.log()
        call = do("call", "*97", offer_sdp("127.0.0.1", earpiece.port))
        assert await until(lambda: phone.calls[call].state == "answered"), box.log()
        await asyncio.sleep(1.0)  # "please enter your PIN"
        for key in PIN + "#":
            do("press", call, key)
            await asyncio.sleep(0.15)
        heard = await until(earpiece.heard_tone)
        do("press", call, "7")
        await until(lambda: b"Voice-Message: 0/0" in phone.notifies[-1].body, 5.0)
        await until(lambda: call not in phone.calls or phone.calls[call].state == "ended",
                    10.0)
    finally:
        driver.close()
    return phone, heard


def test_the_owner_dials_the_code_keys_the_pin_hears_the_message_and_deletes_it(
        tmp_path: Path) -> None:
    _, high = media_port_range()
    earpiece = Earpiece(high - 1)  # the top of this worker's ports; the appliance the rest
    name = seed_message(tmp_path / "voicemail")
    box = ApplianceProcess(voicemail_site(tmp_path, free_udp_port(), rtp_port_max=high - 2),
                           tmp_path)
    try:
        phone, heard = asyncio.run(retrieve(box, earpiece))
    finally:
        earpiece.sock.close()
        assert box.stop() == 0, box.log()
    bodies = [notify.body for notify in phone.notifies]
    assert bodies[0] == b"Messages-Waiting: yes\r\nVoice-Message: 1/0\r\n", box.log()
    assert heard, box.log()  # the message's tone, played into the call
    assert bodies[-1] == b"Messages-Waiting: no\r\nVoice-Message: 0/0\r\n", box.log()
    assert not Path(name).exists() and not Path(name).with_suffix(".json").exists()
    assert "ended_by_peer" in [event.kind for event in phone.events], box.log()
