"""Voicemail on the live box: a phone (a `sim.sipua` user agent over UDP) subscribes to the
night mailbox's message-summary; a SIPp caller routed to the mailbox hears the greeting and
the beep, plays a tone (an RTP pcap) and hangs up; the box keeps the message as a WAV holding
the tone, with its metadata beside it and a `VoicemailLeft` record, and the phone hears
"Voice-Message: 1/0" in a NOTIFY."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from random import Random
from typing import Any

import pytest
import yaml

from appliance.events import CallEnded, EndCause, VoicemailLeft
from appliance.live.udp import UdpDriver
from appliance.records.store import RecordReader
from sim.live import ApplianceProcess, write_site
from sim.sipua import UserAgent
from sim.traffic.rtp_pcap import tone, write_rtp_pcap
from sim.traffic.sipp import SippConfig, SippResult, SippRun, free_udp_port, scenario_path
from tests.live.test_media_calls import level_at, read_wav

pytestmark = pytest.mark.slow

ANI, TONE_HZ, CALL_SECONDS = "13800000000", 1000.0, 9.0


def voicemail_site(tmp_path: Path, caller_port: int) -> Path:
    config = write_site(tmp_path / "site.yaml", caller_port, media={"queued_callers": "answer"})
    data: dict[str, Any] = yaml.safe_load(config.read_text())
    data["routes"] = [{"trunk_group": "gateway", "voicemail": "night"}]
    data["voicemail"] = {"folder": str(tmp_path / "voicemail"), "mailboxes": [
        {"name": "night", "number": "800", "pin": "2468", "max_seconds": 60}]}
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
    phone = UserAgent("1001", "", ("127.0.0.1", phone_port), box.address, Random("phone"))
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
