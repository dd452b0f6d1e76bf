"""Small site configurations built from a few numbers, for tests."""

from __future__ import annotations

from typing import Any

import yaml

from appliance.config import Site, parse_site


def site_dict(
    *,
    agents: int = 2,
    trunks: int = 10,
    strategy: str = "longest_idle",
    wrap_up: float = 0,
    ring_timeout: float = 15,
    queue: dict[str, Any] | None = None,
    extra_queues: list[dict[str, Any]] | None = None,
    agent_skills: dict[str, int] | None = None,
    traffic: dict[str, Any] | None = None,
    behaviour: dict[str, Any] | None = None,
    routes: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A one-queue site; keyword arguments change the parts tests care about."""
    main = {
        "name": "service",
        "strategy": strategy,
        "wrap_up": wrap_up,
        "ring_timeout": ring_timeout,
    }
    main.update(queue or {})
    queues = [main, *(extra_queues or [])]
    skills = agent_skills or {q.get("skill", q["name"]): 5 for q in queues}
    data: dict[str, Any] = {
        "site": "test",
        "trunk_groups": [{"name": "pstn", "kind": "sip", "channels": trunks}],
        "queues": queues,
        "agents": [{"id": f"a{i}", "skills": skills} for i in range(1, agents + 1)],
        "routes": [*(routes or []), {"trunk_group": "pstn", "queue": "service"}],
    }
    if traffic is not None:
        data["traffic"] = traffic
    if behaviour is not None:
        data["agent_behaviour"] = behaviour
    return data


def build_site(**kwargs: Any) -> Site:
    return parse_site(yaml.safe_dump(site_dict(**kwargs)), source="<test>")
