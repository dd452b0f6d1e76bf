"""Trunk groups: a call seizes a channel of its group, or is blocked when none is free."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from appliance.config import Site


class TrunkGroups:
    def __init__(self, site: Site) -> None:
        self.channels: dict[str, int] = {g.name: g.channels for g in site.trunk_groups}
        self.busy: dict[str, int] = dict.fromkeys(self.channels, 0)

    def reload(self, site: Site) -> None:
        """New channel counts for new calls. Calls up keep their channels: a group with
        fewer channels than calls up takes no call until enough have ended, and a group gone
        from the file is forgotten once its last call ends."""
        self.channels = {g.name: g.channels for g in site.trunk_groups}
        self.busy = {name: busy for name, busy in self.busy.items()
                     if busy or name in self.channels}
        for name in self.channels:
            self.busy.setdefault(name, 0)

    def seize(self, group: str) -> bool:
        busy = self.busy.get(group, 0)
        if busy >= self.channels.get(group, 0):
            return False
        self.busy[group] = busy + 1
        return True

    def release(self, group: str) -> None:
        busy = self.busy[group] - 1
        if busy or group in self.channels:
            self.busy[group] = busy
        else:
            del self.busy[group]  # a group removed by a reload, now unused
