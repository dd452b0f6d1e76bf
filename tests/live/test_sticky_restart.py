"""Sticky agent across a restart of `ccbox serve`: a caller answered by one agent before the
restart is offered to that agent first after it, the ACD's memory rebuilt from the records
database at start (who answered each number last, within the queue's remember_hours)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from appliance.events import StickyOffered
from appliance.records.store import RecordReader
from sim.live import ApplianceProcess, media_port_range, write_site
from sim.sipua import offer_sdp
from sim.traffic.sipp import free_udp_port
from tests.live.parties import incoming, until
from tests.live.test_transfer_to_agent import PASSWORDS, Parties

pytestmark = pytest.mark.slow


async def served(parties: Parties) -> str:
    """One call from the caller's number, answered by whichever phone rings first, and
    hung up: that agent."""
    await parties.start()
    call = parties.do(parties.gateway, "call", "100", offer_sdp("127.0.0.1", 9), "13800000000")
    assert isinstance(call, int)
    await until(lambda: any(incoming(p) for p in parties.phones.values()), "rung")
    agent = next(user for user, p in parties.phones.items() if incoming(p))
    parties.do(parties.phones[agent], "answer", incoming(parties.phones[agent]),
               offer_sdp("127.0.0.1", 9))
    await until(lambda: parties.gateway.calls[call].state == "answered", "answered")
    parties.do(parties.gateway, "hangup", call)
    await until(lambda: all(c.state == "ended" for c in parties.phones[agent].calls.values()),
                "released")
    return agent


def one_run(site: Path, tmp_path: Path, caller_port: int, log_name: str) -> str:
    _, high = media_port_range()
    box = ApplianceProcess(site, tmp_path, log_name=log_name)
    parties = Parties(box.address, caller_port, high)
    try:
        agent = asyncio.run(served(parties))
    finally:
        parties.close()
        assert box.stop() == 0, box.log()
    return agent


def test_the_agent_who_served_a_number_is_offered_it_first_after_a_restart(
        tmp_path: Path) -> None:
    _, high = media_port_range()
    caller_port = free_udp_port()
    site = write_site(tmp_path / "site.yaml", caller_port, PASSWORDS,
                      media={"queued_callers": "answer", "rtp_port_max": high - 6},
                      sticky={"remember_hours": 1, "wait": 0})
    first = one_run(site, tmp_path, caller_port, "appliance.log")
    second = one_run(site, tmp_path, caller_port, "appliance-2.log")
    assert second == first
    reader = RecordReader(tmp_path / "records.sqlite")
    before, after = reader.runs()
    assert not [r for r in reader.events(before) if isinstance(r, StickyOffered)]
    offers = [r for r in reader.events(after) if isinstance(r, StickyOffered)]
    assert [(r.agent, r.wait) for r in offers] == [(first, 0.0)]
