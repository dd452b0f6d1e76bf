"""In-call feature codes on the live box: `ccbox serve` between a trunk caller and phone 1001
(sim/sipua user agents over real UDP, each sending a tone on RTP from its own socket: the
caller 600 Hz, the agent 1400 Hz), the phone keying RFC 4733 events as an analog phone behind
a gateway would. `*0` holds the caller, whose received RTP then carries the site's music and
not the agent's tone, and `*0` again gives the agent back; `#1 200 #` sends the caller to the
queue number 200 routes to, and the box hangs up the phone; on a second call `#72` parks the
caller and the phone hears the slot before it is hung up. The caller's RTP carries none of
the agent's telephone-events."""

from __future__ import annotations

import asyncio
from pathlib import Path
from random import Random

import numpy as np
import pytest
import yaml

from appliance.events import CallHeld, CallParked, CallResumed, CallTransferred
from appliance.live.udp import UdpDriver
from appliance.media.rtp import parse
from appliance.records.store import RecordReader
from sim.live import ApplianceProcess, media_port_range, write_site
from sim.sipua import UserAgent, offer_sdp
from sim.traffic.rtp_pcap import dominant_frequency, rtp_audio
from sim.traffic.sipp import free_udp_port
from tests.live.test_callback import incoming, keyed_offer, press, until
from tests.live.test_hold_music import RtpParty, relay_address, share_at

pytestmark = pytest.mark.slow

AGENT, PASSWORD = "1001", "pw-1001"
CALLER_HZ, AGENT_HZ = 600.0, 1400.0


class Parties:
    def __init__(self, box: tuple[str, int], gateway_port: int, high: int) -> None:
        self.gateway = UserAgent("gw", "", ("127.0.0.1", gateway_port), box, Random("gw"))
        self.phone = UserAgent(AGENT, PASSWORD, ("127.0.0.1", free_udp_port()), box,
                               Random(AGENT))
        self.caller, self.agent = RtpParty(high - 1, CALLER_HZ), RtpParty(high - 3, AGENT_HZ)
        self.drivers = {ua.user: UdpDriver(ua, ua.local[0], ua.local[1])  # type: ignore[arg-type]
                        for ua in (self.gateway, self.phone)}

    def do(self, ua: UserAgent, method: str, *args: object) -> object:
        result = getattr(ua, method)(self.drivers[ua.user].now(), *args)
        self.drivers[ua.user].flush()
        return result

    async def phase(self, name: str, seconds: float = 2.0, settle: float = 0.5) -> None:
        self.caller.phase = self.agent.phase = name
        for step in range(int(seconds / 0.02)):
            for party in (self.caller, self.agent):
                party.tick(step * 0.02 >= settle)
            await asyncio.sleep(0.02)

    async def keys(self, keyed: str) -> None:
        """The agent keys `keyed`; what either party receives meanwhile is phase "keys"."""
        self.caller.phase = self.agent.phase = "keys"
        for key in keyed:
            await press(self.agent, key)
            for _ in range(5):
                for party in (self.caller, self.agent):
                    party.tick(True)
                await asyncio.sleep(0.02)

    async def told(self, leg: int) -> None:
        """Until the phone's call `leg` is ended, what it receives is phase "told"."""
        self.agent.phase = "told"
        while self.phone.calls[leg].state != "ended":
            self.agent.tick(True)
            await asyncio.sleep(0.02)
        self.agent.tick(True)

    async def answered_call(self) -> tuple[int, int]:
        """A caller put through to the phone: (the gateway's call, the phone's)."""
        call = self.do(self.gateway, "call", "100", keyed_offer(self.caller.port), None,
                       "13800000000")
        assert isinstance(call, int)
        await until(lambda: incoming(self.phone) is not None, "the agent rung")
        ringing = incoming(self.phone)
        assert ringing is not None
        self.agent.peer = relay_address(self.phone.calls[ringing].invite.body)
        self.do(self.phone, "answer", ringing, offer_sdp("127.0.0.1", self.agent.port))
        await until(lambda: self.gateway.calls[call].state == "answered", "answered")
        self.caller.peer = relay_address(self.gateway.calls[call].remote_body)
        return call, ringing

    async def hang_up(self, call: int) -> None:
        self.do(self.gateway, "hangup", call)
        await asyncio.sleep(0.5)

    def close(self) -> None:
        for driver in self.drivers.values():
            driver.close()
        for party in (self.caller, self.agent):
            party.sock.close()


async def scenario(parties: Parties) -> None:
    for driver in parties.drivers.values():
        await driver.start()
    phone = parties.phone
    parties.do(phone, "register", 3600)
    await until(lambda: any(e.kind == "registered" for e in phone.events), "registered")
    call, leg = await parties.answered_call()
    await parties.phase("talking")
    await parties.keys("*0")
    await parties.phase("held")
    await parties.keys("*0")
    await parties.phase("resumed")
    await parties.keys("#1200#")
    await until(lambda: phone.calls[leg].state == "ended", "the agent let go")
    await parties.hang_up(call)
    call, leg = await parties.answered_call()
    await parties.keys("#72")
    await asyncio.wait_for(parties.told(leg), 10)  # the parker let go
    await parties.hang_up(call)


def test_an_agent_holds_transfers_and_parks_by_keys(tmp_path: Path) -> None:
    _, high = media_port_range()
    gateway_port = free_udp_port()
    config = write_site(tmp_path / "site.yaml", gateway_port, {AGENT: PASSWORD},
                        media={"queued_callers": "answer", "rtp_port_max": high - 4},
                        wrap_up=0)
    site = yaml.safe_load(config.read_text())
    site["queues"].append({"name": "sales", "strategy": "longest_idle", "ring_timeout": 15})
    site["agents"][0]["skills"]["sales"] = 1
    site["routes"].insert(0, {"trunk_group": "gateway", "dnis": "200", "queue": "sales"})
    config.write_text(yaml.safe_dump(site, sort_keys=False))
    box = ApplianceProcess(config, tmp_path)
    parties = Parties(box.address, gateway_port, high)
    try:
        asyncio.run(scenario(parties))
    finally:
        parties.close()
        assert box.stop() == 0, box.log()
    heard = {name: rtp_audio(packets) for name, packets in parties.caller.received.items()}
    assert abs(dominant_frequency(heard["talking"]) - AGENT_HZ) < 5
    held = heard["held"].astype(np.float64)
    assert len(held) >= 8000  # a second and more of RTP while held
    assert np.sqrt(np.mean(held ** 2)) > 300  # music, not silence
    assert share_at(held, AGENT_HZ) < 0.01  # and not the agent, who sends on
    assert abs(dominant_frequency(heard["resumed"]) - AGENT_HZ) < 5
    keyed = [parse(data).payload_type for data in parties.caller.received["keys"]]
    assert keyed and 101 not in keyed  # the caller's RTP went on, without the keys
    told = rtp_audio(parties.agent.received["told"]).astype(np.float64)
    print(f"the parker heard {len(told) / 8000:.2f} s before the BYE")
    assert len(told) >= 8000  # "parked at 7 0 1": a second and more
    assert np.sqrt(np.mean(told ** 2)) > 300  # speech, not silence
    records = RecordReader(box.records).events()
    assert [type(r) for r in records if isinstance(r, CallHeld | CallResumed)] == [
        CallHeld, CallResumed]
    [transferred] = [r for r in records if isinstance(r, CallTransferred)]
    assert (transferred.agent, transferred.target) == (AGENT, "sales")
    [parked] = [r for r in records if isinstance(r, CallParked)]
    assert (parked.agent, parked.slot) == (AGENT, 701)
