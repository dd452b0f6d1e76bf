"""The simulator's lookups: a SQLite lookup asks its database file, else its seed (in memory),
unless the traffic section says how it answers."""

from __future__ import annotations

import copy
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import yaml

from appliance.config import Site, parse_site
from sim.lookups import SimLookups
from sim.streams import Streams
from tests.appliance.config.conftest import BASE_SITE
from tests.appliance.config.test_ivr_config import IVR, site_with

ANI = "13800000000"


def site(tmp_path: Path, database: str, **traffic_lookups: Any) -> Site:
    seed = tmp_path / "customers.csv"
    seed.write_text(f"phone,account,pin,balance\n{ANI},A-1,1234,12.30\n", encoding="utf-8")
    ivr = copy.deepcopy(IVR)
    ivr["lookups"]["customers"].update(database=database, seed=str(seed))
    data = site_with(BASE_SITE, ivr)
    data["traffic"]["lookups"] = traffic_lookups
    return parse_site(yaml.safe_dump(data, allow_unicode=True))


def test_a_missing_database_answers_from_the_seed(tmp_path: Path) -> None:
    lookups = SimLookups(site(tmp_path, str(tmp_path / "none.db")), Streams(1))
    assert lookups.look_up("customers", ANI) == {"account": "A-1", "pin": "1234",
                                                 "balance": "12.30"}
    assert lookups.look_up("customers", "1") == {}
    assert not (tmp_path / "none.db").exists()


def test_an_existing_database_answers_instead_of_the_seed(tmp_path: Path) -> None:
    path = tmp_path / "crm.db"
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE customers (phone, account, pin, balance)")
        db.execute("INSERT INTO customers VALUES (?, 'FILE', '0000', 1)", (ANI,))
    lookups = SimLookups(site(tmp_path, str(path)), Streams(1))
    assert lookups.look_up("customers", ANI) == {"account": "FILE", "pin": "0000",
                                                 "balance": "1"}


def test_a_lookup_the_traffic_names_answers_as_configured(tmp_path: Path) -> None:
    answer = {"found": 1.0, "fields": {"account": "SYN"}}
    lookups = SimLookups(site(tmp_path, str(tmp_path / "none.db"), customers=answer),
                         Streams(1))
    assert lookups.look_up("customers", "any number") == {"account": "SYN"}
