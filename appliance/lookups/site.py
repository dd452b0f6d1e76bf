"""A site's lookups, built from its `ivr.lookups`: what the live driver asks."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping

from appliance.config.ivr import HttpLookup, Ivr, SqliteLookup
from appliance.csvtable import TableError
from appliance.lookups import seed
from appliance.lookups.base import Fields, LookupFailed, Source
from appliance.lookups.http import HttpSource
from appliance.lookups.sqlite import SqliteSource
from appliance.state import StateFolder

_log = logging.getLogger(__name__)


class SiteLookups:
    """Satisfies `Lookups`. A SQLite database named by a relative path is under the state
    folder, as every file the site names; one that is not there but has a seed is no problem,
    `create_missing` builds it. Thread-safe: each lookup works on its own."""

    def __init__(self, ivr: Ivr | None, state: StateFolder) -> None:
        configured = {} if ivr is None else ivr.lookups
        self.sources: Mapping[str, Source] = {
            name: _source(config, state) for name, config in configured.items()}

    def look_up(self, name: str, key: str) -> Fields:
        """The fields found for `key`, {} for none, None (logged once) for a failure."""
        source = self.sources.get(name)
        if source is None:
            _log.error("lookup %s: no such lookup in the site", name)
            return None
        try:
            return source.fetch(key)
        except LookupFailed as error:
            _log.warning("lookup %s of %r failed: %s", name, key, error)
            return None

    def create_missing(self) -> None:
        """Build each SQLite database that is not there from its seed (logged); a database
        that exists is never touched. SeedError for the first that cannot be built, with no
        file left at its path."""
        for name, source in self.sources.items():
            if isinstance(source, SqliteSource) and source.awaits_seed:
                _create(name, source)

    def problems(self) -> list[tuple[str, str]]:
        """(field path, message) for each lookup that cannot work: `ccbox check` and the
        start refuse the site rather than fail every caller at their first lookup."""
        return [(f"ivr.lookups.{name}", problem) for name, source in self.sources.items()
                if (problem := source.check()) is not None]


class SeedError(Exception):
    """A lookup's database could not be built from its seed: `where` is the lookup's field
    path, `message` says why."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


def _create(name: str, source: SqliteSource) -> None:
    try:
        count = seed.create(source.config, source.path)
    except (TableError, OSError, sqlite3.Error) as error:
        raise SeedError(f"ivr.lookups.{name}",
                        f"cannot build {source.path} from its seed: {error}") from None
    _log.info("lookup %s: created %s from %s (%d rows)", name, source.path,
              source.config.seed, count)


def _source(config: SqliteLookup | HttpLookup, state: StateFolder) -> Source:
    if isinstance(config, SqliteLookup):
        return SqliteSource(config, state.resolve(config.database))
    return HttpSource(config)
