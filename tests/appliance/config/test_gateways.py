"""A site's gateways: profiles, and what their ports serve."""

import pytest
import yaml

from appliance.config import ConfigError, builtin_site_path, parse_site
from appliance.config.gateways import builtin_profiles

GATEWAYS = """
gateways:
  - name: card
    profile: fxo-4
    address: "127.0.0.1:5070"
    ports:
      - {ports: "1", trunk_group: pstn, line: sales}
      - {ports: "2-4", trunk_group: pstn, line: service}
  - name: phones
    profile: fxs-8
    address: "127.0.0.1:5072"
    ports:
      - {ports: "1-8", seats: "1001-1008"}
"""


def small_with(extra: str, **changes: object) -> str:
    data = yaml.safe_load(builtin_site_path("small").read_text())
    data.update(yaml.safe_load(extra))
    data.update(changes)
    return yaml.safe_dump(data)


def problems(text: str) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        parse_site(text, "site.yaml")
    return caught.value.problems


def test_builtin_profiles_load():
    profiles = builtin_profiles()
    assert {name: p.port_count for name, p in profiles.items()} == {
        "e1-30": 30, "e1-60": 60, "fxo-4": 4, "fxo-4-silent": 4, "fxs-8": 8, "pbx-16-192": 208}
    assert profiles["fxo-4"].tone_plan().busy.frequencies == (450.0,)


def test_a_site_maps_gateway_ports_to_lines_and_seats():
    site = parse_site(small_with(GATEWAYS))
    assert [g.name for g in site.gateways] == ["card", "phones"]


def test_existing_sites_stay_valid_without_gateways():
    assert parse_site(builtin_site_path("small").read_text()).gateways == []


def test_port_beyond_the_profile_names_field():
    text = small_with(GATEWAYS.replace('"2-4"', '"2-5"'))
    assert ("gateways[0] (card).ports[1].ports",
            "profile fxo-4 has ports 1-4; got 2-5") in problems(text)


def test_group_channels_must_match_its_ports():
    text = small_with(GATEWAYS.replace('"2-4"', '"2-3"'))
    assert any(path == "trunk_groups[0] (pstn).channels" for path, _ in problems(text))


def test_fxs_ports_cannot_serve_a_trunk_group():
    text = small_with(GATEWAYS.replace('seats: "1001-1008"', "trunk_group: pstn"))
    assert any("fxs ports cannot serve" in message for _, message in problems(text))


def test_unknown_profile_and_seat():
    text = small_with(GATEWAYS.replace("fxs-8", "fxs-9"))
    assert any("no gateway profile named 'fxs-9'" in message for _, message in problems(text))
    text = small_with(GATEWAYS.replace("1001-1008", "2001-2008"))
    assert any("no agent seat '2001'" in message for _, message in problems(text))


def test_route_line_must_be_carried_by_the_group():
    routes = [{"trunk_group": "pstn", "line": "billing", "queue": "service"},
              {"trunk_group": "pstn", "queue": "service"}]
    found = problems(small_with(GATEWAYS, routes=routes))
    assert any(path.startswith("routes[0]") and "carries line 'billing'" in message
               for path, message in found)
