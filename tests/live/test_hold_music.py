"""An agent's phone holds its caller on the live box: `ccbox serve` between a trunk caller and
phone 1001 (sim/sipua user agents over real UDP), each sending RTP from its own socket - the
agent a 1400 Hz tone, the caller a 600 Hz one. Held by a re-INVITE with a=sendonly, the
caller's received RTP carries the site's music (energy, and no trace of the agent's tone the
phone goes on sending) and the agent receives nothing; resumed, the agent's tone is back."""

from __future__ import annotations

import asyncio
from pathlib import Path
from random import Random

import numpy as np
import pytest

from appliance.events import CallHeld, CallResumed
from appliance.live.udp import UdpDriver
from appliance.records.store import RecordReader
from sim.live import ApplianceProcess, media_port_range, write_site
from sim.sipua import UserAgent, offer_sdp
from sim.traffic.rtp_pcap import dominant_frequency, rtp_audio
from sim.traffic.sipp import free_udp_port
from tests.live.parties import RtpParty, relay_address, until

pytestmark = pytest.mark.slow

AGENT, PASSWORD = "1001", "pw-1001"
AGENT_HZ, CALLER_HZ = 1400.0, 600.0  # neither in the default music
PHASE_SECONDS = 2.0  # talking, held, resumed
SETTLE = 0.5  # of each phase, left out: the re-INVITE's round trip and jitter


async def hold_and_resume(box: tuple[str, int], caller_port: int, caller: RtpParty,
                          agent: RtpParty) -> None:
    gateway = UserAgent("gw", "", ("127.0.0.1", caller_port), box, Random("gw"))
    phone = UserAgent(AGENT, PASSWORD, ("127.0.0.1", free_udp_port()), box, Random(AGENT))
    drivers = {ua.user: UdpDriver(ua, ua.local[0], ua.local[1])  # type: ignore[arg-type]
               for ua in (gateway, phone)}
    for driver in drivers.values():
        await driver.start()

    def do(ua: UserAgent, method: str, *args: object) -> object:
        result = getattr(ua, method)(drivers[ua.user].now(), *args)
        drivers[ua.user].flush()
        return result

    async def phase(name: str) -> None:
        caller.phase = agent.phase = name
        for step in range(int(PHASE_SECONDS / 0.02)):
            settled = step * 0.02 >= SETTLE
            caller.tick(settled)
            agent.tick(settled)
            await asyncio.sleep(0.02)

    try:
        do(phone, "register", 3600)
        await until(lambda: any(e.kind == "registered" for e in phone.events), "registered")
        call = do(gateway, "call", "100", offer_sdp("127.0.0.1", caller.port), "13800000000")
        await until(lambda: any(c.state == "incoming" for c in phone.calls.values()), "rung")
        incoming = next(iter(phone.calls))
        agent.peer = relay_address(phone.calls[incoming].invite.body)
        do(phone, "answer", incoming, offer_sdp("127.0.0.1", agent.port))
        await until(lambda: gateway.calls[call].state == "answered", "answered")
        caller.peer = relay_address(gateway.calls[call].remote_body)
        await phase("talking")
        do(phone, "reinvite", incoming, offer_sdp("127.0.0.1", agent.port, "sendonly"))
        await phase("held")
        do(phone, "reinvite", incoming, offer_sdp("127.0.0.1", agent.port, "sendrecv"))
        await phase("resumed")
        do(gateway, "hangup", call)
        await asyncio.sleep(0.5)
    finally:
        for driver in drivers.values():
            driver.close()


def test_a_held_caller_hears_music_in_the_received_rtp_and_the_agent_again_once_resumed(
        tmp_path: Path) -> None:
    _, high = media_port_range()
    # The two parties' sockets take the top of this worker's ports; the appliance the rest.
    caller, agent = RtpParty(high - 1, CALLER_HZ), RtpParty(high - 3, AGENT_HZ)
    caller_port = free_udp_port()
    site = write_site(tmp_path / "site.yaml", caller_port, {AGENT: PASSWORD},
                      media={"queued_callers": "answer", "rtp_port_max": high - 4})
    box = ApplianceProcess(site, tmp_path)
    try:
        asyncio.run(hold_and_resume(box.address, caller_port, caller, agent))
    finally:
        caller.sock.close()
        agent.sock.close()
        assert box.stop() == 0, box.log()
    heard = {name: rtp_audio(packets) for name, packets in caller.received.items()}
    assert abs(dominant_frequency(heard["talking"]) - AGENT_HZ) < 5
    held = heard["held"].astype(np.float64)
    assert len(held) >= 8000  # a second and more of RTP while held
    assert np.sqrt(np.mean(held ** 2)) > 300  # music, not silence
    assert share_at(held, AGENT_HZ) < 0.01  # and not the agent, who sends on
    assert abs(dominant_frequency(heard["resumed"]) - AGENT_HZ) < 5
    assert "held" not in agent.received  # the agent hears nothing while holding
    assert abs(dominant_frequency(rtp_audio(agent.received["resumed"])) - CALLER_HZ) < 5
    records = RecordReader(box.records).events()
    assert [type(r) for r in records if isinstance(r, CallHeld | CallResumed)] == [
        CallHeld, CallResumed]


def share_at(samples: np.ndarray, hz: float) -> float:
    """The share of the signal's energy within 20 Hz of `hz`."""
    power = np.abs(np.fft.rfft(samples)) ** 2
    frequencies = np.fft.rfftfreq(len(samples), 1 / 8000)
    return float(power[np.abs(frequencies - hz) < 20].sum() / power.sum())
