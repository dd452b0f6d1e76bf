"""What a site may have on the box but simulation cannot model, refused before a run starts.

An IVR exit to a conference room (`to_conference`): neither fidelity has a media plane to
mix the room, nor a model of how long a caller stays in one, so a run would count callers
who vanish out of call control. Rather than make up a stay, a run refuses such a site and
says where the exits are.
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


def _room_exits(site: Site) -> Iterator[str]:
    for f, flow in enumerate(site.ivr.flows if site.ivr else ()):
        for n, node in enumerate(flow.nodes):
            if isinstance(node, ToConference):
                yield f"ivr.flows[{f}].nodes[{n}] to room {node.room}"
