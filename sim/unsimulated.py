"""What a site may have on the box but simulation cannot model, refused before a run starts.

An IVR exit to a conference room (`to_conference`): neither fidelity has a media plane to
mix the room, nor a model of how long a caller stays in one, so a run would count callers
who vanish out of call control. Rather than make up a stay, a run refuses such a site and
says where the exits are.

A route to a ring group (`ring_group`): the group's phones are not the ACD's agents in a
model (simulated agents answer queues only) and a member's answer takes the call out of call
control, so the same holds; such routes are refused too.
"""

from __future__ import annotations

from collections.abc import Iterator

from appliance.config import Site
from appliance.config.ivr import ToConference


def refuse_unsimulated(site: Site) -> None:
    """Raise ValueError naming every part of `site` simulation cannot model."""
    where = list(_room_exits(site))
    if where:
        raise ValueError(
            f"site {site.site!r} sends callers to conference rooms ({', '.join(where)}): "
            f"simulation has no conference mixer nor a model of a caller's time in a room; "
            f"simulate a copy whose flows end there instead (a stop_flow node, say)")
    where = list(_group_routes(site))
    if where:
        raise ValueError(
            f"site {site.site!r} routes callers to ring groups ({', '.join(where)}): "
            f"simulation has no model of the groups' phones answering; simulate a copy "
            f"that routes those calls to the group's `then` queue instead")


def _room_exits(site: Site) -> Iterator[str]:
    for f, flow in enumerate(site.ivr.flows if site.ivr else ()):
        for n, node in enumerate(flow.nodes):
            if isinstance(node, ToConference):
                yield f"ivr.flows[{f}].nodes[{n}] to room {node.room}"


def _group_routes(site: Site) -> Iterator[str]:
    for r, route in enumerate(site.routes):
        for path, destination in route.destinations():
            if destination.ring_group is not None:
                where = "".join(f".{field}" for field in path)
                yield f"routes[{r}]{where} to ring group {destination.ring_group}"
