"""Trunk hardware variants of a site: the same agents, queues and traffic, with one trunk
group served by other gateway cards (`fxo-4`, `2xfxo-4`, `e1-30`).

A variant replaces whatever gateways served the group with `count` gateways of a profile,
every trunk port of each mapped to the group; the group takes the ports' kind and count as
its own. Everything else of the site is left as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from appliance.config import Site
from appliance.config.gateways import builtin_profiles
from appliance.hw import TRUNK_GROUP_KIND, Capabilities, Role

DEFAULT_VARIANTS = ("fxo-4", "2xfxo-4", "e1-30")
"""The sales engineer's question: one analog card, two of them, or one E1 span."""

_SPEC = re.compile(r"(?:(\d+)\s*x\s*)?([\w.-]+)")


@dataclass(frozen=True)
class Trunks:
    """`count` gateways of the built-in `profile`, all their trunk ports on one group."""

    profile: str
    count: int = 1

    @classmethod
    def parse(cls, text: str) -> Trunks:
        """`PROFILE` or `NxPROFILE` ("2xfxo-4"). Raises ValueError saying what is wrong."""
        match = _SPEC.fullmatch(text.strip())
        if match is None or (match[1] is not None and int(match[1]) < 1):
            raise ValueError(f"expected PROFILE or NxPROFILE (e.g. fxo-4, 2xfxo-4); got {text!r}")
        trunks = cls(match[2], int(match[1] or 1))
        if trunks.profile not in builtin_profiles():
            raise ValueError(f"no gateway profile named {trunks.profile!r} "
                             f"(profiles: {', '.join(builtin_profiles())})")
        if not trunks.ports:
            raise ValueError(f"profile {trunks.profile} has no trunk ports")
        return trunks

    @property
    def ports(self) -> list[tuple[str, Capabilities]]:
        """One gateway's trunk ports (name, capabilities), in order."""
        layout = builtin_profiles()[self.profile].layout()
        return [(name, caps) for name, caps in layout if caps.role is Role.TRUNK]

    @property
    def channels(self) -> int:
        return self.count * len(self.ports)

    @property
    def kind(self) -> str:
        """The trunk group kind the ports serve (analog, e1, sip)."""
        return TRUNK_GROUP_KIND[self.ports[0][1].kind]

    @property
    def label(self) -> str:
        """What a sales engineer calls it: "8 analog (2 x fxo-4)", "30 e1 (e1-30)"."""
        cards = self.profile if self.count == 1 else f"{self.count} x {self.profile}"
        return f"{self.channels} {self.kind} ({cards})"


def trunk_group_of(site: Site, name: str | None) -> str:
    """`name`, or the trunk group of the site's call types when they share one. Raises
    ValueError naming the choices when that is not clear."""
    groups = [group.name for group in site.trunk_groups]
    if name is not None:
        if name not in groups:
            raise ValueError(f"no trunk group named {name!r} (trunk groups: {', '.join(groups)})")
        return name
    assert site.traffic is not None
    used = sorted({call_type.trunk_group for call_type in site.traffic.call_types})
    if len(used) != 1:
        raise ValueError(f"the call types use trunk groups {', '.join(used)}: name the one "
                         f"to vary with --trunk-group")
    return used[0]


def on_trunks(site: Site, group: str, trunks: Trunks) -> Site:
    """`site` with trunk group `group` served by `trunks` alone. Raises ValueError if the
    result is not a valid site (a route by line where the new ports bring a called number)."""
    data = site.model_dump(mode="json", exclude_none=True)
    # A profile's trunk ports come in one block (a chassis: its FXO ports before its FXS).
    first, last = trunks.ports[0][0], trunks.ports[-1][0]
    mapped = [{"ports": first if first == last else f"{first}-{last}", "trunk_group": group}]
    data["gateways"] = [*_others(data.get("gateways", []), group), *(
        {"name": f"{group}-{trunks.profile}-{n}", "profile": trunks.profile,
         "address": f"127.0.0.1:{5070 + n}", "ports": mapped}
        for n in range(1, trunks.count + 1))]
    for entry in data["trunk_groups"]:
        if entry["name"] == group:
            entry.update(kind=trunks.kind, channels=trunks.channels)
    data["site"] = f"{site.site} on {trunks.label}"
    try:
        return type(site).model_validate(data)
    except ValidationError as error:
        raise ValueError("; ".join(e["msg"].removeprefix("Value error, ")
                                   for e in error.errors())) from None


def _others(gateways: list[dict[str, Any]], group: str) -> list[dict[str, Any]]:
    """The site's gateways less their ports on `group` (and gateways left with none)."""
    kept = []
    for gateway in gateways:
        ports = [p for p in gateway.get("ports", []) if p.get("trunk_group") != group]
        if ports or not gateway.get("ports"):
            kept.append({**gateway, "ports": ports})
    return kept
