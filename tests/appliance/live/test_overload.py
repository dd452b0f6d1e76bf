"""Overload: a loop that runs late tells the core, which refuses new calls until it catches up."""

from __future__ import annotations

import asyncio
import time

from appliance.live.udp import LAG_CHECK, LAG_OVERLOAD, UdpDriver
from tests.appliance.live.test_options_core import OptionsCore
from tests.factories import build_site


class WatchedCore(OptionsCore):
    def __init__(self) -> None:
        super().__init__(build_site())
        self.overload_calls: list[bool] = []

    def set_overloaded(self, overloaded: bool) -> None:
        self.overload_calls.append(overloaded)


async def _stall_then_recover() -> list[bool]:
    core = WatchedCore()
    driver = UdpDriver(core, "127.0.0.1", 0)
    await driver.start()
    try:
        await asyncio.sleep(3 * LAG_CHECK)
        time.sleep(LAG_OVERLOAD + 0.1)  # one pause: not yet an overload
        await asyncio.sleep(3 * LAG_CHECK)
        assert core.overload_calls == []
        for _ in range(3):  # a backlog: late check after late check
            time.sleep(LAG_OVERLOAD + 0.1)
            await asyncio.sleep(0)
        await asyncio.sleep(0.01)
        assert core.overload_calls == [True]
        await asyncio.sleep(5 * LAG_CHECK)  # caught up
        return core.overload_calls
    finally:
        driver.close()


def test_a_loop_late_twice_in_a_row_is_overloaded_and_recovers():
    assert asyncio.run(_stall_then_recover()) == [True, False]
