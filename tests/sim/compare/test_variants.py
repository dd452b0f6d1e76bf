"""Trunk hardware variants of a site."""

from __future__ import annotations

import pytest

from appliance.config import resolve_site
from sim.compare.variants import Trunks, on_trunks, trunk_group_of


def test_a_variant_is_a_profile_or_several_of_one() -> None:
    assert Trunks.parse("fxo-4") == Trunks("fxo-4", 1)
    assert Trunks.parse("2xfxo-4") == Trunks.parse(" 2 x fxo-4") == Trunks("fxo-4", 2)
    assert Trunks.parse("2xfxo-4").label == "8 analog (2 x fxo-4)"
    assert Trunks.parse("e1-30").label == "30 e1 (e1-30)"
    assert Trunks.parse("pbx-16-192").channels == 16  # its FXS stations are no trunks
    for wrong, reason in (("fxo-5", "no gateway profile"), ("0xfxo-4", "expected PROFILE"),
                          ("fxs-8", "no trunk ports"), ("2x", "no gateway profile")):
        with pytest.raises(ValueError, match=reason):
            Trunks.parse(wrong)


def test_the_site_keeps_all_but_its_trunks() -> None:
    site = resolve_site("small")
    for spec, kind, channels in (("fxo-4", "analog", 4), ("2xfxo-4", "analog", 8),
                                 ("e1-30", "e1", 30), ("pbx-16-192", "analog", 16)):
        variant = on_trunks(site, "pstn", Trunks.parse(spec))
        group = variant.trunk_groups[0]
        assert (group.kind, group.channels) == (kind, channels)
        ports = [n for g in variant.gateways for m in g.ports for n in m.numbers()]
        assert len(ports) == channels
        assert (variant.agents, variant.queues, variant.traffic, variant.routes) == (
            site.agents, site.queues, site.traffic, site.routes)
    twice = on_trunks(on_trunks(site, "pstn", Trunks.parse("e1-30")), "pstn",
                      Trunks.parse("fxo-4"))
    assert [g.profile for g in twice.gateways] == ["fxo-4"]  # replaced, not added


def test_the_trunk_group_is_the_call_types_unless_named() -> None:
    site = resolve_site("small")
    assert trunk_group_of(site, None) == "pstn"
    assert trunk_group_of(site, "pstn") == "pstn"
    with pytest.raises(ValueError, match="no trunk group named 'isdn'"):
        trunk_group_of(site, "isdn")


def test_a_variant_whose_ports_cannot_serve_the_routes_says_why() -> None:
    with pytest.raises(ValueError, match=r"^routes\[0\]\.dnis: trunk group 'e1' is analog"):
        on_trunks(resolve_site("digital"), "e1", Trunks.parse("4xfxo-4"))
