"""The lab site's lookup tables: the load's callers found as often as in simulation."""

from __future__ import annotations

import csv
from pathlib import Path
from random import Random

from appliance.config import LookupAnswer, resolve_site
from appliance.config.ivr import SqliteLookup
from sim.load.lookups import FIRST_NUMBER, lab_lookups, write_table

LOOKUP = SqliteLookup(database="c.sqlite", table="customers", key="phone",
                      fields=["account", "pin"])


def test_each_caller_number_is_in_the_table_with_the_found_probability(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    answer = LookupAnswer(found=0.6, fields={"account": "100234"})
    write_table(path, LOOKUP, answer, 5000, Random(1))
    rows = list(csv.DictReader(path.open()))
    assert 0.57 < len(rows) / 5000 < 0.63
    assert rows[0].keys() == {"phone", "account", "pin"}
    assert {(row["account"], row["pin"]) for row in rows} == {("100234", "")}
    assert all(FIRST_NUMBER <= int(row["phone"]) < FIRST_NUMBER + 5000 for row in rows)


def test_the_lab_site_s_lookup_is_seeded_from_its_own_table(tmp_path: Path) -> None:
    lookups = lab_lookups(resolve_site("small-ivr"), tmp_path)
    customers = lookups["customers"]
    assert customers["database"] == "lab-customers.sqlite"
    assert customers["seed"] == str((tmp_path / "lab-customers.csv").absolute())
    rows = list(csv.DictReader((tmp_path / "lab-customers.csv").open()))
    assert rows[0] == {"phone": rows[0]["phone"], "account": "100234", "pin": "2468",
                       "balance": "356.80"}
