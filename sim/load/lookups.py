"""The IVR's lookups of the lab site: tables that answer the load's callers as the
simulation's lookups do.

In simulation a lookup named in `traffic.lookups` finds a caller with probability `found`,
then with its `fields` (`sim.lookups`): the callers' numbers are made up, and the site's
real table would know none of them. The box asks its SQLite table for real, so the lab site
gets a table of its own, built from a CSV written beside the lab site: each of the callers'
numbers is in it with probability `found`, with those fields. The draw is per number, not per
call as in simulation: a caller who tries again is found again, as with a real table.
Lookups of other kinds (HTTP) keep the site's own.
"""

from __future__ import annotations

import csv
from pathlib import Path
from random import Random
from typing import Any

from appliance.config import LookupAnswer, Site
from appliance.config.ivr import SqliteLookup

FIRST_NUMBER = 1_000_000_000  # the simulated callers' numbers: "1" and nine digits


def lab_lookups(site: Site, folder: Path) -> dict[str, Any]:
    """`site.ivr.lookups` as data, each SQLite lookup `traffic.lookups` names seeded from a
    CSV of the callers' numbers written into `folder` (database `lab-NAME.sqlite`)."""
    assert site.ivr is not None
    traffic = site.traffic
    answers = {} if traffic is None else traffic.lookups
    callers = 0 if traffic is None else max((t.callers for t in traffic.call_types), default=0)
    lookups = {}
    for name, lookup in site.ivr.lookups.items():
        data = lookup.model_dump(mode="json")
        answer = answers.get(name)
        if isinstance(lookup, SqliteLookup) and answer is not None:
            seed = folder / f"lab-{name}.csv"
            write_table(seed, lookup, answer, callers, Random(f"lab-lookup/{name}"))
            data.update(database=f"lab-{name}.sqlite", seed=str(seed.absolute()))
        lookups[name] = data
    return lookups


def write_table(path: Path, lookup: SqliteLookup, answer: LookupAnswer, callers: int,
                rng: Random) -> None:
    """The CSV of `callers` numbers' rows, each there with probability `answer.found`."""
    fields = [answer.fields.get(field, "") for field in lookup.fields]
    with path.open("w", newline="") as out:
        table = csv.writer(out)
        table.writerow([lookup.key, *lookup.fields])
        for index in range(callers):
            if rng.random() < answer.found:
                table.writerow([str(FIRST_NUMBER + index), *fields])
