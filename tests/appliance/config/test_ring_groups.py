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
