"""Carrying out the IVR's lookups live: each `LookUp` the core asks for runs on a worker
thread, and its answer goes back to the core on the event loop.

A lookup blocks (SQLite, HTTP) for up to its own time limit; the loop never waits for one.
The core keeps its own timer for the limit too, and ignores an answer that comes later.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from typing import Protocol

from appliance.lookups import Fields, Lookups
from appliance.pbx.actions import LookUp

_log = logging.getLogger(__name__)

WORKERS = 8
"""Lookups at once; more wait for a worker (each is bounded by its time limit)."""


class LookingUpCore(Protocol):
    def take_lookups(self) -> list[LookUp]: ...

    def lookup_done(self, call: int, fields: Fields, now: float) -> None: ...


class LookupRunner:
    """`start_pending()` after every input hands the core's new lookups to the workers;
    `close()` waits for none of them."""

    def __init__(self, core: LookingUpCore, lookups: Lookups, now: Callable[[], float],
                 after_input: Callable[[], None],
                 loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.core = core
        self.lookups = lookups
        self._now = now
        self._after_input = after_input
        self._loop = loop or asyncio.get_running_loop()
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="ccbox-lookup")

    def start_pending(self) -> None:
        for action in self.core.take_lookups():
            future = self._pool.submit(self.lookups.look_up, action.lookup, action.key)
            future.add_done_callback(lambda done, action=action: self._answered(action, done))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _answered(self, action: LookUp, done: Future[Fields]) -> None:  # on a worker thread
        if done.cancelled():
            return
        error = done.exception()
        if error is not None:  # `look_up` turns failures into None; this is a bug
            _log.error("lookup %s of call %d raised %r", action.lookup, action.call, error)
        fields = None if error is not None else done.result()
        # Once the loop has ended (RuntimeError) nobody is left to answer.
        with suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._deliver, action.call, fields)

    def _deliver(self, call: int, fields: Fields) -> None:
        try:
            self.core.lookup_done(call, fields, self._now())
        except Exception:
            _log.exception("core failed on the answer to call %d's lookup", call)
        self._after_input()
