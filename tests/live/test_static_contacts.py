"""A gateway port or desk phone at a static contact, against `ccbox serve` on 127.0.0.1: the
agent is logged in and rung there without ever registering (SIPp as the phone)."""

from __future__ import annotations

import pytest

from appliance.events import EndCause
from appliance.pbx.sip.digest import ha1
from sim.live import REALM
from sim.traffic.sipp import free_udp_port
from tests.live.test_sipp_calls import Floor

pytestmark = pytest.mark.slow


def test_an_agent_at_a_static_contact_takes_calls_without_registering(tmp_path):
    port = free_udp_port()
    phone = {"user": "1001", "ha1_md5": ha1("1001", REALM, "unused-1001", "MD5"),
             "contact": f"127.0.0.1:{port}"}
    floor = Floor(tmp_path, sip={"phones": [phone]})
    try:
        with floor.agents(port=port) as agents:
            result = floor.callers(calls=3, rate=2).run()
            agents.stop()
        assert (result.successful, result.failed) == (3, 0), (result, floor.box.log())
        details = floor.stop()
        assert [(d.agent, d.cause) for d in details] == [("1001", EndCause.CALLER_HANGUP)] * 3
    finally:
        floor.box.stop()
