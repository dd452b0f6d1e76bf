"""ACCESS DB lookups on the box: a site's `ivr.lookups`, carried out against a SQLite file or
an HTTP service.

The IVR core only asks (`LookUp(call, lookup, key)`) and is answered (`lookup_done`); this
package does the asking. Every lookup blocks until it has its answer or its time limit has
passed, so the live driver runs it off the event loop.
"""

from __future__ import annotations

from appliance.lookups.base import Fields, LookupFailed, Lookups
from appliance.lookups.http import HttpSource
from appliance.lookups.site import SeedError, SiteLookups
from appliance.lookups.sqlite import SqliteSource

__all__ = ["Fields", "HttpSource", "LookupFailed", "Lookups", "SeedError", "SiteLookups",
           "SqliteSource"]
