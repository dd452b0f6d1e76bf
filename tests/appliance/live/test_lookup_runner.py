"""Lookups run off the event loop and answer the core on it."""

from __future__ import annotations

import asyncio
import threading

from appliance.live.lookup_runner import LookupRunner
from appliance.lookups import Fields
from appliance.pbx.actions import LookUp


class Core:
    def __init__(self, asked: list[LookUp]) -> None:
        self.asked = asked
        self.answers: list[tuple[int, Fields, float, bool]] = []
        self.loop_thread = threading.get_ident()

    def take_lookups(self) -> list[LookUp]:
        asked, self.asked = self.asked, []
        return asked

    def lookup_done(self, call: int, fields: Fields, now: float) -> None:
        self.answers.append((call, fields, now, threading.get_ident() == self.loop_thread))


class Crm:
    def __init__(self) -> None:
        self.threads: set[int] = set()

    def look_up(self, name: str, key: str) -> Fields:
        self.threads.add(threading.get_ident())
        return {"name": key} if name == "crm" else None


async def run(core: Core, crm: Crm) -> list[str]:
    flushed: list[str] = []
    runner = LookupRunner(core, crm, lambda: 7.0, lambda: flushed.append("flush"))
    runner.start_pending()
    for _ in range(200):
        if len(core.answers) == 2:
            break
        await asyncio.sleep(0.01)
    runner.close()
    return flushed


def test_each_lookup_runs_on_a_worker_and_answers_on_the_loop() -> None:
    core = Core([LookUp(1, "crm", "100"), LookUp(2, "web", "200")])
    crm = Crm()
    flushed = asyncio.run(run(core, crm))
    assert sorted(core.answers) == [(1, {"name": "100"}, 7.0, True), (2, None, 7.0, True)]
    assert core.loop_thread not in crm.threads
    assert flushed == ["flush", "flush"]  # what the answers made the core send goes out
