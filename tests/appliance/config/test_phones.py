"""The sip.phones entries: digest algorithms per phone and static contacts, and the errors a
user sees for a wrong entry (file, field, what was expected)."""

from typing import Any

import pytest

from appliance.config import ConfigError, load_site

MD5 = "0" * 32
SHA256 = "1" * 64


def with_phones(site_data: dict[str, Any], *phones: dict[str, Any],
                **sip: Any) -> dict[str, Any]:
    site_data["sip"] = {"phones": list(phones), **sip}
    return site_data


def test_a_phone_is_offered_md5_alone_by_default(site_data, write_site) -> None:
    site = load_site(write_site(with_phones(site_data, {"user": "1001", "ha1_md5": MD5,
                                                        "ha1_sha256": SHA256})))
    phone = site.sip.phones[0]
    assert phone.offered_algorithms(site.sip.digest_algorithms) == ["MD5"]
    assert phone.registers and phone.static_contact is None


def test_a_phone_may_ask_for_sha256_or_hold_only_its_hash(site_data, write_site) -> None:
    site = load_site(write_site(with_phones(
        site_data,
        {"user": "1001", "ha1_md5": MD5, "ha1_sha256": SHA256,
         "digest_algorithms": ["SHA-256", "MD5"]},
        {"user": "1002", "ha1_sha256": SHA256})))
    default = site.sip.digest_algorithms
    assert [p.offered_algorithms(default) for p in site.sip.phones] == [
        ["SHA-256", "MD5"], ["SHA-256"]]
    site = load_site(write_site(with_phones(
        site_data, {"user": "1001", "ha1_md5": MD5, "ha1_sha256": SHA256},
        digest_algorithms=["SHA-256", "MD5"])))
    assert site.sip.phones[0].offered_algorithms(site.sip.digest_algorithms) == [
        "SHA-256", "MD5"]


def test_a_static_contact_needs_no_registration_unless_asked(site_data, write_site) -> None:
    site = load_site(write_site(with_phones(
        site_data,
        {"user": "1001", "ha1_md5": MD5, "contact": "192.0.2.7:5062"},
        {"user": "1002", "ha1_md5": MD5, "contact": "[2001:db8::7]:5060", "register": True})))
    fixed, both = site.sip.phones
    assert (fixed.static_contact, fixed.registers) == (("192.0.2.7", 5062), False)
    assert (both.static_contact, both.registers) == (("2001:db8::7", 5060), True)


@pytest.mark.parametrize(("phones", "sip", "path", "words"), [
    ([{"user": "1001", "ha1_md5": MD5, "contact": "192.0.2.7"}], {},
     "sip.phones[0].contact", ["address:port", "192.0.2.7"]),
    ([{"user": "1001", "ha1_md5": MD5, "contact": "10.0.0.0/24:5060"}], {},
     "sip.phones[0].contact", ["address:port"]),
    ([{"user": "1001", "ha1_md5": MD5, "register": False}], {},
     "sip.phones[0]", ["static contact"]),
    ([{"user": "1001", "ha1_md5": MD5, "digest_algorithms": ["SHA-256"]}], {},
     "sip", ["phones[0]", "no hash", "SHA-256"]),
    ([{"user": "1001", "ha1_md5": MD5, "contact": "192.0.2.7:5062"},
      {"user": "1002", "ha1_md5": MD5, "contact": "192.0.2.7:5062"}], {},
     "sip", ["phones[1].contact", "'1001'"]),
])
def test_a_wrong_phone_entry_is_named(phones, sip, path, words, site_data, write_site) -> None:
    file = write_site(with_phones(site_data, *phones, **sip))
    with pytest.raises(ConfigError) as caught:
        load_site(file)
    assert str(caught.value).startswith(str(file))
    messages = [message for where, message in caught.value.problems if where == path]
    assert messages, caught.value.problems
    assert all(word in messages[0] for word in words), messages[0]


def test_a_phone_cannot_share_a_trunk_peers_address_and_port(site_data, write_site) -> None:
    site_data["trunk_groups"][1]["peers"] = ["192.0.2.7:5060", "192.0.2.7"]
    with_phones(site_data, {"user": "1001", "ha1_md5": MD5, "contact": "192.0.2.7:5060"})
    with pytest.raises(ConfigError) as caught:
        load_site(write_site(site_data))
    messages = [message for where, message in caught.value.problems if "contact" in where]
    assert messages and "carrier" in messages[0] and "another port" in messages[0]
    # The same address on another port is fine: requests are told apart by port.
    with_phones(site_data, {"user": "1001", "ha1_md5": MD5, "contact": "192.0.2.7:5062"})
    assert load_site(write_site(site_data)).sip.phones[0].static_contact == ("192.0.2.7", 5062)


@pytest.mark.parametrize(("codes", "expected"), [
    ({"pickup": "*41"}, "different feature codes"),
    ({"directed_pickup": "*4"}, r"\*4 is followed by a number, so no other code may start "
                                r"with it; got \*41"),
])
def test_pickup_codes_may_not_clash_with_the_others(site_data, write_site, codes,
                                                    expected) -> None:
    with pytest.raises(ConfigError, match=expected):
        load_site(write_site(with_phones(site_data, feature_codes=codes)))
