"""Ring groups and trunk callers through `ccbox serve`, the testbed's user agents on UDP
sockets, each party sending a tone of its own from its own RTP socket.

A route sends trunk callers to ring group 600 (phones 2001 and 2002, all at once): 2002
answers the first and the two hear each other; nobody answers the second, which goes on to
the group's `then: voicemail:night` and leaves a message (a WAV, a `VoicemailLeft` record).

Agent 1001 blind-transfers a queue caller to 600, by REFER and then by the in-call keys
`#1 600 #` as RFC 4733: each time the group's members ring, one answers and talks with the
caller."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml

from appliance.events import (
    CallEnded,
    CallTransferred,
    RingGroupCallAnswered,
    RingGroupCallEnded,
    VoicemailLeft,
)
from appliance.records.store import RecordReader
from sim.live import ApplianceProcess, media_port_range, write_site
from sim.traffic.rtp_pcap import dominant_frequency, rtp_audio
from sim.traffic.sipp import free_udp_port
from tests.live.parties import GatewayAndPhones, RtpParty, incoming, relay_address, until
from tests.live.test_callback import keyed_offer, press
from tests.live.test_hold_music import share_at
from tests.live.test_media_calls import read_wav

pytestmark = pytest.mark.slow

TONES = {"gw": 600.0, "1001": 1000.0, "2001": 1400.0, "2002": 2200.0}
PASSWORDS = {user: f"pw-{user}" for user in ("1001", "2001", "2002")}
GROUP = {"number": "600", "members": ["2001", "2002"], "ring_seconds": 3}
WITHIN = 20.0


def group_site(tmp_path: Path, gateway_port: int, high: int, **site: Any) -> Path:
    """Agent 1001 in queue service, desk phones 2001 and 2002 in ring group 600."""
    config = write_site(tmp_path / "site.yaml", gateway_port, PASSWORDS,
                        media={"queued_callers": "answer", "rtp_port_max": high - 10},
                        wrap_up=0)
    data = yaml.safe_load(config.read_text())
    data["agents"] = [{"id": "1001", "skills": {"service": 5}}]
    data["sip"]["ring_groups"] = [GROUP]
    data.update(site)
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    return config


class Desks(GatewayAndPhones):
    async def caller(self, ani: str) -> int:
        call = self.do(self.gateway, "call", "100", keyed_offer(self.rtp["gw"].port), None, ani)
        assert isinstance(call, int)
        return call

    async def answer(self, user: str) -> int:
        """`user`'s phone answers the call ringing there, its tone sent to the box: the call."""
        phone = self.phones[user]
        await until(lambda: incoming(phone) is not None, f"{user} rung", WITHIN)
        rung = incoming(phone)
        assert rung is not None
        self.rtp[user].peer = relay_address(phone.calls[rung].invite.body)
        self.do(phone, "answer", rung, self.offer(user))
        return rung

    async def put_through(self, call: int) -> None:
        await until(lambda: self.gateway.calls[call].state == "answered", "answered", WITHIN)
        self.rtp["gw"].peer = relay_address(self.gateway.calls[call].remote_body)

    async def hang_up(self, call: int) -> None:
        self.do(self.gateway, "hangup", call)
        await until(lambda: self.gateway.calls[call].state == "ended", "ended")
        await asyncio.sleep(0.5)
        for party in self.rtp.values():
            party.peer = None

    async def routed(self) -> None:
        await self.start()
        call = await self.caller("13800000001")
        await until(lambda: all(incoming(self.phones[u]) for u in ("2001", "2002")),
                    "the group rung", WITHIN)
        await self.answer("2002")
        await self.put_through(call)
        await self.talk("routed")
        await self.hang_up(call)
        call = await self.caller("13800000002")
        await self.put_through(call)  # nobody answered: the mailbox took the call
        await self.talk("voicemail", seconds=8.0)
        await self.hang_up(call)

    async def transferred(self) -> None:
        await self.start()
        for phase, keyed in (("referred", False), ("keyed", True)):
            call = await self.caller("13800000003")
            agent = await self.answer("1001")
            await self.put_through(call)
            await asyncio.sleep(0.5)
            if keyed:
                for key in "#1600#":
                    await press(self.rtp["1001"], key)
                    await asyncio.sleep(0.1)
            else:
                self.do(self.phones["1001"], "refer", agent, "600")
            await until(lambda a=agent: self.phones["1001"].calls[a].state == "ended",
                        "the agent let go")
            self.rtp["1001"].peer = None
            await self.answer("2001" if keyed else "2002")
            await self.talk(phase)
            await self.hang_up(call)


def heard(party: RtpParty, phase: str) -> float:
    return dominant_frequency(rtp_audio(party.received[phase]))


def run(config: Path, tmp_path: Path, gateway_port: int, high: int,
        scenario: str) -> tuple[Desks, list[Any]]:
    box = ApplianceProcess(config, tmp_path)
    rtp = {name: RtpParty(high - 1 - 2 * index, hz)
           for index, (name, hz) in enumerate(TONES.items())}
    desks = Desks(box.address, gateway_port, PASSWORDS, rtp)
    try:
        asyncio.run(getattr(desks, scenario)())
    finally:
        desks.close()
        assert box.stop() == 0, box.log()
    return desks, RecordReader(box.records).events()


def test_a_routed_caller_is_answered_by_a_member_and_the_next_goes_to_voicemail(
        tmp_path: Path) -> None:
    _, high = media_port_range()
    gateway_port = free_udp_port()
    config = group_site(tmp_path, gateway_port, high,
                        routes=[{"trunk_group": "gateway", "ring_group": "600"}],
                        voicemail={"folder": str(tmp_path / "voicemail"), "mailboxes": [
                            {"name": "night", "number": "850", "pin": "2468"}]})
    data = yaml.safe_load(config.read_text())
    data["sip"]["ring_groups"] = [{**GROUP, "then": "voicemail:night"}]
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    desks, records = run(config, tmp_path, gateway_port, high, "routed")
    assert abs(heard(desks.rtp["gw"], "routed") - TONES["2002"]) < 5
    assert abs(heard(desks.rtp["2002"], "routed") - TONES["gw"]) < 5
    assert [r.member for r in records if isinstance(r, RingGroupCallAnswered)] == ["2002"]
    assert [r.cause for r in records if isinstance(r, RingGroupCallEnded)] == [
        "caller_hangup", "forwarded"]
    assert [r.cause for r in records if isinstance(r, CallEnded)] == ["ring_group", "voicemail"]
    [left] = [r for r in records if isinstance(r, VoicemailLeft)]
    assert (left.mailbox, left.caller, left.kept) == ("night", "13800000002", True)
    samples, seconds = read_wav(left.file)
    assert seconds > 1.0 and abs(dominant_frequency(samples) - TONES["gw"]) < 5


def test_an_agent_transfers_a_caller_to_the_group_by_refer_and_by_keys(
        tmp_path: Path) -> None:
    _, high = media_port_range()
    gateway_port = free_udp_port()
    config = group_site(tmp_path, gateway_port, high)
    desks, records = run(config, tmp_path, gateway_port, high, "transferred")
    for phase, member in (("referred", "2002"), ("keyed", "2001")):
        assert abs(heard(desks.rtp["gw"], phase) - TONES[member]) < 5, phase
        assert abs(heard(desks.rtp[member], phase) - TONES["gw"]) < 5, phase
        assert share_at(rtp_audio(desks.rtp["gw"].received[phase]), TONES["1001"]) < 0.01
    assert [r.target for r in records if isinstance(r, CallTransferred)] == [
        "ring_group:600", "ring_group:600"]
    assert [r.cause for r in records if isinstance(r, CallEnded)] == [
        "transferred_out", "transferred_out"]
