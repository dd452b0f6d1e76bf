"""Inbound routing: which queue a call goes to, by trunk group, called and calling number."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from appliance.config import Route, Site


class Router:
    """First matching route wins, in the order of the configuration file."""

    def __init__(self, site: Site) -> None:
        self._by_group: dict[str, list[Route]] = {}
        for route in site.routes:
            self._by_group.setdefault(route.trunk_group, []).append(route)

    def route(self, trunk_group: str, ani: str, dnis: str) -> Route | None:
        """The route a call takes (its ``queue`` and ``priority`` override), or None."""
        for route in self._by_group.get(trunk_group, ()):
            if route.dnis is not None and route.dnis != dnis:
                continue
            if route.ani_prefix is not None and not ani.startswith(route.ani_prefix):
                continue
            return route
        return None
