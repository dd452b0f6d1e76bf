"""ACCESS DB on SQLite: a row by its key, read-only, and a clear problem at start-up when the
file or table is not there."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from appliance.config.ivr import SqliteLookup
from appliance.lookups import LookupFailed, SqliteSource


def customers(path: Path) -> Path:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE customers (phone TEXT PRIMARY KEY, name TEXT, balance REAL, "
                   "tier INTEGER)")
        db.executemany("INSERT INTO customers VALUES (?, ?, ?, ?)",
                       [("13800000000", "Ada", 12.3, 2), ("100", "Bo", None, 1)])
    db.close()
    return path


def source(path: Path, table: str = "customers",
           fields: tuple[str, ...] = ("name", "balance")) -> SqliteSource:
    config = SqliteLookup(database=str(path), table=table, key="phone", fields=list(fields))
    return SqliteSource(config, path)


def test_a_row_is_found_by_its_key_and_its_fields_read_as_text(tmp_path: Path) -> None:
    found = source(customers(tmp_path / "crm.db")).fetch("13800000000")
    assert found == {"name": "Ada", "balance": "12.3"}


def test_a_missing_value_is_empty_and_a_missing_row_is_not_found(tmp_path: Path) -> None:
    crm = source(customers(tmp_path / "crm.db"))
    assert crm.fetch("100") == {"name": "Bo", "balance": ""}
    assert crm.fetch("999") == {}


def test_the_key_is_a_parameter_never_part_of_the_query(tmp_path: Path) -> None:
    crm = source(customers(tmp_path / "crm.db"))
    assert crm.fetch("' OR '1'='1") == {}


def test_the_database_is_opened_read_only(tmp_path: Path) -> None:
    path = customers(tmp_path / "crm.db")
    crm = source(path)
    with crm._connect() as db, pytest.raises(sqlite3.OperationalError, match="readonly"):
        db.execute("DELETE FROM customers")


def test_start_up_names_a_missing_file_table_or_column(tmp_path: Path) -> None:
    path = customers(tmp_path / "crm.db")
    assert source(path).check() is None
    assert "is not a file" in (source(tmp_path / "none.db").check() or "")
    assert "no such table" in (source(path, table="clients").check() or "")
    assert "no such column" in (source(path, fields=("email",)).check() or "")
    assert not (tmp_path / "none.db").exists()  # read-only: checking creates nothing


def test_a_file_that_is_not_a_database_fails_the_lookup(tmp_path: Path) -> None:
    path = tmp_path / "crm.db"
    path.write_text("not a database")
    with pytest.raises(LookupFailed):
        source(path).fetch("100")
