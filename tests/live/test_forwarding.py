"""Call forwarding to an outside number through `ccbox serve`: phone 1002 forwards its calls
with the feature code *72 and the number; the appliance is restarted, and a call from 1001 to
1002 still reaches the trunk's gateway (a user agent on 127.0.0.1), is answered there and is
bridged to 1001. The records show the forwarding and the outside call it became."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import yaml

from appliance.events import CallForwarded, ExtensionCallEnded, ForwardingChanged
from appliance.records.store import RecordReader
from sim.live import ApplianceProcess, write_site
from sim.sipua import offer_sdp
from sim.traffic.sipp import free_udp_port
from tests.live.test_outside_calls import Party, until

PASSWORDS = {"1001": "pw-1001", "1002": "pw-1002"}


async def set_forwarding(box: tuple[str, int]) -> None:
    phone = Party("1002", PASSWORDS["1002"], free_udp_port(), box)
    await phone.driver.start()
    try:
        phone.do("register")
        await until(lambda: any(e.kind == "registered" for e in phone.ua.events))
        call = phone.do("call", "*7290301234567", offer_sdp("127.0.0.1", 9))
        # A feature call is answered and ended by the appliance: the code was taken.
        await until(lambda: phone.ua.calls[call].state == "ended")
        assert (call, "answered") in [(e.call, e.kind) for e in phone.ua.events]
    finally:
        phone.driver.close()


async def call_forwarded(box: tuple[str, int], gateway_port: int) -> str:
    rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rtp.bind(("127.0.0.1", 0))
    body = offer_sdp("127.0.0.1", rtp.getsockname()[1])
    phone = Party("1001", PASSWORDS["1001"], free_udp_port(), box)
    gateway = Party("gw", "", gateway_port, box)
    await phone.driver.start()
    await gateway.driver.start()
    try:
        phone.do("register")
        await until(lambda: any(e.kind == "registered" for e in phone.ua.events))
        call = phone.do("call", "1002", body)
        await until(lambda: gateway.incoming() is not None)
        far = gateway.incoming()
        gateway.do("answer", far.id, body)
        await until(lambda: phone.ua.calls[call].state == "answered")
        await asyncio.sleep(0.3)
        phone.do("hangup", call)
        await until(lambda: far.state == "ended")
        return far.invite.uri
    finally:
        phone.driver.close()
        gateway.driver.close()
        rtp.close()


def test_a_forwarding_set_by_feature_code_outlives_a_restart_and_calls_out(
    tmp_path: Path,
) -> None:
    gateway_port = free_udp_port()
    config = write_site(tmp_path / "site.yaml", gateway_port, PASSWORDS)
    site = yaml.safe_load(config.read_text())
    site["trunk_groups"][0]["outbound"] = {"gateway": f"127.0.0.1:{gateway_port}",
                                           "prefix": "9"}
    config.write_text(yaml.safe_dump(site, sort_keys=False))
    box = ApplianceProcess(config, tmp_path)
    try:
        asyncio.run(set_forwarding(box.address))
    finally:
        assert box.stop() == 0, box.log()
    box = ApplianceProcess(config, tmp_path, log_name="appliance-2.log")
    try:
        uri = asyncio.run(call_forwarded(box.address, gateway_port))
    finally:
        assert box.stop() == 0, box.log()
    assert uri == f"sip:0301234567@127.0.0.1:{gateway_port}"
    reader = RecordReader(box.records)
    assert reader.forwarding() == [
        ForwardingChanged(reader.forwarding()[0].t, "1002", "always", "90301234567")]
    records = reader.events(reader.runs()[-1])
    assert [(r.phone, r.target) for r in records if isinstance(r, CallForwarded)] == [
        ("1002", "90301234567")]
    assert [r.cause for r in records if isinstance(r, ExtensionCallEnded)] == ["forwarded"]
    (row,) = reader.outside_calls()
    assert (row.placed_by, row.purpose, row.outcome, row.cause) == (
        "1002", "forwarded", "answered", "caller_hangup")
