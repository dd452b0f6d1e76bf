"""A three-party conference on the live box: phones 1001, 1002 and 1003 (the testbed's user
agents, each sending a tone of its own from its own RTP socket) dial room 800 through
`ccbox serve`; each one's received audio holds the other two tones and not its own."""

from __future__ import annotations

import asyncio
from pathlib import Path
from random import Random

import pytest

from appliance.events import ConferenceJoined, ConferenceLeft
from appliance.live.udp import UdpDriver
from appliance.records.store import RecordReader
from sim.live import ApplianceProcess, media_port_range, write_site
from sim.sipua import UserAgent, offer_sdp
from sim.traffic.rtp_pcap import rtp_audio
from sim.traffic.sipp import free_udp_port
from tests.live.parties import RtpParty, relay_address, until
from tests.live.test_hold_music import share_at

pytestmark = pytest.mark.slow

TONES = {"1001": 600.0, "1002": 1400.0, "1003": 2200.0}
SECONDS, SETTLE = 2.0, 0.5


async def conference(box: tuple[str, int], parties: dict[str, RtpParty]) -> None:
    phones = {user: UserAgent(user, f"pw-{user}", ("127.0.0.1", free_udp_port()), box,
                              Random(user)) for user in parties}
    drivers = {user: UdpDriver(ua, ua.local[0], ua.local[1])  # type: ignore[arg-type]
               for user, ua in phones.items()}
    for driver in drivers.values():
        await driver.start()

    def do(user: str, method: str, *args: object) -> object:
        result = getattr(phones[user], method)(drivers[user].now(), *args)
        drivers[user].flush()
        return result

    try:
        calls = {user: do(user, "call", "800", offer_sdp("127.0.0.1", parties[user].port))
                 for user in parties}
        for user, call in calls.items():
            await until(lambda u=user, c=call: phones[u].calls[c].state == "answered", user)
            parties[user].peer = relay_address(phones[user].calls[call].remote_body)
        for step in range(int(SECONDS / 0.02)):
            for party in parties.values():
                party.tick(step * 0.02 >= SETTLE)
            await asyncio.sleep(0.02)
        for user, call in calls.items():
            do(user, "hangup", call)
        await asyncio.sleep(0.5)
    finally:
        for driver in drivers.values():
            driver.close()


def test_each_member_hears_the_other_two(tmp_path: Path) -> None:
    _, high = media_port_range()
    parties = {user: RtpParty(high - 1 - 2 * index, hz)
               for index, (user, hz) in enumerate(TONES.items())}
    site = write_site(tmp_path / "site.yaml", free_udp_port(),
                      {user: f"pw-{user}" for user in TONES},
                      sip={"conferences": [{"number": "800"}]},
                      media={"rtp_port_max": high - 6})
    box = ApplianceProcess(site, tmp_path)
    try:
        asyncio.run(conference(box.address, parties))
    finally:
        for party in parties.values():
            party.sock.close()
        assert box.stop() == 0, box.log()
    for user, party in parties.items():
        heard = rtp_audio(party.received["talking"])
        assert len(heard) >= 8000, user
        for other, hz in TONES.items():
            share = share_at(heard, hz)
            assert share < 0.01 if other == user else share > 0.1, (user, other, share)
    records = RecordReader(box.records).events()
    assert sorted(r.party for r in records if isinstance(r, ConferenceJoined)) == list(TONES)
    assert len([r for r in records if isinstance(r, ConferenceLeft)]) == 3
