"""A SQLite lookup's table built from its seed CSV: on disk when the box starts without the
database, in memory for the simulator and for the start-up check."""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

from appliance import csvtable
from appliance.config.ivr import SqliteLookup
from appliance.csvtable import TableError


def fill(db: sqlite3.Connection, config: SqliteLookup) -> int:
    """Create `config.table` in `db` with the seed's columns (all TEXT) and a unique index on
    the key column, and insert the seed's rows; returns how many. TableError names the line of
    a row that cannot be read or repeats a key. Nothing is committed here."""
    assert config.seed is not None
    seed = Path(config.seed)
    names = csvtable.columns(seed)
    table = _quoted(config.table)
    db.execute(f"CREATE TABLE {table} ({', '.join(f'{_quoted(n)} TEXT' for n in names)})")
    db.execute(f"CREATE UNIQUE INDEX {_quoted(f'{config.table}_by_{config.key}')} "
               f"ON {table} ({_quoted(config.key)})")
    rows = _unique(seed, names.index(config.key), config.key)
    insert = f"INSERT INTO {table} VALUES ({', '.join('?' * len(names))})"
    return db.executemany(insert, rows).rowcount


def in_memory(config: SqliteLookup) -> sqlite3.Connection:
    """A private in-memory database holding the seed's table (TableError as `fill`)."""
    db = sqlite3.connect(":memory:")
    try:
        fill(db, config)
    except BaseException:
        db.close()
        raise
    return db


def create(config: SqliteLookup, path: Path) -> int:
    """Build the database at `path` (and its folder) from the seed; returns the rows loaded.
    It is built in a temporary file beside `path` and renamed into place once committed, so a
    failure or a crash leaves no database at `path`, never half of one. TableError as `fill`,
    OSError or sqlite3.Error when the file cannot be written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".seeding", dir=path.parent)
    os.close(handle)
    try:
        with closing(sqlite3.connect(name)) as db, db:
            count = fill(db, config)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return count


def _unique(seed: Path, key_at: int, key: str) -> Iterator[list[str]]:
    first: dict[str, int] = {}
    for line, values in csvtable.rows(seed):
        value = values[key_at]
        if value in first:
            raise TableError(f"{seed}: line {line}: the {key} {value!r} again (first on line "
                             f"{first[value]}); expected each {key} once")
        first[value] = line
        yield values


def _quoted(name: str) -> str:
    # Column names come from the CSV file: quote them as SQL identifiers, quotes doubled.
    return '"' + name.replace('"', '""') + '"'
