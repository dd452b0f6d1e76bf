"""Trunk groups: a call seizes a channel of its group, or is blocked when none is free."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from appliance.config import Site


class TrunkGroups:
    def __init__(self, site: Site) -> None:
        self.channels: dict[str, int] = {g.name: g.channels for g in site.trunk_groups}
        self.busy: dict[str, int] = dict.fromkeys(self.channels, 0)

    def seize(self, group: str) -> bool:
        busy = self.busy[group]
        if busy >= self.channels[group]:
            return False
        self.busy[group] = busy + 1
        return True

    def release(self, group: str) -> None:
        self.busy[group] -= 1
