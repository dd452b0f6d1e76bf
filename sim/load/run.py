"""One `ccbox load` run: the site compressed, its lab site served by a local `ccbox serve`,
the site's callers and agents driving it in real time, then the box's KPIs of the run's
window beside the simulation's prediction for the same compressed site, length and seed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from appliance.config import Site
from appliance.config.loader import load_site
from appliance.events import Record
from appliance.kpi.boxreport import box_report, read_timeline
from appliance.kpi.report import KpiReport
from appliance.kpi.settings import queue_thresholds
from sim.live import ApplianceProcess, media_port_range
from sim.load.calibrate import Calibration, measure
from sim.load.compress import compress
from sim.load.host import HostSampler
from sim.load.predict import predict
from sim.load.report import Comparison, compare
from sim.load.world import LiveLoad, LoadSeen, lab_site_file
from sim.media import announcement_timing

WATCH = 0.5  # seconds between looks at whether the box is still running


@dataclass(frozen=True)
class LoadOptions:
    minutes: float
    speedup: float
    seed: int = 1
    replications: int = 10
    # Media settings over the lab site's; the port range defaults to `media_port_range()`,
    # which keeps a load under pytest apart from other workers' appliances.
    media: dict[str, Any] | None = None


@dataclass(frozen=True)
class LoadOutcome:
    seen: LoadSeen
    comparison: Comparison
    box_status: int
    folder: Path
    calibration: Calibration | None = None
    """The timings the simulator assumes, as the box's records of the run measured them."""


class BoxDied(RuntimeError):
    """The appliance exited while the load ran: what it said last is in its log."""

    def __init__(self, status: int, after: float, log: Path) -> None:
        super().__init__(f"the appliance exited with status {status} {after:.0f} s into "
                         f"the load; its log: {log}")
        self.status = status
        self.log = log


def run_load(site: Site, options: LoadOptions, folder: Path,
             progress: Callable[[float], None] | None = None) -> LoadOutcome:
    """Run `site` live for `options.minutes` at `options.speedup`, everything written under
    `folder` (the lab site, the box's state, records and log). Raises BoxDied if the box
    exits during the load, after stopping everything the run started."""
    fast = compress(site, options.speedup)
    low, high = media_port_range()
    media = {"rtp_port_min": low, "rtp_port_max": high, **(options.media or {})}
    lab_path = lab_site_file(fast, folder, options.minutes, media)
    lab = load_site(lab_path)
    box = ApplianceProcess(lab_path, folder)
    sampler = HostSampler(box.process.pid).start()
    started = datetime.now()
    try:
        load = LiveLoad(lab, options.seed, options.minutes, box.address, box.records)
        seen = asyncio.run(_watched(load, box, progress))
    finally:
        sampler.stop()
        status = box.stop()
    live, records = _box_kpis(box.records, fast, started, options.minutes)
    calibration = measure(records, fast, options.speedup, announcement_timing(fast).seconds)
    prediction = predict(fast, options.minutes, options.seed, options.replications)
    comparison = compare(live, prediction, options.speedup, sampler.figures(seen.lag),
                         calibration)
    return LoadOutcome(seen, comparison, status, folder, calibration)


async def _watched(load: LiveLoad, box: ApplianceProcess,
                   progress: Callable[[float], None] | None) -> LoadSeen:
    """The load, stopped (its sockets closed) as soon as the box is seen gone."""
    began = asyncio.get_running_loop().time()
    running = asyncio.create_task(load.run_async(progress))
    while not running.done():
        await asyncio.wait({running}, timeout=WATCH)
        status = box.process.poll()
        if status is not None and not running.done():
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
            after = asyncio.get_running_loop().time() - began
            raise BoxDied(status, after, box.log_path)
    return running.result()


def _box_kpis(records: Path, site: Site, started: datetime,
              minutes: float) -> tuple[KpiReport, list[Record]]:
    """The box's own report of the load's window, in the compressed site's intervals, and
    the records it was made from."""
    assert site.traffic is not None
    start = started.isoformat(timespec="seconds")
    end = (started + timedelta(minutes=minutes)).isoformat(timespec="seconds")
    timeline = read_timeline(records, start, end)
    interval = f"{site.traffic.interval_minutes}m"
    report = box_report(timeline, interval, start, end, None, queue_thresholds(site))
    return report.kpis, timeline.records
