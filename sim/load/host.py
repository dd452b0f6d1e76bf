"""The box's process as the machine sees it during a live load: CPU and resident memory,
sampled from Linux's /proc once a second on a thread of its own."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from sim.load.realtime import Lag
from sim.load.report import HostFigures

PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_and_rss(pid: int) -> tuple[float, int] | None:
    """(CPU seconds used so far, resident bytes) of process `pid`; None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS, int(fields[21]) * PAGE


class HostSampler:
    """Samples process `pid` every `every` seconds between `start()` and `stop()`."""

    def __init__(self, pid: int, every: float = 1.0) -> None:
        self.pid = pid
        self.every = every
        self.cpu: list[float] = []  # percent of one core over each period
        self.rss: list[int] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def start(self) -> HostSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()

    def _sample(self) -> None:
        last = cpu_and_rss(self.pid)
        while last is not None and not self._stopped.wait(self.every):
            now = cpu_and_rss(self.pid)
            if now is None:
                return
            self.cpu.append(100.0 * (now[0] - last[0]) / self.every)
            self.rss.append(now[1])
            last = now

    def figures(self, lag: Lag | None = None) -> HostFigures:
        """What was sampled, with the load side's event-loop `lag`."""
        cpu = self.cpu
        return HostFigures(
            cpu_percent_mean=sum(cpu) / len(cpu) if cpu else None,
            cpu_percent_max=max(cpu, default=None),
            rss_bytes_max=max(self.rss, default=None),
            loop_lag_mean=None if lag is None or not lag.steps else lag.mean,
            loop_lag_max=None if lag is None or not lag.steps else lag.worst,
            samples=len(cpu))
