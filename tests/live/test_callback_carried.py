"""A callback outlives a restart of `ccbox serve`, stopped by SIGTERM or killed outright.

Caller A books a callback through the trunk's gateway (a testbed user agent) with RFC 4733
keys while no agent is free (the phone has not registered), and is hung up. The appliance is
stopped - SIGTERM, or SIGKILL to its PID - and started again on the same records. Then the
phone registers: its agent is rung for the carried callback (agent first), answers, and A is
called back through the gateway; A and the agent hear each other's tone. The first run's call
ends `carried_over`; the second run's call says which one it continues, with no attempt made.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from appliance.events import CallAnswered, CallbackCarried, CallbackDialled, CallEnded
from appliance.records.store import RecordReader
from sim.live import ApplianceProcess, media_port_range, write_site
from sim.traffic.rtp_pcap import dominant_frequency, rtp_audio
from sim.traffic.sipp import free_udp_port
from tests.live.test_callback import A_HZ, A_NUMBER, AGENT, AGENT_HZ, PASSWORD, Parties

pytestmark = pytest.mark.slow


def site(tmp_path: Path, gateway_port: int, high: int) -> Path:
    config = write_site(tmp_path / "site.yaml", gateway_port, {AGENT: PASSWORD},
                        media={"queued_callers": "answer", "rtp_port_max": high - 4},
                        callback={"key": "1", "mode": "agent_first", "ring_timeout": 15})
    text = yaml.safe_load(config.read_text())
    text["trunk_groups"][0]["outbound"] = {"gateway": f"127.0.0.1:{gateway_port}",
                                           "prefix": "9"}
    config.write_text(yaml.safe_dump(text, sort_keys=False))
    return config


async def book(parties: Parties) -> None:
    for driver in parties.drivers.values():
        await driver.start()
    await parties.book_callback()
    await asyncio.sleep(0.3)  # the request is written down before the stop


async def called_back(parties: Parties) -> None:
    for driver in parties.drivers.values():
        await driver.start()
    parties.do(parties.phone, "register", 3600)
    await parties.answer_phone()
    back = await parties.answer_callback()
    await parties.talk()
    parties.do(parties.gateway, "hangup", back)
    await asyncio.sleep(0.5)


def stop(box: ApplianceProcess, how: str) -> None:
    if how == "sigkill":
        box.process.kill()
        box.process.wait(10)
        box.stop()  # closes its log
    else:
        assert box.stop() == 0, box.log()


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
def test_a_callback_booked_before_a_stop_is_placed_after_the_restart(
        tmp_path: Path, how: str) -> None:
    _, high = media_port_range()
    gateway_port = free_udp_port()
    config = site(tmp_path, gateway_port, high)
    box = ApplianceProcess(config, tmp_path, log_name="appliance-1.log")
    parties = Parties(box.address, gateway_port, high)
    try:
        asyncio.run(book(parties))
    finally:
        parties.close()
        stop(box, how)
    box = ApplianceProcess(config, tmp_path, log_name="appliance-2.log")
    box.wait_for_log(r"carried over as call \d+ in queue service", within=5)
    parties = Parties(box.address, gateway_port, high)
    try:
        asyncio.run(called_back(parties))
    finally:
        parties.close()
        assert box.stop() == 0, box.log()
    assert parties.called == f"sip:{A_NUMBER}@127.0.0.1:{gateway_port}"
    assert abs(dominant_frequency(rtp_audio(parties.a.received["talking"])) - AGENT_HZ) < 5
    assert abs(dominant_frequency(rtp_audio(parties.agent.received["talking"])) - A_HZ) < 5
    reader = RecordReader(box.records)
    first, second = reader.runs()
    [before] = [r for r in reader.events(first) if isinstance(r, CallEnded)]
    assert before.cause == "carried_over"
    events = reader.events(second)
    [carried] = [r for r in events if isinstance(r, CallbackCarried)]
    assert (carried.run, carried.previous, carried.number, carried.attempts) == (
        first, before.call, A_NUMBER, 0)
    [dialled] = [r for r in events if isinstance(r, CallbackDialled)]
    assert dialled.call == carried.call
    assert [(r.call, r.agent) for r in events if isinstance(r, CallAnswered)] == [
        (carried.call, AGENT)]
    assert [r.cause for r in events if isinstance(r, CallEnded)] == ["caller_hangup"]
