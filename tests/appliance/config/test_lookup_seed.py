"""A SQLite lookup's `seed`: a CSV file beside the site file, made absolute at load, and refused
at its field path when it cannot be read or lacks a column the lookup needs."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from appliance.config import ConfigError, load_site, parse_site
from appliance.config.ivr import SqliteLookup
from tests.appliance.config.test_ivr_config import IVR, site_with

WHERE = "ivr.lookups.customers.seed"
GOOD = "phone,account,pin,balance,city\n13800000000,A-1,1234,12.30,Shanghai\n"


def seeded(base_site: dict[str, Any], seed: str) -> dict[str, Any]:
    ivr = copy.deepcopy(IVR)
    ivr["lookups"]["customers"]["seed"] = seed
    return site_with(base_site, ivr)


def lookup_of(site: Any) -> SqliteLookup:
    lookup = site.ivr.lookups["customers"]
    assert isinstance(lookup, SqliteLookup)
    return lookup


def test_a_relative_seed_is_beside_the_site_file(base_site, write_site) -> None:
    file = write_site(seeded(base_site, "data/customers.csv"))
    (file.parent / "data").mkdir()
    (file.parent / "data" / "customers.csv").write_text(GOOD, encoding="utf-8")
    assert lookup_of(load_site(file)).seed == str(file.parent.absolute() / "data/customers.csv")


def test_a_seed_in_text_is_relative_to_the_current_folder(base_site, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "customers.csv").write_text(GOOD, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    site = parse_site(yaml.safe_dump(seeded(base_site, "customers.csv"), allow_unicode=True))
    assert lookup_of(site).seed == str(tmp_path / "customers.csv")


def test_an_absolute_seed_stays_and_a_lookup_without_one_has_none(base_site, tmp_path) -> None:
    (tmp_path / "c.csv").write_text("\ufeff" + GOOD, encoding="utf-8")  # a BOM is fine
    site = parse_site(yaml.safe_dump(seeded(base_site, str(tmp_path / "c.csv"))))
    assert lookup_of(site).seed == str(tmp_path / "c.csv")
    assert lookup_of(parse_site(yaml.safe_dump(site_with(base_site, IVR)))).seed is None


BAD_SEEDS: dict[str, tuple[bytes | None, list[str]]] = {
    "missing": (None, ["no such file"]),
    "not UTF-8": (b"phone,account,pin,balance\n1,\xff\xfe,1,1\n", ["not UTF-8"]),
    "empty": (b"", ["no header row", "column names"]),
    "no key column": (b"account,pin,balance\nA,1,2\n",
                      ["no column 'phone'", "expected the columns phone, account, pin, balance",
                       "got account, pin, balance"]),
    "no field": (b"phone,account\n1,A\n", ["no column 'pin', 'balance'"]),
    "a short row": (b"phone,account,pin,balance\n1,A,1\n", ["line 2", "expected 4 values"]),
    "a column twice": (b"phone,account,pin,balance,pin\n", ["'pin' twice"]),
}


@pytest.mark.parametrize("case", BAD_SEEDS, ids=list(BAD_SEEDS))
def test_a_bad_seed_is_refused_naming_the_file(case: str, base_site, write_site) -> None:
    content, words = BAD_SEEDS[case]
    file = write_site(seeded(base_site, "customers.csv"))
    if content is not None:
        (file.parent / "customers.csv").write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        load_site(file)
    [message] = [message for where, message in caught.value.problems if where == WHERE]
    assert str(file.parent.absolute() / "customers.csv") in message
    assert all(word in message for word in words), message


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_seed_is_refused(base_site, write_site) -> None:
    file = write_site(seeded(base_site, "customers.csv"))
    seed = file.parent / "customers.csv"
    seed.write_text(GOOD, encoding="utf-8")
    seed.chmod(0)
    with pytest.raises(ConfigError, match="Permission denied"):
        load_site(file)


def test_a_folder_as_seed_is_refused(base_site, write_site) -> None:
    file = write_site(seeded(base_site, "customers.csv"))
    (file.parent / "customers.csv").mkdir()
    with pytest.raises(ConfigError, match=r"customers\.seed: .*customers\.csv: Is a directory"):
        load_site(file)
