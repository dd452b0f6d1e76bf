"""An agent transfers its caller into a conference room through `ccbox serve`: phones 1002
and 1003 are in room 800, the caller (the testbed's gateway) is put through to 1001, which
REFERs it to 800; the caller joins, and each of the three - each sending a tone of its own
from its own RTP socket - hears the other two and not itself. The call ends for call
control with cause `conference`; its trunk channel is the caller's until it leaves."""

from __future__ import annotations

import asyncio
from pathlib import Path
from random import Random

import pytest

from appliance.events import CallEnded, CallTransferred, ConferenceJoined, ConferenceLeft
from appliance.live.udp import UdpDriver
from appliance.records.store import RecordReader
from sim.live import ApplianceProcess, media_port_range, write_site
from sim.sipua import UserAgent, offer_sdp
from sim.traffic.rtp_pcap import rtp_audio
from sim.traffic.sipp import free_udp_port
from tests.live.parties import RtpParty, incoming, relay_address, until
from tests.live.test_hold_music import share_at

pytestmark = pytest.mark.slow

TONES = {"gw": 600.0, "1002": 1400.0, "1003": 2200.0}
AGENT_HZ = 1000.0


class Room:
    """The gateway, the agent 1001 and the two phones in the room, on UDP."""

    def __init__(self, box: tuple[str, int], caller_port: int, high: int) -> None:
        users = ("1001", "1002", "1003")
        self.uas = {user: UserAgent(user, f"pw-{user}", ("127.0.0.1", free_udp_port()), box,
                                    Random(user)) for user in users}
        self.uas["gw"] = UserAgent("gw", "", ("127.0.0.1", caller_port), box, Random("gw"))
        self.rtp = {name: RtpParty(high - 1 - 2 * index, hz)
                    for index, (name, hz) in enumerate({**TONES, "1001": AGENT_HZ}.items())}
        self.drivers = {name: UdpDriver(ua, ua.local[0], ua.local[1])  # type: ignore[arg-type]
                        for name, ua in self.uas.items()}

    def do(self, name: str, method: str, *args: object) -> object:
        result = getattr(self.uas[name], method)(self.drivers[name].now(), *args)
        self.drivers[name].flush()
        return result

    async def talk(self, seconds: float = 2.0, settle: float = 0.5) -> None:
        for step in range(int(seconds / 0.02)):
            for party in self.rtp.values():
                party.tick(step * 0.02 >= settle)
            await asyncio.sleep(0.02)

    async def call(self, name: str, number: str) -> int:
        """`name` calls `number` and sends its tone to the relay port it is answered from."""
        call = self.do(name, "call", number, offer_sdp("127.0.0.1", self.rtp[name].port))
        assert isinstance(call, int)
        await until(lambda: self.uas[name].calls[call].state == "answered", f"{name} answered")
        self.rtp[name].peer = relay_address(self.uas[name].calls[call].remote_body)
        return call

    async def scenario(self) -> None:
        for driver in self.drivers.values():
            await driver.start()
        for user in ("1001", "1002", "1003"):
            self.do(user, "register", 3600)
        await until(lambda: all(any(e.kind == "registered" for e in self.uas[u].events)
                                for u in ("1001", "1002", "1003")), "registered")
        members = {user: await self.call(user, "800") for user in ("1002", "1003")}
        caller = self.do("gw", "call", "100", offer_sdp("127.0.0.1", self.rtp["gw"].port))
        agent = self.uas["1001"]
        await until(lambda: incoming(agent) is not None, "the agent rung")
        rung = incoming(agent)
        self.rtp["1001"].peer = relay_address(agent.calls[rung].invite.body)  # type: ignore[index]
        self.do("1001", "answer", rung, offer_sdp("127.0.0.1", self.rtp["1001"].port))
        await until(lambda: self.uas["gw"].calls[caller].state == "answered", "put through")  # type: ignore[index]
        self.rtp["gw"].peer = relay_address(self.uas["gw"].calls[caller].remote_body)  # type: ignore[index]
        await self.talk(1.0)
        self.do("1001", "refer", rung, "800")
        await until(lambda: agent.calls[rung].state == "ended", "the agent released")  # type: ignore[index]
        self.rtp["1001"].peer = None
        for party in self.rtp.values():
            party.received.clear()
        await self.talk()
        self.do("gw", "hangup", caller)
        for user, call in members.items():
            self.do(user, "hangup", call)
        await asyncio.sleep(0.5)

    def close(self) -> None:
        for driver in self.drivers.values():
            driver.close()
        for party in self.rtp.values():
            party.sock.close()


def test_a_caller_transferred_into_a_room_and_two_phones_each_hear_the_other_two(
        tmp_path: Path) -> None:
    _, high = media_port_range()
    caller_port = free_udp_port()
    site = write_site(tmp_path / "site.yaml", caller_port,
                      {user: f"pw-{user}" for user in ("1001", "1002", "1003")},
                      sip={"conferences": [{"number": "800"}]},
                      media={"queued_callers": "answer", "rtp_port_max": high - 8})
    box = ApplianceProcess(site, tmp_path)
    room = Room(box.address, caller_port, high)
    try:
        asyncio.run(room.scenario())
    finally:
        room.close()
        assert box.stop() == 0, box.log()
    for name in TONES:
        heard = rtp_audio(room.rtp[name].received["talking"])
        assert len(heard) >= 8000, name
        for other, hz in {**TONES, "1001": AGENT_HZ}.items():
            share = share_at(heard, hz)
            expected_in = other in TONES and other != name
            assert share > 0.1 if expected_in else share < 0.01, (name, other, share)
    records = RecordReader(box.records).events()
    assert [r.target for r in records if isinstance(r, CallTransferred)] == ["conference:800"]
    assert [r.cause for r in records if isinstance(r, CallEnded)] == ["conference"]
    assert len([r for r in records if isinstance(r, ConferenceJoined)]) == 3
    assert len([r for r in records if isinstance(r, ConferenceLeft)]) == 3
