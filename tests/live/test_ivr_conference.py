"""An IVR exit into a conference room through `ccbox serve`: phones 1001 and 1002 (the
testbed's user agents) dial room 800 and key its PIN in SIP INFO; a trunk caller (the
testbed's gateway, on a one-channel trunk) is routed to a flow whose exit is the room with
`ask_pin`, keys the PIN as RFC 4733 events and joins. Each of the three - each sending a
tone of its own from its own RTP socket - hears the other two and not itself. When the
caller leaves, its trunk channel is given back: a second call on the trunk gets through."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from appliance.events import CallEnded, ConferenceJoined, ConferenceLeft
from appliance.records.store import RecordReader
from sim.live import ApplianceProcess, media_port_range, write_site
from sim.traffic.rtp_pcap import rtp_audio
from sim.traffic.sipp import free_udp_port
from tests.live.parties import GatewayAndPhones, RtpParty, relay_address, until
from tests.live.test_callback import keyed_offer, press
from tests.live.test_hold_music import share_at

pytestmark = pytest.mark.slow

TONES = {"gw": 600.0, "1001": 1400.0, "1002": 2200.0}
PIN = "4321"


class Room(GatewayAndPhones):
    async def join(self, user: str) -> int:
        """Phone `user` dials the room and keys its PIN in SIP INFO: its call."""
        phone = self.phones[user]
        call = self.do(phone, "call", "800", self.offer(user))
        assert isinstance(call, int)
        await until(lambda: phone.calls[call].state == "answered", f"{user} answered")
        self.rtp[user].peer = relay_address(phone.calls[call].remote_body)
        for digit in PIN + "#":
            self.do(phone, "press", call, digit)
            await asyncio.sleep(0.1)
        return call

    async def caller_joins(self) -> int:
        """The trunk caller reaches the flow's exit and keys the PIN as RFC 4733: its call."""
        call = self.do(self.gateway, "call", "100", keyed_offer(self.rtp["gw"].port), None,
                       "13800000000")
        assert isinstance(call, int)
        await until(lambda: self.gateway.calls[call].state == "answered", "the IVR answered")
        self.rtp["gw"].peer = relay_address(self.gateway.calls[call].remote_body)
        await asyncio.sleep(0.5)
        for digit in PIN + "#":
            await press(self.rtp["gw"], digit)
            await asyncio.sleep(0.1)
        return call

    async def scenario(self) -> None:
        await self.start()
        members = [await self.join(user) for user in ("1001", "1002")]
        caller = await self.caller_joins()
        await asyncio.sleep(1.0)  # the PIN checked and the caller let in
        await self.talk()
        self.do(self.gateway, "hangup", caller)
        await asyncio.sleep(0.5)
        again = self.do(self.gateway, "call", "100", keyed_offer(self.rtp["gw"].port), None,
                        "13800000001")
        await until(lambda: self.gateway.calls[again].state == "answered",  # type: ignore[index]
                    "the second call on the one channel answered")
        self.do(self.gateway, "hangup", again)
        for user, call in zip(("1001", "1002"), members, strict=True):
            self.do(self.phones[user], "hangup", call)
        await asyncio.sleep(0.5)


def test_an_ivr_caller_keys_the_pin_and_talks_with_two_phones_in_the_room(
        tmp_path: Path) -> None:
    _, high = media_port_range()
    gateway_port = free_udp_port()
    config = write_site(tmp_path / "site.yaml", gateway_port,
                        {user: f"pw-{user}" for user in ("1001", "1002")}, channels=1,
                        sip={"conferences": [{"number": "800", "pin": PIN}]},
                        media={"queued_callers": "answer", "rtp_port_max": high - 8})
    site = yaml.safe_load(config.read_text())
    site["routes"] = [{"trunk_group": "gateway", "flow": "main"}]
    site["ivr"] = {"flows": [{"name": "main", "start": "room", "nodes": [
        {"name": "room", "kind": "to_conference", "room": "800", "ask_pin": True}]}]}
    config.write_text(yaml.safe_dump(site, sort_keys=False))
    box = ApplianceProcess(config, tmp_path)
    rtp = {name: RtpParty(high - 1 - 2 * index, hz) for index, (name, hz) in
           enumerate(TONES.items())}
    room = Room(box.address, gateway_port, {"1001": "pw-1001", "1002": "pw-1002"}, rtp)
    try:
        asyncio.run(room.scenario())
    finally:
        room.close()
        assert box.stop() == 0, box.log()
    for name, party in rtp.items():
        heard = rtp_audio(party.received["talking"])
        assert len(heard) >= 8000, name
        for other, hz in TONES.items():
            share = share_at(heard, hz)
            assert share < 0.01 if other == name else share > 0.1, (name, other, share)
    records = RecordReader(box.records).events()
    assert sorted(r.party for r in records if isinstance(r, ConferenceJoined)) == [
        "1001", "1002", "13800000000"]
    causes = [r.cause for r in records if isinstance(r, CallEnded)]
    assert causes[0] == "conference" and len(causes) == 2, causes  # and the second call
    assert len([r for r in records if isinstance(r, ConferenceLeft)]) == 3
