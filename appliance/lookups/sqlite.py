"""ACCESS DB on a SQLite file the site names: one row of a table, found by its key column."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from appliance.config.ivr import SqliteLookup
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
                row = db.execute(self._query, (key,)).fetchone()
        except sqlite3.Error as error:
            raise LookupFailed(f"{self.path}: {error}") from None
        if row is None:
            return {}
        return {name: text(value) for name, value in zip(self.config.fields, row, strict=True)}

    def check(self) -> str | None:
        """Whether the file, the table and its columns are there (the query compiles)."""
        if not self.path.is_file():
            return f"{self.path} is not a file"
        try:
            with self._connect() as db:
                db.execute(self._query + " AND 0", ("",)).fetchall()
        except sqlite3.Error as error:
            return f"{self.path}: {error}"
        return None

    def _connect(self) -> closing[sqlite3.Connection]:
        # A connection per lookup: lookups run on worker threads, and a SQLite connection
        # belongs to the thread that opened it. `timeout` bounds a wait for a writer's lock.
        uri = f"{self.path.resolve().as_uri()}?mode=ro"
        return closing(sqlite3.connect(uri, uri=True, timeout=self.config.timeout))

