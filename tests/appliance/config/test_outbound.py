"""A trunk group's route out and phones' dial permissions in the site file, and the errors a
user sees for a wrong entry (file, field, what was expected)."""

from typing import Any

import pytest

from appliance.config import ConfigError, load_site

MD5 = "0" * 32
ROUTE = {"gateway": "192.0.2.9:5060"}


def with_route(site_data: dict[str, Any], group: int = 1, **route: Any) -> dict[str, Any]:
    site_data["trunk_groups"][group]["outbound"] = {**ROUTE, **route}
    return site_data


def test_a_route_out_and_its_defaults(site_data, write_site) -> None:
    site_data["sip"] = {"phones": [{"user": "1001", "ha1_md5": MD5},
                                   {"user": "1002", "ha1_md5": MD5, "dial": "international"}]}
    site = load_site(write_site(with_route(site_data)))
    outbound = site.trunk_group("carrier").outbound
    assert outbound is not None
    assert (outbound.gateway, outbound.prefix, outbound.strip, outbound.caller_id,
            outbound.ring_timeout) == ("192.0.2.9:5060", "9", True, None, 60.0)
    assert site.trunk_group("lines").outbound is None
    assert [phone.dial for phone in site.sip.phones] == ["national", "international"]
    assert site.sip.dial_plan.emergency == ["112", "911"]


@pytest.mark.parametrize(("route", "path", "words"), [
    ({"gateway": "192.0.2.9"}, "trunk_groups[1] (carrier).outbound.gateway", ["address:port"]),
    ({"prefix": "9a"}, "trunk_groups[1] (carrier).outbound.prefix", ["[0-9]{0,4}"]),
    ({"caller_id": "office"}, "trunk_groups[1] (carrier).outbound.caller_id", ["[0-9]"]),
    ({"ring_timeout": 0}, "trunk_groups[1] (carrier).outbound.ring_timeout", ["> 0"]),
    ({"gateway": "192.0.2.9:5060", "trunk": 1}, "trunk_groups[1] (carrier).outbound.trunk",
     ["unknown field"]),
    ({"username": "ccbox"}, "trunk_groups[1] (carrier).outbound", ["username and password"]),
    ({"password": "x"}, "trunk_groups[1] (carrier).outbound", ["username and password"]),
    ({"username": "cc box", "password": "x"}, "trunk_groups[1] (carrier).outbound.username",
     ["A-Za-z0-9"]),
])
def test_a_wrong_route_out_is_named(route, path, words, site_data, write_site) -> None:
    file = write_site(with_route(site_data, **route))
    _assert_named(file, path, words)


def test_overlapping_prefixes_are_named(site_data, write_site) -> None:
    with_route(site_data, 0, prefix="9")
    file = write_site(with_route(site_data, 1, prefix="90"))
    _assert_named(file, "trunk_groups[1] (carrier).outbound.prefix",
                  ["trunk_groups[0]", "'9'", "'90'", "overlap"])


@pytest.mark.parametrize(("sip", "path", "words"), [
    ({"phones": [{"user": "1001", "ha1_md5": MD5, "dial": "world"}]}, "sip.phones[0].dial",
     ["'internal'", "'international'"]),
    ({"dial_plan": {"national_prefix": "0", "international_prefix": "0"}}, "sip.dial_plan",
     ["differ"]),
])
def test_wrong_dial_settings_are_named(sip, path, words, site_data, write_site) -> None:
    site_data["sip"] = sip
    _assert_named(write_site(site_data), path, words)


def _assert_named(file, path: str, words: list[str]) -> None:
    with pytest.raises(ConfigError) as caught:
        load_site(file)
    assert str(caught.value).startswith(str(file))
    messages = [message for where, message in caught.value.problems if where == path]
    assert messages, caught.value.problems
    assert all(word in messages[0] for word in words), messages[0]
