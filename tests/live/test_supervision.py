"""A supervisor on an agent's call on the live box: `ccbox serve` between a trunk caller
(a 600 Hz tone), agent 1001 (1400 Hz) and supervisor 1002 (2200 Hz, `supervisor: true`), each
sending RTP from its own socket. The supervisor dials *82 1001 (whisper): the agent's
received audio holds the caller and the supervisor, the caller's only the agent. A 4 pressed
switches to listen: the supervisor hears caller and agent, and nobody hears the supervisor."""

from __future__ import annotations

import asyncio
from pathlib import Path
from random import Random

import pytest
import yaml

from appliance.events import SupervisionChanged, SupervisionEnded, SupervisionStarted
from appliance.live.udp import UdpDriver
from appliance.records.store import RecordReader
from sim.live import ApplianceProcess, media_port_range, write_site
from sim.sipua import UserAgent, offer_sdp
from sim.traffic.rtp_pcap import rtp_audio
from sim.traffic.sipp import free_udp_port
from tests.live.parties import RtpParty, relay_address, until
from tests.live.test_hold_music import share_at

pytestmark = pytest.mark.slow

PASSWORDS = {"1001": "pw-1001", "1002": "pw-1002"}
CALLER_HZ, AGENT_HZ, BOSS_HZ = 600.0, 1400.0, 2200.0
PHASE_SECONDS = 2.0
SETTLE = 0.5


async def supervised_call(box: tuple[str, int], caller_port: int,
                          parties: dict[str, RtpParty]) -> None:
    gateway = UserAgent("gw", "", ("127.0.0.1", caller_port), box, Random("gw"))
    agent = UserAgent("1001", PASSWORDS["1001"], ("127.0.0.1", free_udp_port()), box,
                      Random("1001"))
    boss = UserAgent("1002", PASSWORDS["1002"], ("127.0.0.1", free_udp_port()), box,
                     Random("1002"))
    drivers = {ua.user: UdpDriver(ua, ua.local[0], ua.local[1])  # type: ignore[arg-type]
               for ua in (gateway, agent, boss)}
    for driver in drivers.values():
        await driver.start()

    def do(ua: UserAgent, method: str, *args: object) -> object:
        result = getattr(ua, method)(drivers[ua.user].now(), *args)
        drivers[ua.user].flush()
        return result

    async def phase(name: str) -> None:
        for party in parties.values():
            party.phase = name
        for step in range(int(PHASE_SECONDS / 0.02)):
            for party in parties.values():
                party.tick(step * 0.02 >= SETTLE)
            await asyncio.sleep(0.02)

    try:
        do(agent, "register", 3600)  # the supervisor need not register to dial
        await until(lambda: any(e.kind == "registered" for e in agent.events), "registered")
        call = do(gateway, "call", "100", offer_sdp("127.0.0.1", parties["caller"].port),
                  "13800000000")
        await until(lambda: any(c.state == "incoming" for c in agent.calls.values()), "rung")
        incoming = next(iter(agent.calls))
        parties["agent"].peer = relay_address(agent.calls[incoming].invite.body)
        do(agent, "answer", incoming, offer_sdp("127.0.0.1", parties["agent"].port))
        await until(lambda: gateway.calls[call].state == "answered", "answered")
        parties["caller"].peer = relay_address(gateway.calls[call].remote_body)
        whisper = do(boss, "call", "*821001", offer_sdp("127.0.0.1", parties["boss"].port))
        await until(lambda: boss.calls[whisper].state == "answered", "supervising")
        parties["boss"].peer = relay_address(boss.calls[whisper].remote_body)
        await phase("whisper")
        do(boss, "press", whisper, "4")
        await phase("listen")
        do(boss, "hangup", whisper)
        await asyncio.sleep(0.3)
        do(gateway, "hangup", call)
        await asyncio.sleep(0.5)
    finally:
        for driver in drivers.values():
            driver.close()


def site_with_a_supervisor(tmp_path: Path, caller_port: int, rtp_max: int) -> Path:
    path = write_site(tmp_path / "site.yaml", caller_port, PASSWORDS,
                      media={"queued_callers": "answer", "rtp_port_max": rtp_max})
    site = yaml.safe_load(path.read_text())
    site["agents"] = [{"id": "1001", "skills": {"service": 5}}]
    for phone in site["sip"]["phones"]:
        phone["supervisor"] = phone["user"] == "1002"
    path.write_text(yaml.safe_dump(site, sort_keys=False))
    return path


def test_whisper_and_listen_are_heard_by_whom_they_should_be(tmp_path: Path) -> None:
    _, high = media_port_range()
    parties = {"caller": RtpParty(high - 1, CALLER_HZ), "agent": RtpParty(high - 3, AGENT_HZ),
               "boss": RtpParty(high - 5, BOSS_HZ)}
    caller_port = free_udp_port()
    box = ApplianceProcess(site_with_a_supervisor(tmp_path, caller_port, high - 6), tmp_path)
    try:
        asyncio.run(supervised_call(box.address, caller_port, parties))
    finally:
        for party in parties.values():
            party.sock.close()
        assert box.stop() == 0, box.log()
    heard = {(who, phase): rtp_audio(packets) for who, party in parties.items()
             for phase, packets in party.received.items()}
    assert all(len(samples) >= 8000 for samples in heard.values()), heard.keys()
    present = 0.1  # of the energy: each of two mixed tones has about half
    absent = 0.01
    assert share_at(heard["agent", "whisper"], CALLER_HZ) > present
    assert share_at(heard["agent", "whisper"], BOSS_HZ) > present
    assert share_at(heard["caller", "whisper"], AGENT_HZ) > present
    assert share_at(heard["caller", "whisper"], BOSS_HZ) < absent
    assert share_at(heard["boss", "listen"], CALLER_HZ) > present
    assert share_at(heard["boss", "listen"], AGENT_HZ) > present
    assert share_at(heard["agent", "listen"], BOSS_HZ) < absent
    assert share_at(heard["caller", "listen"], BOSS_HZ) < absent
    records = RecordReader(box.records).events()
    assert [(r.mode, r.supervisor) for r in records if isinstance(r, SupervisionStarted)] == [
        ("whisper", "1002")]
    assert [r.mode for r in records if isinstance(r, SupervisionChanged)] == ["listen"]
    assert [r.cause for r in records if isinstance(r, SupervisionEnded)] == [
        "supervisor_hangup"]
