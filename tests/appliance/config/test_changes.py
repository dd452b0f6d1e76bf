"""What a reload would change (`ccbox check --against`, and the log of SIGHUP)."""

from __future__ import annotations

from typing import Any

import yaml

from appliance.config import Site, parse_site
from appliance.config.changes import compare, describe, effective
from tests.factories import site_dict


def site(data: dict[str, Any]) -> Site:
    return parse_site(yaml.safe_dump(data), source="<test>")


def test_the_same_file_changes_nothing() -> None:
    changes = compare(site(site_dict()), site(site_dict()))
    assert not changes
    assert describe(changes) == ["a reload changes nothing"]


def test_each_section_is_named_with_its_old_and_new_values() -> None:
    old = site_dict(agents=2)
    new = site_dict(agents=3, ring_timeout=20, trunks=4,
                    extra_queues=[{"name": "sales"}],
                    routes=[{"trunk_group": "pstn", "dnis": "200", "queue": "sales"}])
    new["agents"][0]["skills"] = {"service": 5}
    new["sip"] = {"max_calls": 50}
    new["media"] = {"recording": {"folder": "/srv/recordings"}}
    changes = compare(site(old), site(new))
    assert changes.applied == (
        "queues: added sales",
        "queues.service.ring_timeout: 15.0 -> 20.0",
        "agents: added a3 (may log in)",
        'agents.a2.skills: {"service":5} -> {"sales":5,"service":5}',
        "routes: 1 -> 2 routes, first difference at routes[0]",
        "trunk_groups.pstn.channels: 10 -> 4",
        "sip.max_calls: 2000 -> 50",
        "media.recording.folder: recordings -> /srv/recordings",
    )
    assert changes.restart == ()


def test_removed_agents_and_phones_are_named() -> None:
    old = site_dict(agents=3)
    old["sip"] = {"phones": [{"user": "a3", "ha1_md5": "0" * 32}]}
    changes = compare(site(old), site(site_dict(agents=2)))
    assert changes.applied == (
        "agents: removed a3 (logged out, after their call if on one)",
        "sip.phones: removed a3",
    )


def test_the_media_port_range_needs_a_restart_and_keeps_its_running_value() -> None:
    old = site(site_dict())
    data = site_dict()
    data["media"] = {"rtp_port_min": 30000, "rtp_port_max": 31000, "media_timeout": 20}
    new = site(data)
    changes = compare(old, new)
    assert changes.restart == ("media.rtp_port_min: 10000 -> 30000",
                               "media.rtp_port_max: 20000 -> 31000")
    assert changes.applied == ("media.media_timeout: 60.0 -> 20.0",)
    assert describe(changes)[-1] == "needs a restart: media.rtp_port_max: 20000 -> 31000"
    applied = effective(old, new)
    assert applied.media.rtp_ports == old.media.rtp_ports
    assert applied.media.media_timeout == 20
    assert applied.queue("service") == new.queue("service")


def test_sections_without_a_comparison_of_their_own_are_named_too() -> None:
    """A changed blacklist, gateway or IVR flow is not "a reload changes nothing"."""
    old = site_dict()
    new = {**site_dict(), "blacklist": ["13900000000"]}
    new["gateways"] = [{"name": "card", "profile": "fxo-4", "address": "127.0.0.1:5070",
                        "ports": [{"ports": "1-4", "trunk_group": "pstn"}]}]
    new["trunk_groups"][0].update(kind="analog", channels=4)
    changes = compare(site(old), site(new))
    assert changes.applied == (
        "trunk_groups.pstn.kind: sip -> analog",
        "trunk_groups.pstn.channels: 10 -> 4",
        'blacklist: [] -> ["13900000000"]',
        "gateways: added card",
    )
    moved = {**site_dict(), "blacklist": ["13900000000"]}
    moved["gateways"] = [{**new["gateways"][0], "address": "127.0.0.1:5080"}]
    moved["trunk_groups"][0].update(kind="analog", channels=4)
    assert compare(site(new), site(moved)).applied == (
        "gateways.card.address: 127.0.0.1:5070 -> 127.0.0.1:5080",)
