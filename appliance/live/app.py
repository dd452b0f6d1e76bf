"""The live appliance put together: a site, its B2BUA core, the record store and the loop."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from random import Random

from appliance.config import Site
from appliance.eventlog import EventLog
from appliance.live.core import Address
from appliance.live.serve import serve
from appliance.pbx.b2bua import B2bua
from appliance.records.store import RecordStore

_log = logging.getLogger(__name__)


class Appliance:
    """Builds the core for `serve` and owns the record store it writes to."""

    def __init__(self, records: Path) -> None:
        self.records_path = records
        self.store: RecordStore | None = None
        self.core: B2bua | None = None

    def build(self, site: Site) -> B2bua:
        # One run per process: call ids start again at 1, records stay apart by run.
        run = time.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}"
        self.store = RecordStore(self.records_path, run)
        log = EventLog(retain=False)
        self.store.subscribe_to(log)
        seed = int.from_bytes(os.urandom(8), "big")
        self.core = B2bua(site, log, Random(seed), secret=os.urandom(32))
        _log.info("records in %s (run %s)", self.records_path, run)
        _quieter_garbage_collection()
        return self.core

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
            _log.info("records flushed")


def _quieter_garbage_collection() -> None:
    """Calls leave no reference cycles behind (a test checks it), so the cyclic collector
    finds little; run it less often, and never over the objects built at start, so that its
    pauses do not delay SIP answers."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def run_appliance(config: str, host: str, port: int, records: Path, grace: float,
                  on_ready: Callable[[Address], None] | None = None) -> None:
    appliance = Appliance(records)
    try:
        asyncio.run(serve(appliance.build, config, host, port, grace=grace, on_ready=on_ready))
    finally:
        appliance.close()
