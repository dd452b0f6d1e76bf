"""A site's gateways: profiles, and what their ports serve."""

import pytest
import yaml

from appliance.config import ConfigError, builtin_site_path, load_site, parse_site
from appliance.config.gateways import builtin_profiles
from appliance.hw import Supervision

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
    assert any(path == "gateways[1] (phones).profile" and "no gateway profile" in message
               and "fxs-9': no such file, nor a built-in one (e1-30," in message
               for path, message in problems(text))
    text = small_with(GATEWAYS.replace("1001-1008", "2001-2008"))
    assert any("no agent seat '2001'" in message for _, message in problems(text))


def test_route_line_must_be_carried_by_the_group():
    routes = [{"trunk_group": "pstn", "line": "billing", "queue": "service"},
              {"trunk_group": "pstn", "queue": "service"}]
    found = problems(small_with(GATEWAYS, routes=routes))
    assert any(path.startswith("routes[0]") and "carries line 'billing'" in message
               for path, message in found)


MY_CARD = """
profile: my-card
description: A customer's 4-port FXO card on E.180 lines that answers on the third ring.
tones: e180
ports:
  - kind: fxo
    count: 4
    answer_on_ring: 3
    disconnect: {supervision: tone, delay: 4.0}
"""


def with_gateway(field: str, **settings: object) -> str:
    """The small site with GATEWAYS, the card's entry given `settings` (`field`: the
    card's, `phones`: the FXS gateway's)."""
    data = yaml.safe_load(small_with(GATEWAYS))
    data["gateways"][0 if field == "card" else 1].update(settings)
    return yaml.safe_dump(data)


def test_a_site_names_its_own_profile_file_relative_to_itself(tmp_path):
    (tmp_path / "site" / "cards").mkdir(parents=True)
    (tmp_path / "site" / "cards" / "my-card.yaml").write_text(MY_CARD)
    site_file = tmp_path / "site" / "site.yaml"
    site_file.write_text(with_gateway("card", profile="cards/my-card.yaml"))
    card = load_site(site_file).gateways[0]
    assert card.profile == str(tmp_path / "site" / "cards" / "my-card.yaml")
    assert card.product().profile == "my-card"
    caps = dict(card.product().layout())["1"]
    assert (caps.answerable_after, caps.disconnect_delay) == (10.0, 4.0)
    assert card.product().tone_plan().busy.name == "eu-busy"


def test_a_profile_file_is_found_beside_the_file_that_gives_the_gateways(tmp_path):
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "my-card.yaml").write_text(MY_CARD)
    (tmp_path / "base" / "site.yaml").write_text(with_gateway("card", profile="my-card.yaml"))
    (tmp_path / "branch.yaml").write_text("extends: base/site.yaml\n")
    assert load_site(tmp_path / "branch.yaml").gateways[0].product().profile == "my-card"


def test_a_profile_file_in_error_names_the_file_the_field_and_the_gateway(tmp_path):
    (tmp_path / "my-card.yaml").write_text(MY_CARD.replace("count: 4", "count: 0"))
    (tmp_path / "site.yaml").write_text(with_gateway("card", profile="my-card.yaml"))
    with pytest.raises(ConfigError) as caught:
        load_site(tmp_path / "site.yaml")
    assert caught.value.source == str(tmp_path / "site.yaml")
    [(path, message)] = caught.value.problems
    assert path == "gateways[0] (card).profile"
    assert message.startswith(f"{tmp_path / 'my-card.yaml'}: ports[0].fxo.count: ")


def test_a_profile_file_that_is_not_a_profile_is_refused(tmp_path):
    (tmp_path / "my-card.yaml").write_text("profile: my-card\nports: [\n")
    (tmp_path / "site.yaml").write_text(with_gateway("card", profile="my-card.yaml"))
    with pytest.raises(ConfigError) as caught:
        load_site(tmp_path / "site.yaml")
    [(path, message)] = caught.value.problems
    assert path == "gateways[0] (card).profile" and str(tmp_path / "my-card.yaml") in message


def test_a_site_sets_a_gateways_tones_and_supervision_over_its_profile():
    card = parse_site(with_gateway("card", tones="e180",
                                   disconnect={"supervision": "timeout", "delay": 20})).gateways[0]
    plan, caps = card.product().tone_plan(), dict(card.product().layout())["1"]
    assert (plan.busy.name, plan.reorder.name) == ("eu-busy", "eu-congestion")
    assert (caps.supervision, caps.disconnect_delay) == (Supervision.TIMEOUT, 20.0)
    tones = {"busy": "us-busy", "reorder": {"frequency": 400, "cadence": [0.4, 0.4]}}
    card = parse_site(with_gateway("card", tones=tones, disconnect={"delay": 9})).gateways[0]
    plan, caps = card.product().tone_plan(), dict(card.product().layout())["1"]
    assert (plan.busy.name, plan.reorder.frequencies) == ("us-busy", (400.0,))
    assert (caps.supervision, caps.disconnect_delay) == (Supervision.TONE, 9.0)
    assert builtin_profiles()["fxo-4"].tone_plan().busy.name == "cn-busy"  # untouched


def test_a_chassis_takes_the_supervision_on_its_fxo_ports_only():
    chassis = builtin_profiles()["pbx-16-192"].with_lines(disconnect={"delay": 2.5})
    layout = dict(chassis.layout())
    assert (layout["16"].disconnect_delay, layout["17"].supervision) == (2.5, Supervision.EXACT)


@pytest.mark.parametrize(("field", "settings", "where", "says"), [
    ("card", {"tones": "usa"}, "tones", "no tone plan 'usa' (have: china, e180)"),
    ("card", {"tones": {"busy": "xx-busy", "reorder": "us-reorder"}}, "tones.busy",
     "no tone cadence 'xx-busy' (have: cn-busy,"),
    ("card", {"tones": {"busy": {"frequency": 5000, "cadence": [1, 1]}, "reorder": "us-reorder"}},
     "tones.busy.frequency", "expected a number < 4000"),
    ("card", {"disconnect": {"supervision": "never"}}, "disconnect.supervision",
     "expected one of 'exact', 'tone', 'timeout'; got 'never'"),
    ("card", {"disconnect": {"delay": -1}}, "disconnect.delay", "expected a number >= 0"),
    ("phones", {"disconnect": {"delay": 3}}, "disconnect",
     "profile fxs-8 has no FXO ports; the others' hang-ups are signalled, not supervised"),
])
def test_line_settings_in_error_are_named(field, settings, where, says):
    found = problems(with_gateway(field, **settings))
    name = "card" if field == "card" else "phones"
    index = 0 if field == "card" else 1
    assert [(path, message[:len(says)]) for path, message in found] == [
        (f"gateways[{index}] ({name}).{where}", says)]



def registering(card: dict | None = None, desk: dict | None = None) -> str:
    """The site of GATEWAYS with its card registering as `card` and its FXS gateway's ports
    each as `desk-N`; `card`/`desk`: fields over theirs."""
    gateways = yaml.safe_load(GATEWAYS)["gateways"]
    for gateway, register, more in [
            (gateways[0], {"user": "card", "password": "s3cret"}, card),
            (gateways[1], {"user": "desk-", "password": "s3cret", "per": "port"}, desk)]:
        del gateway["address"]
        gateway.update({"register": register, **(more or {})})
    return small_with(yaml.safe_dump({"gateways": gateways}))


def test_a_gateway_registers_instead_of_having_an_address():
    card, desk = parse_site(registering()).gateways
    assert card.address is None and card.accounts() == {"card": None}
    assert desk.accounts() == {f"desk-{n}": n for n in range(1, 9)}


@pytest.mark.parametrize(("card", "desk", "where", "says"), [
    ({"address": "127.0.0.1:5070"}, None,
     "gateways[0] (card).address", "expected either address (host:port) or register"),
    ({"register": {"user": "card"}}, None,
     "gateways[0] (card).register", "expected a password, or ha1_md5"),
    (None, {"register": {"user": "desk-", "ha1_md5": "0" * 32, "per": "port"}},
     "gateways[1] (phones).register", "per: port needs a password"),
    ({"port_in": "source"}, None,
     "gateways[0] (card).port_in", "port_in: source needs an address"),
    ({"register": {"user": "desk-1", "password": "x"}}, None,
     "gateways[1] (phones).register.user", "account 'desk-1' is gateway 'card''s already"),
    ({"address": "127.0.0.1"}, None, "gateways[0] (card).address", ""),
])
def test_registration_in_error_names_the_gateway_and_field(card, desk, where, says):
    found = problems(registering(card, desk))
    assert any(path == where and says in message for path, message in found), found


def test_an_account_that_is_a_phones_user_is_refused():
    data = yaml.safe_load(registering())
    data["sip"] = {"realm": "x", "phones": [{"user": "card", "ha1_md5": "0" * 32}]}
    assert ("gateways[0] (card).register.user",
            "account 'card' is a phone's already") in problems(yaml.safe_dump(data))
