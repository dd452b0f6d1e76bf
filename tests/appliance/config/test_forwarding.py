"""Phones' call forwarding and its feature codes in the site file, and the errors a user sees
for a wrong entry."""

from typing import Any

import pytest

from appliance.config import load_site
from tests.appliance.config.test_outbound import MD5, _assert_named, with_route


def phones(**forward: Any) -> dict[str, Any]:
    return {"phones": [{"user": "1001", "ha1_md5": MD5, "forward": forward},
                       {"user": "1002", "ha1_md5": MD5}]}


def test_forwarding_and_its_defaults(site_data, write_site) -> None:
    site_data["sip"] = phones(always="1002", no_answer="90301234567")
    site = load_site(write_site(with_route(site_data)))
    first, second = site.sip.phones
    assert first.forward.targets() == {"always": "1002", "no_answer": "90301234567"}
    assert first.forward.no_answer_after == 20.0
    assert second.forward.targets() == {}
    codes = site.sip.feature_codes
    assert codes.forwarding()["*72"] == ("always", True)
    assert codes.forwarding()["*93"] == ("no_answer", False)


@pytest.mark.parametrize(("forward", "path", "words"), [
    ({"always": "1001"}, "sip.phones[0].forward.always", ["itself"]),
    ({"busy": "nobody"}, "sip.phones[0].forward.busy", ["'9'", "'nobody'"]),
    ({"no_answer": "0301234567"}, "sip.phones[0].forward.no_answer", ["prefix"]),
    ({"no_answer_after": 0}, "sip.phones[0].forward.no_answer_after", ["> 0"]),
    ({"sometimes": "1002"}, "sip.phones[0].forward.sometimes", ["unknown field"]),
])
def test_a_wrong_forwarding_is_named(forward, path, words, site_data, write_site) -> None:
    site_data["sip"] = phones(**forward)
    _assert_named(write_site(with_route(site_data)), path, words)


def test_a_forwarding_code_another_code_starts_with_is_named(site_data, write_site) -> None:
    site_data["sip"] = {"feature_codes": {"forward_always": "*4"}}
    _assert_named(write_site(site_data), "sip.feature_codes", ["*4", "*41"])
