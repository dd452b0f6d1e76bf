"""The PBX features through the live appliance (`ccbox serve`) with SIPp phones, as a
deployment engineer would drive them with SIPp: a trunk caller (caller.xml) reaches an agent's
SIPp phone, which parks the call or transfers it; other SIPp phones (phone_call.xml, digest
authenticated) dial a park slot or a colleague's extension. The records are read back."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from appliance.events import CallParked, EndCause, ParkPickedUp
from appliance.records.store import RecordReader
from sim.live import phone_passwords, wait_until
from sim.traffic.sipp import SippConfig, SippRun, free_udp_port, scenario_path
from tests.live.test_sipp_calls import Floor

BOUND = 60.0
pytestmark = pytest.mark.slow


def events_of(floor: Floor, kind: type) -> list:
    """The records of `kind` the appliance has written so far."""
    return [r for r in RecordReader(floor.box.records).events() if isinstance(r, kind)]


def phone_call(floor: Floor, user: str, number: str, talk_ms: int, name: str,
               port: int | None = None) -> SippRun:
    """`user`'s SIPp phone dialling `number` once (started, not waited for)."""
    host, port_of_box = floor.box.address
    config = SippConfig(scenario_path("phone_call.xml"), remote=floor.box.address,
                        local_port=port, rate=1, max_calls=1, duration_ms=talk_ms,
                        service=number, keys={"user": user, "password": phone_passwords()[user]},
                        # The digest's uri must be the INVITE's Request-URI (RFC 3261 22.4).
                        extra_args=("-auth_uri", f"{number}@{host}:{port_of_box}"))
    return SippRun(config, timeout=BOUND, workdir=floor.tmp / name).start()


def agent_phone(floor: Floor, scenario: str, port: int, service: str = "",
                **variables: object) -> SippRun:
    """An agent's SIPp phone (UAS) on `port`, answering one call."""
    config = SippConfig(scenario_path(scenario), local_port=port, max_calls=1,
                        service=service or None, variables=variables)  # type: ignore[arg-type]
    run = SippRun(config, timeout=BOUND, workdir=floor.tmp / f"phone-{port}").start()
    run.wait_started()
    return run


def test_a_sipp_agent_parks_the_call_and_another_sipp_phone_picks_it_up(tmp_path: Path) -> None:
    started = time.monotonic()
    floor = Floor(tmp_path, sip={"park": {"timeout": 30}})
    try:
        floor.register_phones(users=["1001"])  # the only agent logged in: the one rung
        with agent_phone(floor, "agent_transfer.xml", floor.phone_port, "700",
                         talk_ms=500) as parker:
            caller = floor.callers(calls=1, talk_ms=5000).start()
            wait_until(lambda: bool(events_of(floor, CallParked)), BOUND, "the call parked")
            picker_port = free_udp_port()
            floor.register_phones(users=["1002"], port=picker_port)
            picker = phone_call(floor, "1002", "701", 30_000, "picker", picker_port).wait()
            result = caller.wait()
            parker_result = parker.wait()
        assert (result.successful, result.failed) == (1, 0), result
        assert (picker.successful, picker.failed) == (1, 0), picker  # the caller's BYE
        assert (parker_result.successful, parker_result.failed) == (1, 0), parker_result
        [details] = floor.stop()
        records = list(RecordReader(floor.box.records).events())
        [parked] = [r for r in records if isinstance(r, CallParked)]
        [picked] = [r for r in records if isinstance(r, ParkPickedUp)]
        assert (parked.agent, parked.slot) == ("1001", 701)
        assert (picked.slot, picked.agent) == (701, "1002")
        assert details.cause is EndCause.CALLER_HANGUP
    finally:
        floor.box.stop()
    print(f"park and pickup with SIPp: {time.monotonic() - started:.1f} s")
