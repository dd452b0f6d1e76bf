"""The append-only event log, and its JSON-lines form.

Cores append records; readers (KPIs, detail records, the live console) read the
list or subscribe to new records. The JSON-lines form is canonical: the same
records always give the same bytes, so two runs can be compared with ``cmp``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Iterator
from enum import Enum
from typing import IO, Protocol, get_type_hints

from appliance.events import RECORD_TYPES, Record

Subscriber = Callable[[Record], None]


class Durability(Protocol):
    """What makes a log's records durable (the record store), as a core sees it."""

    def mark(self) -> int:
        """A number for every record appended so far, larger than any before it. Whoever
        drives the core tells it when the records up to a mark are durable."""
        ...


class EventLog:
    """An in-memory, append-only list of records with optional subscribers."""

    __slots__ = ("_retain", "_routes", "_subscribers", "append", "durability", "records")

    def __init__(self, retain: bool = True) -> None:
        """``retain=False`` keeps nothing in memory and only feeds subscribers: the live
        appliance runs for months and its records go to the record store."""
        self.records: list[Record] = []
        self._subscribers: list[tuple[Subscriber, Collection[type] | None]] = []
        self._routes = _Routes(())
        self._retain = retain
        # None: records are as durable when appended as they will ever be (simulation).
        self.durability: Durability | None = None
        # With no subscriber, appending is the list's own append: the hot path
        # of a simulation writes millions of records.
        self.append: Callable[[Record], None] = (
            self.records.append if retain else self._subscribers_only
        )

    def subscribe(self, subscriber: Subscriber,
                  kinds: Collection[type[Record]] | None = None) -> None:
        """Call ``subscriber`` with every record appended from now on, or with those of the
        types ``kinds`` only: the others then cost it nothing. Subscribers hear a record in
        the order they subscribed."""
        self._subscribers.append((subscriber, None if kinds is None else frozenset(kinds)))
        self._routes = _Routes(tuple(self._subscribers))
        if self._retain:
            self.append = self._append_and_notify
        elif len(self._subscribers) == 1 and kinds is None:
            self.append = subscriber
        else:
            self.append = self._subscribers_only

    def _append_and_notify(self, record: Record) -> None:
        self.records.append(record)
        for subscriber in self._routes[type(record)]:
            subscriber(record)

    def _subscribers_only(self, record: Record) -> None:
        for subscriber in self._routes[type(record)]:
            subscriber(record)

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)


class _Routes(dict[type, tuple[Subscriber, ...]]):
    """The subscribers of each type of record, worked out the first time one is appended."""

    def __init__(self, subscribers: tuple[tuple[Subscriber, Collection[type] | None], ...]
                 ) -> None:
        super().__init__()
        self._subscribers = subscribers

    def __missing__(self, kind: type) -> tuple[Subscriber, ...]:
        heard = self[kind] = tuple(subscriber for subscriber, kinds in self._subscribers
                                   if kinds is None or kind in kinds)
        return heard


# One encoder for every record: json.dumps with options builds a new one on each call.
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def record_to_json(record: Record) -> str:
    fields = {"type": type(record).__name__}
    for name, value in zip(record._fields, record, strict=True):
        fields[name] = value.value if isinstance(value, Enum) else value
    return _ENCODE(fields)


def record_from_json(line: str) -> Record:
    fields = json.loads(line)
    name = fields.pop("type")
    # Enum-typed fields come back as their plain values; rebuild the enums.
    for field_name, value in fields.items():
        enum_type = _ENUM_FIELDS.get((name, field_name))
        if enum_type is not None:
            fields[field_name] = enum_type(value)
    return RECORD_TYPES[name](**fields)


def write_jsonl(records: Iterable[Record], out: IO[str]) -> None:
    for record in records:
        out.write(record_to_json(record))
        out.write("\n")


def read_jsonl(lines: Iterable[str]) -> list[Record]:
    return [record_from_json(line) for line in lines if line.strip()]


def _enum_fields() -> dict[tuple[str, str], type[Enum]]:
    found: dict[tuple[str, str], type[Enum]] = {}
    for name, cls in RECORD_TYPES.items():
        for field_name, hint in get_type_hints(cls).items():
            if isinstance(hint, type) and issubclass(hint, Enum):
                found[(name, field_name)] = hint
    return found


_ENUM_FIELDS = _enum_fields()
