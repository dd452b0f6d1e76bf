"""The IVR's lookups in simulation: what an ACCESS DB node finds, and how long it takes.

A SQLite lookup whose database file exists is asked for real; any other (a missing file, an
HTTP lookup) answers as the traffic section's `lookups` says: "found" with its probability
and fields, else not found. Every answer comes after its drawn delay. Draws come from the
lookup's own streams (`lookup/<name>`, `lookup-delay/<name>`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from appliance.config import LookupAnswer
from appliance.config.ivr import SqliteLookup
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
    """`Lookups` for a simulated site, with `delay(name)` for how long each answer takes."""

    def __init__(self, site: Site, streams: Streams) -> None:
        assert site.ivr is not None
        self.declared = site.ivr.lookups
        answers = {} if site.traffic is None else site.traffic.lookups
        self.answers = {name: answers.get(name, LookupAnswer()) for name in self.declared}
        self.found_rng = {name: streams(f"lookup/{name}") for name in self.declared}
        self.delays = {name: sampler(answer.delay, streams(f"lookup-delay/{name}"))
                       for name, answer in self.answers.items()}
        # Which are asked for real is settled once: a run does not see files come and go.
        self.on_file = {name: lookup for name, lookup in self.declared.items()
                        if isinstance(lookup, SqliteLookup) and Path(lookup.database).is_file()}

    def look_up(self, lookup_name: str, key: str) -> Fields:
        lookup = self.on_file.get(lookup_name)
        if lookup is not None:
            return _from_sqlite(lookup, key)
        answer = self.answers[lookup_name]
        found = self.found_rng[lookup_name].random() < answer.found
        return dict(answer.fields) if found else {}

    def delay(self, lookup_name: str) -> float:
        return self.delays[lookup_name]()


def _from_sqlite(lookup: SqliteLookup, key: str) -> Fields:
    columns = ", ".join(f'"{field}"' for field in lookup.fields)
    query = f'SELECT {columns} FROM "{lookup.table}" WHERE "{lookup.key}" = ? LIMIT 1'
    try:
        with sqlite3.connect(f"file:{lookup.database}?mode=ro", uri=True) as db:
            row = db.execute(query, (key,)).fetchone()
    except sqlite3.Error:
        return None
    if row is None:
        return {}
    return {field: "" if value is None else str(value)
            for field, value in zip(lookup.fields, row, strict=True)}


def carry_out(lookups: SimLookups, clock: SimClock, answer: Answer) -> Callable[[LookUp], None]:
    """A handler of `LookUp` actions: the answer goes to `answer` after the lookup's delay."""

    def handle(action: LookUp) -> None:
        fields = lookups.look_up(action.lookup, action.key)
        clock.after(lookups.delay(action.lookup), lambda _event: answer(action.call, fields))

    return handle
