"""A phone's call to an outside number through `ccbox serve`: the testbed's user agents on
UDP sockets, one a phone, one the trunk's gateway on 127.0.0.1. The phone dials 9 and the
number, the gateway is sent the number and answers, the phone hangs up; a second call finds
the far end busy. The records show both outside calls, the first one recorded, and no queue
call."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from pathlib import Path
from random import Random

import yaml

from appliance.events import CallOffered, OutsideCallEnded, RecordingStarted
from appliance.live.udp import UdpDriver
from appliance.records.outside import outside_call_details
from appliance.records.store import RecordReader
from sim.live import ApplianceProcess, write_site
from sim.sipua import UserAgent, offer_sdp
from sim.traffic.sipp import free_udp_port

PASSWORDS = {"1001": "pw-1001"}


async def until(condition: Callable[[], bool], within: float = 5.0) -> None:
    for _ in range(int(within / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


class Party:
    """A user agent on its own UDP socket."""

    def __init__(self, user: str, password: str, port: int, box: tuple[str, int]) -> None:
        self.ua = UserAgent(user, password, ("127.0.0.1", port), box, Random(user))
        self.driver = UdpDriver(self.ua, "127.0.0.1", port)  # type: ignore[arg-type]

    def do(self, method: str, *args: object) -> object:
        result = getattr(self.ua, method)(self.driver.now(), *args)
        self.driver.flush()
        return result

    def incoming(self):
        return next((c for c in self.ua.calls.values() if c.state == "incoming"), None)


async def calls_out(box: tuple[str, int], gateway_port: int) -> list[str]:
    rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rtp.bind(("127.0.0.1", 0))  # where each party's RTP would go: a port held for the test
    body = offer_sdp("127.0.0.1", rtp.getsockname()[1])
    phone = Party("1001", PASSWORDS["1001"], free_udp_port(), box)
    gateway = Party("gw", "", gateway_port, box)
    await phone.driver.start()
    await gateway.driver.start()
    try:
        phone.do("register")
        await until(lambda: any(e.kind == "registered" for e in phone.ua.events))
        call = phone.do("call", "90301234567", body)
        await until(lambda: gateway.incoming() is not None)
        far = gateway.incoming()
        uri = far.invite.uri
        gateway.do("answer", far.id, body)
        await until(lambda: phone.ua.calls[call].state == "answered")
        await asyncio.sleep(0.5)
        phone.do("hangup", call)
        await until(lambda: far.state == "ended")
        busy = phone.do("call", "90309999999", body)
        await until(lambda: gateway.incoming() is not None)
        gateway.do("reject", gateway.incoming().id, 486, "Busy Here")
        await until(lambda: phone.ua.calls[busy].status == 486)
        return [uri]
    finally:
        phone.driver.close()
        gateway.driver.close()
        rtp.close()


def test_a_phone_calls_out_through_the_gateway_of_the_live_appliance(tmp_path: Path) -> None:
    gateway_port = free_udp_port()
    config = write_site(tmp_path / "site.yaml", gateway_port, PASSWORDS)
    site = yaml.safe_load(config.read_text())
    site["trunk_groups"][0]["outbound"] = {"gateway": f"127.0.0.1:{gateway_port}",
                                           "prefix": "9"}
    config.write_text(yaml.safe_dump(site, sort_keys=False))
    box = ApplianceProcess(config, tmp_path)
    try:
        (uri,) = asyncio.run(calls_out(box.address, gateway_port))
    finally:
        assert box.stop() == 0, box.log()
    assert uri == f"sip:0301234567@127.0.0.1:{gateway_port}"
    records = RecordReader(box.records).events()
    assert [(r.cause, r.status) for r in records if isinstance(r, OutsideCallEnded)] == [
        ("caller_hangup", 200), ("busy", 486)]
    answered, busy = outside_call_details(records)
    assert (answered.outcome, answered.placed_by, answered.number) == (
        "answered", "1001", "0301234567")
    assert answered.talk > 0.4 and busy.outcome == "busy"
    assert any(isinstance(r, RecordingStarted) and r.call == answered.call for r in records)
    assert not any(isinstance(r, CallOffered) for r in records)
