"""A SQLite lookup's database built from its seed CSV: created when missing, whole or not at
all, with unique keys; an existing database left alone; the start-up check reads the seed
without writing anything."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from appliance.config.ivr import Ivr, SqliteLookup
from appliance.csvtable import TableError
from appliance.lookups import SeedError, SiteLookups, SqliteSource
from appliance.lookups.seed import create, in_memory
from appliance.state import StateFolder
from tests.appliance.lookups.test_sqlite import customers

FLOW = {"name": "main", "start": "bye",
        "nodes": [{"name": "bye", "kind": "hang_up", "prompts": "goodbye"}]}
CSV = 'phone,name,"tier, as sold"\n13800000000,Ada,gold\n\n100,"Bo, Jr.",\n'


def csv_file(folder: Path, text: str = CSV) -> Path:
    path = folder / "customers.csv"
    path.write_text(text, encoding="utf-8")
    return path


def ivr(seed: Path, database: str = "crm.db") -> Ivr:
    return Ivr.model_validate({
        "lookups": {"crm": {"kind": "sqlite", "database": database, "table": "customers",
                            "key": "phone", "fields": ["name"], "seed": str(seed)}},
        "flows": [FLOW]})


def test_a_missing_database_is_built_from_the_seed(tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    lookups = SiteLookups(ivr(csv_file(tmp_path), "lookups/crm.db"), StateFolder(tmp_path))
    assert lookups.problems() == []
    with caplog.at_level(logging.INFO, logger="appliance.lookups"):
        lookups.create_missing()
    assert lookups.look_up("crm", "13800000000") == {"name": "Ada"}
    assert lookups.look_up("crm", "100") == {"name": "Bo, Jr."}
    assert lookups.look_up("crm", "999") == {}
    [line] = [record.getMessage() for record in caplog.records]
    assert f"created {tmp_path / 'lookups/crm.db'} from {tmp_path / 'customers.csv'}" in line
    assert "(2 rows)" in line
    assert sorted(path.name for path in (tmp_path / "lookups").iterdir()) == ["crm.db"]


def test_the_table_has_every_column_as_text_and_a_unique_key(tmp_path: Path) -> None:
    path = tmp_path / "crm.db"
    create(ivr(csv_file(tmp_path)).lookups["crm"], path)  # type: ignore[arg-type]
    with sqlite3.connect(path) as db:
        columns = [(row[1], row[2]) for row in db.execute("PRAGMA table_info(customers)")]
        indexes = [row[2] for row in db.execute("PRAGMA index_list(customers)")]
        rows = db.execute('SELECT "tier, as sold" FROM customers ORDER BY phone').fetchall()
    db.close()
    assert columns == [("phone", "TEXT"), ("name", "TEXT"), ("tier, as sold", "TEXT")]
    assert indexes == [1]  # unique
    assert rows == [("",), ("gold",)]


def test_an_existing_database_is_never_touched(tmp_path: Path) -> None:
    path = customers(tmp_path / "crm.db")
    before = path.read_bytes()
    lookups = SiteLookups(ivr(csv_file(tmp_path, "phone,name\n13800000000,Other\n")),
                          StateFolder(tmp_path))
    lookups.create_missing()
    assert path.read_bytes() == before
    assert lookups.look_up("crm", "13800000000") == {"name": "Ada"}  # the file's, not the seed's


def test_a_key_given_twice_names_both_lines_and_leaves_no_file(tmp_path: Path) -> None:
    seed = csv_file(tmp_path, "phone,name\n1,Ada\n2,Bo\n\n1,Cy\n")
    lookups = SiteLookups(ivr(seed), StateFolder(tmp_path))
    [(where, problem)] = lookups.problems()  # found before anything is written
    assert where == "ivr.lookups.crm"
    assert "line 5: the phone '1' again (first on line 2)" in problem
    assert not (tmp_path / "crm.db").exists()
    with pytest.raises(SeedError, match="line 5") as caught:
        lookups.create_missing()
    assert caught.value.where == "ivr.lookups.crm"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["customers.csv"]


def test_a_crash_in_the_middle_leaves_no_database(tmp_path: Path) -> None:
    """The seed changed after the site was loaded: a row far down is short. Rows before it
    were inserted when it is found; the half-built table is thrown away with its file."""
    lookup = ivr(csv_file(tmp_path, "phone,name\n1,A\n")).lookups["crm"]
    csv_file(tmp_path, "phone,name\n" + "".join(f"{n},N{n}\n" for n in range(500)) + "999\n")
    with pytest.raises(TableError, match="line 502: expected 2 values"):
        create(lookup, tmp_path / "crm.db")  # type: ignore[arg-type]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["customers.csv"]


def test_a_broken_seed_is_a_problem_when_the_database_is_missing(tmp_path: Path) -> None:
    lookups = SiteLookups(ivr(csv_file(tmp_path, "phone,name\n1,A\n")), StateFolder(tmp_path))
    (tmp_path / "customers.csv").unlink()  # gone since the site was loaded
    [(where, problem)] = lookups.problems()
    assert where == "ivr.lookups.crm"
    assert "seed:" in problem and "no such file" in problem


def test_the_seed_in_memory_answers_through_the_sources_query(tmp_path: Path) -> None:
    lookup = ivr(csv_file(tmp_path)).lookups["crm"]
    assert isinstance(lookup, SqliteLookup)
    db = in_memory(lookup)
    source = SqliteSource(lookup, tmp_path / "crm.db")
    assert source.find(db, "100") == {"name": "Bo, Jr."}
    assert not (tmp_path / "crm.db").exists()
