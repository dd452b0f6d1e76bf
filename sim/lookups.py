"""The IVR's lookups in simulation: what an ACCESS DB node finds, and how long it takes.

A lookup the traffic section's `lookups` names answers as it says: "found" with its
probability and fields, else not found (the simulated callers' numbers are made up: a real
customer table would not know them). Otherwise a SQLite lookup is asked for real: its database
file if it exists, else a copy of its seed built in memory; any other answers with the default
`LookupAnswer`. Every answer comes after its drawn delay. Draws come from the lookup's own
streams (`lookup/<name>`, `lookup-delay/<name>`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from appliance.config import LookupAnswer
from appliance.config.ivr import SqliteLookup
from appliance.csvtable import TableError
from appliance.lookups import LookupFailed, SqliteSource
from appliance.lookups.seed import in_memory
from appliance.pbx.actions import LookUp
from sim.distributions import sampler

if TYPE_CHECKING:
    from appliance.config import Site
    from sim.clock import SimClock
    from sim.streams import Streams

Fields = dict[str, str] | None
Answer = Callable[[int, Fields], None]
"""(call, fields): {} for not found, None for a failure."""


class Lookups(Protocol):
    def look_up(self, lookup_name: str, key: str) -> Fields:
        """The fields found for `key` ({} none, None the lookup failed)."""
        ...


class SimLookups:
    """`Lookups` for a simulated site, with `delay(name)` for how long each answer takes. A
    seed is read when the lookup is first asked (a seed that cannot be built fails every
    lookup: the site's loader already refused one that cannot be read)."""

    def __init__(self, site: Site, streams: Streams) -> None:
        assert site.ivr is not None
        self.declared = site.ivr.lookups
        answers = {} if site.traffic is None else site.traffic.lookups
        self.answers = {name: answers.get(name, LookupAnswer()) for name in self.declared}
        self.found_rng = {name: streams(f"lookup/{name}") for name in self.declared}
        self.delays = {name: sampler(answer.delay, streams(f"lookup-delay/{name}"))
                       for name, answer in self.answers.items()}
        self.sources = {name: SqliteSource(lookup, Path(lookup.database))
                        for name, lookup in self.declared.items()
                        if isinstance(lookup, SqliteLookup) and name not in answers}
        # Which are asked on file is settled once: a run does not see files come and go.
        self.on_file = {name for name, source in self.sources.items() if source.path.is_file()}
        self.seeded: dict[str, sqlite3.Connection | None] = {}

    def look_up(self, lookup_name: str, key: str) -> Fields:
        source = self.sources.get(lookup_name)
        if lookup_name in self.on_file:
            assert source is not None
            return _fetch(source, key)
        if source is not None and source.config.seed is not None:
            return self._from_seed(lookup_name, source, key)
        answer = self.answers[lookup_name]
        found = self.found_rng[lookup_name].random() < answer.found
        return dict(answer.fields) if found else {}

    def delay(self, lookup_name: str) -> float:
        return self.delays[lookup_name]()

    def _from_seed(self, name: str, source: SqliteSource, key: str) -> Fields:
        if name not in self.seeded:
            try:
                self.seeded[name] = in_memory(source.config)
            except TableError:  # a key given twice, or the file changed since the load
                self.seeded[name] = None
        db = self.seeded[name]
        return None if db is None else source.find(db, key)


def _fetch(source: SqliteSource, key: str) -> Fields:
    try:
        return source.fetch(key)
    except LookupFailed:
        return None


def carry_out(lookups: SimLookups, clock: SimClock, answer: Answer) -> Callable[[LookUp], None]:
    """A handler of `LookUp` actions: the answer goes to `answer` after the lookup's delay."""

    def handle(action: LookUp) -> None:
        fields = lookups.look_up(action.lookup, action.key)
        clock.after(lookups.delay(action.lookup), lambda _event: answer(action.call, fields))

    return handle
