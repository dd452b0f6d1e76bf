"""Named random streams: the ACD's choices do not share a generator with SIP identifiers."""

from __future__ import annotations

from appliance.config import Site, resolve_site
from appliance.events import AgentRung
from sim.sipfidelity import SipRunSpec, SipWorld


def random_distribution(site: Site) -> Site:
    """`site` with every queue picking its agent at random: the ACD draws on every call."""
    data = site.model_dump()
    for queue in data["queues"]:
        queue["strategy"] = "random"
    return Site.model_validate(data)


def agents_rung(sip_ids_drawn_first: int) -> list[tuple[int, str]]:
    world = SipWorld(random_distribution(resolve_site("small")), SipRunSpec(hours=1, seed=3))
    for _ in range(sip_ids_drawn_first):  # as if the box had sent as many messages more
        world.box.rng.getrandbits(64)
    return [(r.call, r.agent) for r in world.run() if isinstance(r, AgentRung)]


def test_sip_identifiers_drawn_never_change_which_agent_the_acd_rings() -> None:
    rung = agents_rung(0)
    assert len({agent for _, agent in rung}) > 1  # the ACD really chose among agents
    assert agents_rung(1000) == rung

