"""Durable records: call detail records built from the event log, stored in SQLite.

``CdrBuilder`` turns the event log into one ``CallDetail`` per call (a pure
core, no clock); ``RecordStore`` writes a run's events and detail records to
an SQLite database in WAL mode from a background thread; ``RecordReader``
reads them back.
"""

from appliance.records.cdr import CallDetail, CdrBuilder, call_details
from appliance.records.store import SCHEMA, RecordReader, RecordStore

__all__ = ["SCHEMA", "CallDetail", "CdrBuilder", "RecordReader", "RecordStore", "call_details"]
