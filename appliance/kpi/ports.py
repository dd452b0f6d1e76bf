"""What gateway ports cost, per trunk group: the answer delay an analog line's caller ID adds,
the callers who hung up while it rang (lost rings), the trunk time lost to hang-ups noticed
late, the time ports were seized, the calls blocked (every port busy, or every port of the
caller's line) and those lost to failed ports. From the log's port records (`PortCall`,
`PortRingLost`, `PortLateRelease`, `PortFreed`, `LineBusy`, `PortFailed`) and `CallBlocked`,
by when they happened; a group with no port records has no row."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from appliance.events import (
    CallBlocked,
    LineBusy,
    PortCall,
    PortFailed,
    PortFreed,
    PortLateRelease,
    PortRingLost,
)


@dataclass
class PortStats:
    calls: int = 0
    """Calls that came in on the group's ports."""
    answer_delay: float = 0.0
    """Seconds those calls rang before they could be answered, together."""
    lost_rings: int = 0
    """Callers who hung up while their port rang, before it could offer the call (they never
    reached call control: not offered, not abandoned in queue)."""
    late_releases: int = 0
    """Far-end hang-ups the ports noticed late (tone, timeout, no next ring)."""
    late_seconds: float = 0.0
    """Seconds the ports stayed seized after those hang-ups, together."""
    seized_seconds: float = 0.0
    """Seconds the group's ports were seized, together (ringing, in calls, late releases,
    clearing), counted when each came free: divided by ports x time, the trunk occupancy."""
    blocked: int = 0
    """Calls call control blocked: every channel of the group busy."""
    line_busy: int = 0
    """Callers who found every port of their line busy (the appliance never saw them)."""
    failures: int = 0
    """Ports that went out of service (a gateway failing counts each of its ports)."""
    calls_lost: int = 0
    """Calls that ended because their port failed."""

    @property
    def answer_delay_mean(self) -> float | None:
        return self.answer_delay / self.calls if self.calls else None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "answer_delay_mean": self.answer_delay_mean}


@dataclass(frozen=True)
class PortReport:
    groups: dict[str, PortStats]
    """Per trunk group with port records, sorted by name."""

    def to_dict(self) -> dict[str, Any]:
        return {name: stats.to_dict() for name, stats in self.groups.items()}


class PortTally:
    """Port records added up per trunk group; ``report`` is None when there were none (a
    site without gateways reads as before)."""

    def __init__(self) -> None:
        self.groups: dict[str, PortStats] = {}
        self.blocked: dict[str, int] = {}
        self.handlers = {PortCall: self.port_call, PortLateRelease: self.late_release,
                         PortRingLost: self.ring_lost, PortFreed: self.freed,
                         LineBusy: self.line_busy, PortFailed: self.failed,
                         CallBlocked: self.call_blocked}

    def _group(self, name: str) -> PortStats:
        return self.groups.setdefault(name, PortStats())

    def port_call(self, r: PortCall) -> None:
        stats = self._group(r.trunk_group)
        stats.calls += 1
        stats.answer_delay += r.answer_delay

    def late_release(self, r: PortLateRelease) -> None:
        stats = self._group(r.trunk_group)
        stats.late_releases += 1
        stats.late_seconds += r.seconds

    def ring_lost(self, r: PortRingLost) -> None:
        self._group(r.trunk_group).lost_rings += 1

    def freed(self, r: PortFreed) -> None:
        self._group(r.trunk_group).seized_seconds += r.seized

    def line_busy(self, r: LineBusy) -> None:
        self._group(r.trunk_group).line_busy += 1

    def failed(self, r: PortFailed) -> None:
        stats = self._group(r.trunk_group)
        stats.failures += 1
        stats.calls_lost += r.call != 0

    def call_blocked(self, r: CallBlocked) -> None:
        self.blocked[r.trunk_group] = self.blocked.get(r.trunk_group, 0) + 1

    def report(self) -> PortReport | None:
        if not self.groups:
            return None
        for name, stats in self.groups.items():
            stats.blocked = self.blocked.get(name, 0)
        return PortReport(dict(sorted(self.groups.items())))
