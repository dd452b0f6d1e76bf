"""A caller walks an IVR flow on the live box: `ccbox serve` answers them, they key an account
number in with SIP INFO, the ACCESS DB node finds it in the site's SQLite customer table, and
the call reaches the queue with what was found."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from random import Random
from typing import Any

import pytest
import yaml

from appliance.events import CallQueued, IvrExited, IvrLookedUp, IvrVariableSet
from appliance.live.udp import UdpDriver
from appliance.records.store import RecordReader
from sim.live import ApplianceProcess, write_site
from sim.sipua import UserAgent
from sim.traffic.sipp import free_udp_port

pytestmark = pytest.mark.slow

ACCOUNT = "4711"
FLOW = {"name": "main", "start": "account", "nodes": [
    {"name": "account", "kind": "play_digit", "prompts": "welcome", "variable": "ACCOUNT",
     "max_digits": 4, "first_digit_timeout": 10, "default": "service", "next": "find"},
    {"name": "find", "kind": "access_db", "lookup": "crm", "key": "${ACCOUNT}",
     "into": {"name": "NAME", "tier": "TIER"}, "found": "gold", "not_found": "service",
     "failed": "service"},
    {"name": "gold", "kind": "to_queue", "queue": "service", "priority": 9},
    {"name": "service", "kind": "to_queue", "queue": "service"},
]}


def customers(path: Path) -> Path:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE customers (account TEXT PRIMARY KEY, name TEXT, tier TEXT)")
        db.execute("INSERT INTO customers VALUES (?, 'Ada Lovelace', 'gold')", (ACCOUNT,))
    db.close()
    return path


def ivr_site(tmp_path: Path, caller_port: int) -> Path:
    config = write_site(tmp_path / "site.yaml", caller_port, {"1001": "pw-1001"})
    data: dict[str, Any] = yaml.safe_load(config.read_text())
    data["routes"] = [{"trunk_group": "gateway", "flow": "main"}]
    data["ivr"] = {
        "variables": ["ACCOUNT", "NAME", "TIER"],
        "lookups": {"crm": {"kind": "sqlite", "database": str(customers(tmp_path / "crm.db")),
                            "table": "customers", "key": "account",
                            "fields": ["name", "tier"]}},
        "flows": [FLOW],
    }
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    return config


async def call_and_key_in(box: tuple[str, int], caller_port: int) -> None:
    caller = UserAgent("gw", "", ("127.0.0.1", caller_port), box, Random("gw"))
    driver = UdpDriver(caller, "127.0.0.1", caller_port)  # type: ignore[arg-type]
    await driver.start()
    try:
        call = caller.call(driver.now(), "100", caller="13800000000")
        driver.flush()
        for _ in range(100):  # answered by the IVR, not by an agent (none is logged in)
            if caller.calls[call].state == "answered":
                break
            await asyncio.sleep(0.05)
        assert caller.calls[call].state == "answered"
        for digit in ACCOUNT:
            caller.press(driver.now(), call, digit)
            driver.flush()
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # the lookup, then the queue
        caller.hangup(driver.now(), call)
        driver.flush()
        await asyncio.sleep(0.5)
    finally:
        driver.close()


def test_a_caller_keys_in_an_account_found_in_sqlite_and_reaches_the_queue_with_it(
        tmp_path: Path) -> None:
    caller_port = free_udp_port()
    box = ApplianceProcess(ivr_site(tmp_path, caller_port), tmp_path)
    try:
        asyncio.run(call_and_key_in(box.address, caller_port))
    finally:
        assert box.stop() == 0, box.log()
    records = RecordReader(box.records).events()
    [looked_up] = [r for r in records if isinstance(r, IvrLookedUp)]
    assert (looked_up.lookup, looked_up.key, looked_up.result) == ("crm", ACCOUNT, "found")
    variables = {r.name: r.value for r in records if isinstance(r, IvrVariableSet)}
    assert variables == {"ACCOUNT": ACCOUNT, "NAME": "Ada Lovelace", "TIER": "gold"}
    [exited] = [r for r in records if isinstance(r, IvrExited)]
    assert exited.target == "service"
    [queued] = [r for r in records if isinstance(r, CallQueued)]
    assert (queued.queue, queued.priority) == ("service", 9)
