"""Call forwarding to an outside number through `ccbox serve`: phone 1002 forwards its calls
with the feature code *72 and the number; the appliance is restarted, and a call from 1001 to
1002 still reaches the trunk's gateway (a user agent on 127.0.0.1), is answered there and is
bridged to 1001. The records show the forwarding and the outside call it became."""

from __future__ import annotations

import asyncio
from pathlib import Path

from appliance.events import CallForwarded, ExtensionCallEnded, ForwardingChanged
from appliance.records.store import RecordReader
from sim.live import ApplianceProcess
from sim.sipua import offer_sdp
from sim.traffic.sipp import free_udp_port
from tests.live.parties import (
    Party,
    answered_out,
    phone_and_gateway,
    until,
    write_site_calling_out,
)

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
    async with phone_and_gateway(box, "1001", PASSWORDS["1001"], gateway_port) as (
            phone, gateway, body):
        return await answered_out(phone, gateway, "1002", body, 0.3)


def test_a_forwarding_set_by_feature_code_outlives_a_restart_and_calls_out(
    tmp_path: Path,
) -> None:
    gateway_port = free_udp_port()
    config = write_site_calling_out(tmp_path / "site.yaml", gateway_port, PASSWORDS)
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
