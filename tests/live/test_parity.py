"""One scenario, two worlds: SIP fidelity in simulated time and the live appliance on loopback
give the same event sequence.

The scenario is a script of what a gateway and two agents' phones do - register, call, answer,
hang up, dial feature codes - played by the testbed's SIP user agents. In simulation they and
the appliance's core share a simulated network; live, the appliance is `ccbox serve` and the
same user agents run on UDP sockets under asyncio. Times differ (network delays, the wall
clock); the records, in order and with their fields, must not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from random import Random
from typing import Any

import pytest
import yaml

from appliance.config import Site, parse_site
from appliance.eventlog import EventLog
from appliance.live.udp import UdpDriver
from appliance.pbx.b2bua import B2bua
from appliance.records.store import RecordReader
from sim.live import ApplianceProcess, write_site
from sim.sipnet import SimulatedNetwork
from sim.sipua import UserAgent
from sim.traffic.sipp import free_udp_port

PASSWORDS = {"1001": "pw-1001", "1002": "pw-1002"}
STEP = 0.5  # seconds between scripted steps: long enough for every exchange to finish


class Actors:
    """What the script drives: `do(ua, method, *args)`, `wait(seconds)`, and the user agents."""

    gateway: UserAgent
    phones: dict[str, UserAgent]
    do: Callable[..., Any]
    wait: Callable[[float], Awaitable[None]]


async def scenario(actors: Actors) -> None:
    do, wait = actors.do, actors.wait
    gateway, phones = actors.gateway, actors.phones

    async def answer_incoming(agent: str) -> None:
        phone = phones[agent]
        for event in phone.take_events():
            if event.kind == "incoming":
                do(phone, "answer", event.call)

    for agent in ("1001", "1002"):  # both log in by registering
        do(phones[agent], "register", 3600)
        await wait(STEP)
    first = do(gateway, "call", "100")  # linear: 1001 rings first, answers
    await wait(STEP)
    await answer_incoming("1001")
    await wait(STEP)
    do(gateway, "hangup", first)  # the caller hangs up
    await wait(STEP)
    do(phones["1001"], "call", "*44")  # 1001 goes not ready by feature code
    await wait(STEP)
    second = do(gateway, "call", "100")  # 1002 takes it and hangs up
    await wait(STEP)
    await answer_incoming("1002")
    await wait(STEP)
    calls = [c for c in phones["1002"].calls.values() if c.state == "answered"]
    do(phones["1002"], "hangup", calls[0].id)
    await wait(STEP)
    do(phones["1002"], "register", 0)  # 1002's phone unregisters: logged out
    await wait(STEP)
    third = do(gateway, "call", "100")  # nobody ready: the caller waits, then gives up
    await wait(2 * STEP)
    do(gateway, "hangup", third)
    await wait(2 * STEP)
    assert second and first

def lab_site(path: Path, gateway_port: int) -> Site:
    write_site(path, gateway_port, PASSWORDS, strategy="linear")
    data = yaml.safe_load(path.read_text())
    data["trunk_groups"][0]["peers"] = ["10.0.0.2"]
    return parse_site(yaml.safe_dump(data), source="<lab>")


def normalised(records: list[Any]) -> list[tuple[Any, ...]]:
    """Records without their times; durations (a wait, a talk time) stay, and are compared
    within a tolerance, since two clocks measure them."""
    return [(type(r).__name__, *tuple(r)[1:]) for r in records]


def assert_same(live: list[tuple[Any, ...]], simulated: list[tuple[Any, ...]]) -> None:
    def shape(record: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple("<seconds>" if isinstance(v, float) else v for v in record)

    assert [shape(r) for r in live] == [shape(r) for r in simulated]
    for ours, theirs in zip(live, simulated, strict=True):
        for a, b in zip(ours, theirs, strict=True):
            if isinstance(a, float):
                assert a == pytest.approx(b, abs=0.15), (ours, theirs)


def simulated(tmp_path: Path) -> list[tuple[Any, ...]]:
    site = lab_site(tmp_path / "lab.yaml", 5060)
    log = EventLog()
    net = SimulatedNetwork(Random("parity"))
    box_address = ("10.0.0.1", 5060)
    net.attach(box_address, B2bua(site, log, Random("box"), b"secret", box_address))
    actors = Actors()
    actors.gateway = UserAgent("gw", "", ("10.0.0.2", 5060), box_address, Random("gw"))
    net.attach(actors.gateway.local, actors.gateway)
    actors.phones = {}
    for index, (user, password) in enumerate(PASSWORDS.items(), start=1):
        phone = UserAgent(user, password, (f"10.0.1.{index}", 5060), box_address,
                          Random(user))
        actors.phones[user] = phone
        net.attach(phone.local, phone)

    def do(ua: UserAgent, method: str, *args: Any) -> Any:
        result = getattr(ua, method)(net.now, *args)
        net.poke(ua.local)
        return result

    async def wait(seconds: float) -> None:
        net.run(net.now + seconds)

    actors.do, actors.wait = do, wait
    asyncio.run(scenario(actors))
    return normalised(log.records)


def live(tmp_path: Path) -> list[tuple[Any, ...]]:
    gateway_port = free_udp_port()
    config = write_site(tmp_path / "site.yaml", gateway_port, PASSWORDS, strategy="linear")
    box = ApplianceProcess(config, tmp_path)
    try:
        asyncio.run(_play_live(box.address, gateway_port))
    finally:
        assert box.stop() == 0, box.log()
    records = normalised(RecordReader(box.records).events())
    # Media is timing only in simulation: the live run's media records are checked here and
    # left out of the comparison. Each of the two answered calls was recorded.
    assert [kind for kind, *_ in records if kind in LIVE_ONLY - {"MediaQuality"}] == [
        "RecordingStarted"] * 2
    return [record for record in records if record[0] not in LIVE_ONLY]


LIVE_ONLY = frozenset({"RecordingStarted", "RecordingStopped", "DigitReceived",
                       "MediaTimedOut", "MediaQuality", "Alarm"})


async def _play_live(box: tuple[str, int], gateway_port: int) -> None:
    actors = Actors()
    drivers: dict[tuple[str, int], UdpDriver] = {}

    async def attach(ua: UserAgent) -> None:
        driver = UdpDriver(ua, ua.local[0], ua.local[1])  # type: ignore[arg-type]
        await driver.start()
        drivers[ua.local] = driver

    actors.gateway = UserAgent("gw", "", ("127.0.0.1", gateway_port), box, Random("gw"))
    await attach(actors.gateway)
    actors.phones = {}
    for user, password in PASSWORDS.items():
        phone = UserAgent(user, password, ("127.0.0.1", free_udp_port()), box, Random(user))
        actors.phones[user] = phone
        await attach(phone)

    def do(ua: UserAgent, method: str, *args: Any) -> Any:
        driver = drivers[ua.local]
        result = getattr(ua, method)(driver.now(), *args)
        driver.flush()
        return result

    async def wait(seconds: float) -> None:
        await asyncio.sleep(seconds)

    actors.do, actors.wait = do, wait
    try:
        await scenario(actors)
    finally:
        for driver in drivers.values():
            driver.close()


@pytest.mark.slow
def test_the_same_scenario_leaves_the_same_records_in_simulation_and_live(tmp_path: Path):
    (tmp_path / "sim").mkdir()
    (tmp_path / "live").mkdir()
    expected = simulated(tmp_path / "sim")
    assert [kind for kind, *_ in expected].count("CallEnded") == 3
    assert_same(live(tmp_path / "live"), expected)
