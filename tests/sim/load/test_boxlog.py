"""Following a running appliance's records into the load's event log."""

from __future__ import annotations

import asyncio
from pathlib import Path

import simpy

from appliance.eventlog import EventLog
from appliance.events import AgentState, AgentStateChanged
from appliance.records.store import RecordReader, RecordStore
from sim.load.boxlog import BoxLog
from sim.load.realtime import Pacer


def ready(t: float, agent: str) -> AgentStateChanged:
    return AgentStateChanged(t, agent, AgentState.READY, "", 0)


def test_records_are_read_once_in_order_from_the_newest_run(tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite"
    with RecordStore(path, run="old") as old:
        old.append(ready(1.0, "old"))
    log = EventLog()
    follower = BoxLog(path, log, Pacer(simpy.Environment()))
    with RecordStore(path, run="box") as store:
        store.append(ready(5.0, "a1"))
        store.flush()
        first = asyncio.run(follower.poll())
        store.append(ready(6.0, "a2"))
        store.append(ready(7.0, "a3"))
        store.flush()
        later = asyncio.run(follower.poll())
        again = asyncio.run(follower.poll())
    assert (first, later, again) == (1, 2, 0)
    assert [r.agent for r in log.records] == ["a1", "a2", "a3"]
    assert follower.run == "box" and follower.read == 3


def test_records_read_now_are_in_the_log_at_once_and_not_read_again(tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite"
    log = EventLog()
    follower = BoxLog(path, log, Pacer(simpy.Environment()))
    with RecordStore(path, run="box") as store:
        store.append(ready(5.0, "a1"))
        store.flush()
        now = follower.read_now()
        assert [r.agent for r in log.records] == ["a1"]
        store.append(ready(6.0, "a2"))
        store.flush()
        polled = asyncio.run(follower.poll())
    assert (now, polled, follower.read_now()) == (1, 1, 0)
    assert [r.agent for r in log.records] == ["a1", "a2"] and follower.read == 2


def test_a_box_not_up_yet_has_nothing_to_read(tmp_path: Path) -> None:
    follower = BoxLog(tmp_path / "none.sqlite", EventLog(), Pacer(simpy.Environment()))
    assert asyncio.run(follower.poll()) == 0


def test_the_reader_gives_the_records_after_a_seq(tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite"
    with RecordStore(path, run="r") as store:
        for t in (1.0, 2.0, 3.0):
            store.append(ready(t, "a"))
    rows = RecordReader(path).events_after("r", 1, limit=1)
    assert [(seq, record.t) for seq, record in rows] == [(2, 2.0)]
