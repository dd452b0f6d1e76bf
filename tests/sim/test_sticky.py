"""Sticky agent in simulation: repeat callers go back to the agent who served them last."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from appliance.cli import _register_plugins, app
from appliance.config import Site, resolve_site
from appliance.events import AgentRung, StickyOffered
from appliance.kpi.repeat import repeat_callers
from sim.sipfidelity import SipRunSpec, SipWorld
from sim.sipnet import LinkQuality
from sim.world import RunSpec, World

STICKY = {"remember_hours": 72, "wait": 15}


def small(sticky: dict[str, Any] | None, callers: int = 300) -> Site:
    """The small site (16 agents) with a customer base of ``callers``: many call twice."""
    data = resolve_site("small").model_dump(exclude_none=True)
    if sticky is not None:
        data["queues"][0]["sticky"] = sticky
    data["traffic"]["call_types"][0]["callers"] = callers
    return Site.model_validate(data)


def test_most_repeat_callers_reach_their_last_agent_only_with_sticky_set() -> None:
    # Seeded figures (seed 1, one 9 h day): 113 of 139 repeats (81 %) with sticky, 10 of
    # 150 (7 %, about one agent in 16 by chance) without. The rest came back while their
    # agent was logged out, or stayed busy or paused beyond the 15 s wait.
    with_sticky = repeat_callers(World(small(STICKY), RunSpec(hours=9, seed=1)).run().records)
    without = repeat_callers(World(small(None), RunSpec(hours=9, seed=1)).run().records)
    assert with_sticky.repeats > 100 and without.repeats > 100
    assert with_sticky.share > 0.7  # type: ignore[operator]
    assert without.share < 0.15  # type: ignore[operator]
    assert with_sticky.sticky_offers >= with_sticky.by_last_agent and without.sticky_offers == 0


def test_ccbox_sim_routes_sticky_for_a_site_that_sets_it(tmp_path: Path) -> None:
    site = tmp_path / "sticky.yaml"
    site.write_text(json.dumps(small(STICKY).model_dump(mode="json", exclude_none=True)))
    events = tmp_path / "events.jsonl"
    _register_plugins()
    result = CliRunner().invoke(app, ["sim", str(site), "--hours", "4", "--events", str(events),
                                      "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    kinds = [json.loads(line)["type"] for line in events.read_text().splitlines()]
    assert kinds.count("StickyOffered") > 10


def test_in_sip_fidelity_the_last_agent_s_phone_rings_first() -> None:
    world = SipWorld(small(STICKY, callers=100),
                     SipRunSpec(hours=3, seed=3, quality=LinkQuality(latency=0.02)))
    log = world.run()
    world.drain(3600)
    offers = [r for r in log if isinstance(r, StickyOffered)]
    assert len(offers) > 10
    first_rung: dict[int, AgentRung] = {}
    for r in log:
        if isinstance(r, AgentRung):
            first_rung.setdefault(r.call, r)
    # A call offered to its last agent rang that agent's phone first, or (they stayed busy)
    # another's once the wait was over: never another's within it.
    for offer in offers:
        ring = first_rung.get(offer.call)
        assert ring is None or ring.agent == offer.agent or ring.t >= offer.t + offer.wait
    assert any(o.wait > 0 for o in offers)
    assert repeat_callers(log).share > 0.6  # type: ignore[operator]
