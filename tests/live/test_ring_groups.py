"""A ring group and a gateway that asks for credentials, through `ccbox serve`: the testbed's
user agents on UDP sockets. Phone 1001 dials ring group 600 (1002 and 1003 at once): both
ring, 1003 answers and 1002 is CANCELled. Then 1001 calls out through a gateway that
challenges the INVITE (401): it comes again with the route's credentials and is answered."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from random import Random

import yaml

from appliance.events import OutsideCallEnded, RingGroupCallAnswered, RingGroupCallEnded
from appliance.pbx.sip.digest import DigestAuthenticator, ha1
from appliance.records.store import RecordReader
from sim.live import ApplianceProcess, write_site
from sim.sipua import offer_sdp
from sim.traffic.sipp import free_udp_port
from tests.live.parties import Party, until

PASSWORDS = {"1001": "pw-1001", "1002": "pw-1002", "1003": "pw-1003"}
GATEWAY_REALM = "carrier.example"


async def calls(box: tuple[str, int], gateway_port: int) -> dict[str, object]:
    rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rtp.bind(("127.0.0.1", 0))  # where each party's RTP would go: a port held for the test
    body = offer_sdp("127.0.0.1", rtp.getsockname()[1])
    phones = {user: Party(user, password, free_udp_port(), box)
              for user, password in PASSWORDS.items()}
    gateway = Party("gw", "", gateway_port, box)
    stored = {"ccbox": {"MD5": ha1("ccbox", GATEWAY_REALM, "trunk-secret", "MD5")}}
    gateway.ua.challenger = DigestAuthenticator(GATEWAY_REALM, stored, b"gw", Random(3))
    parties = [*phones.values(), gateway]
    for party in parties:
        await party.driver.start()
    try:
        for phone in phones.values():
            phone.do("register")
        await until(lambda: all(any(e.kind == "registered" for e in p.ua.events)
                                for p in phones.values()))
        caller = phones["1001"]
        call = caller.do("call", "600", body)
        await until(lambda: phones["1002"].incoming() is not None
                    and phones["1003"].incoming() is not None)
        rung = phones["1002"].incoming()
        phones["1003"].do("answer", phones["1003"].incoming().id, body)
        await until(lambda: caller.ua.calls[call].state == "answered")
        await until(lambda: rung.state == "ended")  # CANCELled
        caller.do("hangup", call)
        await until(lambda: not any(c.state == "answered"
                                    for c in phones["1003"].ua.calls.values()))
        out = caller.do("call", "90301234567", body)
        await until(lambda: gateway.incoming() is not None)
        far = gateway.incoming()
        authorization = far.invite.headers.get("Authorization") or ""
        gateway.do("answer", far.id, body)
        await until(lambda: caller.ua.calls[out].state == "answered")
        caller.do("hangup", out)
        await until(lambda: far.state == "ended")
        return {"authorization": authorization,
                "challenged": [e.kind for e in gateway.ua.events].count("challenged")}
    finally:
        for party in parties:
            party.driver.close()
        rtp.close()


def test_a_ring_group_and_a_challenging_gateway_through_the_live_appliance(
        tmp_path: Path) -> None:
    gateway_port = free_udp_port()
    config = write_site(tmp_path / "site.yaml", gateway_port, PASSWORDS)
    site = yaml.safe_load(config.read_text())
    site["trunk_groups"][0]["outbound"] = {
        "gateway": f"127.0.0.1:{gateway_port}", "prefix": "9",
        "username": "ccbox", "password": "trunk-secret"}
    site["sip"]["ring_groups"] = [{"number": "600", "members": ["1002", "1003"]}]
    config.write_text(yaml.safe_dump(site, sort_keys=False))
    box = ApplianceProcess(config, tmp_path)
    try:
        seen = asyncio.run(calls(box.address, gateway_port))
    finally:
        assert box.stop() == 0, box.log()
    assert seen["challenged"] == 1
    assert 'username="ccbox"' in str(seen["authorization"])
    records = RecordReader(box.records).events()
    assert [r.member for r in records if isinstance(r, RingGroupCallAnswered)] == ["1003"]
    assert [r.cause for r in records if isinstance(r, RingGroupCallEnded)] == ["caller_hangup"]
    assert [(r.cause, r.status) for r in records if isinstance(r, OutsideCallEnded)] == [
        ("caller_hangup", 200)]
