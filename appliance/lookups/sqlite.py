"""ACCESS DB on a SQLite file the site names: one row of a table, found by its key column."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from appliance.config.ivr import SqliteLookup
from appliance.csvtable import TableError
from appliance.lookups import seed
from appliance.lookups.base import LookupFailed, text


class SqliteSource:
    """Reads `config.table` in the database at `path`, read-only: a lookup never changes the
    customer's data, and the file may belong to another program that writes it."""

    def __init__(self, config: SqliteLookup, path: Path) -> None:
        self.config = config
        self.path = Path(path)
        # The names are identifiers (the configuration checked them); the key is a parameter.
        # Brackets, not double quotes: SQLite reads a "name" no column has as a string.
        columns = ", ".join(f"[{name}]" for name in config.fields)
        self._query = (f"SELECT {columns} FROM [{config.table}] "
                       f"WHERE [{config.key}] = ? LIMIT 1")

    def fetch(self, key: str) -> dict[str, str]:
        """The fields of the row whose key column is `key`, {} when there is none."""
        try:
            with self._connect() as db:
                return self.find(db, key)
        except sqlite3.Error as error:
            raise LookupFailed(f"{self.path}: {error}") from None

    def find(self, db: sqlite3.Connection, key: str) -> dict[str, str]:
        """`fetch` in the database `db` holds (the file's, or one built from the seed);
        sqlite3.Error when the table or a column is not there."""
        row = db.execute(self._query, (key,)).fetchone()
        if row is None:
            return {}
        return {name: text(value) for name, value in zip(self.config.fields, row, strict=True)}

    @property
    def awaits_seed(self) -> bool:
        """The file is not there and the configuration says what to build it from."""
        return self.config.seed is not None and not self.path.exists()

    def check(self) -> str | None:
        """Whether the file, the table and its columns are there (the query compiles); for a
        file still to be built, whether the seed builds a table (in memory: nothing is
        written)."""
        if self.awaits_seed:
            return self._check_seed()
        if not self.path.is_file():
            return f"{self.path} is not a file"
        try:
            with self._connect() as db:
                db.execute(self._query + " AND 0", ("",)).fetchall()
        except sqlite3.Error as error:
            return f"{self.path}: {error}"
        return None

    def _check_seed(self) -> str | None:
        try:
            with closing(seed.in_memory(self.config)):
                return None
        except TableError as error:
            return f"seed: {error}"

    def _connect(self) -> closing[sqlite3.Connection]:
        # A connection per lookup: lookups run on worker threads, and a SQLite connection
        # belongs to the thread that opened it. `timeout` bounds a wait for a writer's lock.
        uri = f"{self.path.resolve().as_uri()}?mode=ro"
        return closing(sqlite3.connect(uri, uri=True, timeout=self.config.timeout))

