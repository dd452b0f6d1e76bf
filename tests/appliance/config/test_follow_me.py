"""Find-me/follow-me in the site file, and the errors a user sees for a wrong entry (file,
field, what was expected)."""

from typing import Any

import pytest

from appliance.config import load_site
from tests.appliance.config.test_outbound import MD5, _assert_named, with_route


def sip(**follow_me: Any) -> dict[str, Any]:
    phones = [{"user": user, "ha1_md5": MD5} for user in ("1001", "1002", "1003")]
    phones[0]["follow_me"] = follow_me
    return {"phones": phones}


def test_follow_me_and_its_default_ring_time(site_data, write_site) -> None:
    site_data["sip"] = sip(numbers=["1002", "90301234567"])
    phone = load_site(write_site(with_route(site_data))).sip.phones[0]
    assert phone.follow_me is not None
    assert (phone.follow_me.numbers, phone.follow_me.ring_seconds) == (
        ["1002", "90301234567"], 15.0)


@pytest.mark.parametrize(("follow_me", "path", "words"), [
    ({"numbers": []}, "sip.phones[0].follow_me.numbers", ["at least 1"]),
    ({"numbers": ["1002", "1003", "90301", "90302"]}, "sip.phones[0].follow_me.numbers",
     ["at most 3"]),
    ({"numbers": ["1002"], "ring_seconds": 0}, "sip.phones[0].follow_me.ring_seconds",
     ["> 0"]),
    ({"numbers": ["1001"]}, "sip.phones[0].follow_me.numbers[0]", ["other than", "'1001'"]),
    ({"numbers": ["1002", "1002"]}, "sip.phones[0].follow_me.numbers[1]", ["'1002'"]),
    ({"numbers": ["nobody"]}, "sip.phones[0].follow_me.numbers[0]", ["'9'", "'nobody'"]),
    ({"numbers": ["90301234567", "1002"]}, "sip.phones[0].follow_me.numbers[0]",
     ["outside number last", "'90301234567'"]),
])
def test_a_wrong_follow_me_is_named(follow_me, path, words, site_data, write_site) -> None:
    site_data["sip"] = sip(**follow_me)
    _assert_named(write_site(with_route(site_data)), path, words)
