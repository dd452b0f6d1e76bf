"""A phone's call to an outside number through `ccbox serve`: the testbed's user agents on
UDP sockets, one a phone, one the trunk's gateway on 127.0.0.1. The phone dials 9 and the
number, the gateway is sent the number and answers, the phone hangs up; a second call finds
the far end busy. The records show both outside calls, the first one recorded, and no queue
call."""

from __future__ import annotations

import asyncio
from pathlib import Path

from appliance.events import CallOffered, OutsideCallEnded, RecordingStarted
from appliance.records.outside import outside_call_details
from appliance.records.store import RecordReader
from sim.live import ApplianceProcess
from sim.traffic.sipp import free_udp_port
from tests.live.parties import answered_out, phone_and_gateway, until, write_site_calling_out

PASSWORDS = {"1001": "pw-1001"}


async def calls_out(box: tuple[str, int], gateway_port: int) -> list[str]:
    async with phone_and_gateway(box, "1001", PASSWORDS["1001"], gateway_port) as (
            phone, gateway, body):
        uri = await answered_out(phone, gateway, "90301234567", body, 0.5)
        busy = phone.do("call", "90309999999", body)
        await until(lambda: gateway.incoming() is not None)
        gateway.do("reject", gateway.incoming().id, 486, "Busy Here")
        await until(lambda: phone.ua.calls[busy].status == 486)
        return [uri]


def test_a_phone_calls_out_through_the_gateway_of_the_live_appliance(tmp_path: Path) -> None:
    gateway_port = free_udp_port()
    config = write_site_calling_out(tmp_path / "site.yaml", gateway_port, PASSWORDS)
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
