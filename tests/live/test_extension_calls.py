"""A call between two phones through `ccbox serve`: the testbed's user agents on UDP sockets
register, one dials the other's number, it rings, is answered and hung up; the records show
the internal call and the agents' pause for it, and no queue call."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from pathlib import Path
from random import Random

from appliance.events import AgentStateChanged, CallOffered, ExtensionCallEnded
from appliance.live.udp import UdpDriver
from appliance.records.store import RecordReader
from sim.live import ApplianceProcess, write_site
from sim.sipua import UserAgent, offer_sdp
from sim.traffic.sipp import free_udp_port

PASSWORDS = {"1001": "pw-1001", "1002": "pw-1002"}


async def until(condition: Callable[[], bool], within: float = 5.0) -> None:
    for _ in range(int(within / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def call_between_phones(box: tuple[str, int]) -> None:
    drivers: dict[str, UdpDriver] = {}
    phones: dict[str, UserAgent] = {}
    # Where each phone's RTP would go: a socket held for the test, so no one else's port.
    rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rtp.bind(("127.0.0.1", 0))
    body = offer_sdp("127.0.0.1", rtp.getsockname()[1])
    for user, password in PASSWORDS.items():
        port = free_udp_port()
        phones[user] = UserAgent(user, password, ("127.0.0.1", port), box, Random(user))
        drivers[user] = UdpDriver(phones[user], "127.0.0.1", port)  # type: ignore[arg-type]
        await drivers[user].start()

    def do(user: str, method: str, *args: object) -> object:
        result = getattr(phones[user], method)(drivers[user].now(), *args)
        drivers[user].flush()
        return result

    try:
        for user in PASSWORDS:
            do(user, "register")
        await until(lambda: all(any(e.kind == "registered" for e in p.events)
                                  for p in phones.values()))
        call = do("1001", "call", "1002", body)
        await until(lambda: any(c.state == "incoming" for c in phones["1002"].calls.values()))
        incoming = next(iter(phones["1002"].calls.values()))
        do("1002", "answer", incoming.id, body)
        await until(lambda: phones["1001"].calls[call].state == "answered")
        await asyncio.sleep(0.5)
        do("1001", "hangup", call)
        await until(lambda: incoming.state == "ended")
        busy = do("1001", "call", "1001", body)  # oneself: busy
        await until(lambda: phones["1001"].calls[busy].status == 486)
    finally:
        for driver in drivers.values():
            driver.close()
        rtp.close()


def test_two_phones_call_each_other_through_the_live_appliance(tmp_path: Path) -> None:
    config = write_site(tmp_path / "site.yaml", free_udp_port(), PASSWORDS)
    box = ApplianceProcess(config, tmp_path)
    try:
        asyncio.run(call_between_phones(box.address))
    finally:
        assert box.stop() == 0, box.log()
    records = RecordReader(box.records).events()
    assert [r.cause for r in records if isinstance(r, ExtensionCallEnded)] == ["caller_hangup"]
    paused = {r.agent for r in records
              if isinstance(r, AgentStateChanged) and r.reason == "internal_call"}
    assert paused == {"1001", "1002"}
    assert not any(isinstance(r, CallOffered) for r in records)
