"""Ring groups in the site file, and the errors a user sees for a wrong entry (file, field,
what was expected)."""

from typing import Any

import pytest

from appliance.config import load_site
from tests.appliance.config.test_outbound import MD5, _assert_named, with_route


def sip(**group: Any) -> dict[str, Any]:
    return {"phones": [{"user": user, "ha1_md5": MD5} for user in ("1001", "1002", "1003")],
            "ring_groups": [{"number": "600", "members": ["1001", "1002"], **group}]}


def test_a_ring_group_and_its_defaults(site_data, write_site) -> None:
    site_data["sip"] = sip(then="90301234567")
    (group,) = load_site(write_site(with_route(site_data))).sip.ring_groups
    assert (group.number, group.members, group.strategy, group.ring_seconds, group.then) == (
        "600", ["1001", "1002"], "all", 20.0, "90301234567")


@pytest.mark.parametrize(("group", "path", "words"), [
    ({"strategy": "random"}, "sip.ring_groups[0].strategy", ["'all'", "'in_turn'"]),
    ({"ring_seconds": 0}, "sip.ring_groups[0].ring_seconds", ["> 0"]),
    ({"members": []}, "sip.ring_groups[0].members", ["at least 1"]),
    ({"members": ["1001", "1001"]}, "sip.ring_groups[0]", ["differ"]),
    ({"members": ["1001", "2001"]}, "sip", ["ring_groups[0].members", "'2001'"]),
    ({"number": "1002"}, "sip", ["ring_groups[0].number", "'1002'"]),
    ({"then": "nobody"}, "sip.ring_groups[0].then", ["'9'", "'nobody'"]),
])
def test_a_wrong_ring_group_is_named(group, path, words, site_data, write_site) -> None:
    site_data["sip"] = sip(**group)
    _assert_named(write_site(with_route(site_data)), path, words)


def routed(site_data: dict[str, Any], **group: Any) -> dict[str, Any]:
    """A site whose first route sends its callers to ring group 600."""
    site_data["sip"] = sip(**group)
    site_data["routes"][0] = {"trunk_group": site_data["routes"][0]["trunk_group"],
                              "ring_group": "600"}
    site_data["voicemail"] = {"mailboxes": [{"name": "desk", "number": "801", "pin": "1234"}]}
    return with_route(site_data)


@pytest.mark.parametrize("then", ["voicemail:desk", f"queue:{'{queue}'}", "1003", None])
def test_a_route_sends_callers_to_a_ring_group(then, site_data, write_site) -> None:
    queue = site_data["queues"][0]["name"]
    group = {} if then is None else {"then": then.format(queue=queue)}
    site = load_site(write_site(routed(site_data, **group)))
    assert site.routes[0].target == ("ring_group", "600")


@pytest.mark.parametrize(("route", "group", "path", "words"), [
    ({"ring_group": "601"}, {}, "routes[0].ring_group", ["'601'", "600"]),
    ({}, {"then": "voicemail:nobox"}, "sip.ring_groups[0].then", ["'nobox'", "mailboxes"]),
    ({}, {"then": "queue:noq"}, "sip.ring_groups[0].then", ["'noq'", "queues"]),
    ({}, {"then": "90301234567"}, "sip.ring_groups[0].then", ["trunk", "'90301234567'"]),
])
def test_a_wrong_ring_group_route_is_named(route, group, path, words, site_data,
                                           write_site) -> None:
    data = routed(site_data, **group)
    data["routes"][0].update(route)
    _assert_named(write_site(data), path, words)
