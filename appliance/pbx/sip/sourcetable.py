"""A bounded table of what a limit keeps per source, sans-I/O.

The request limit keeps a bucket per source address and the authentication limits a failure
count per address and per user. Whoever floods the box picks how many keys it sends, so each
table holds at most `max_tracked` of them: adding one beyond drops the least recently active.
"Active" is what the owner says it is (`add` and `mark_active`): a limit marks a key active on each
request it counts, so a key that keeps flooding stays in, and a flood from other keys cannot
push it out.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def check_max_tracked(max_tracked: int) -> None:
    """Raise ValueError unless a table may hold `max_tracked` keys (settings call it)."""
    if max_tracked < 1:
        raise ValueError(f"max_tracked must be at least 1; got {max_tracked}")


class SourceTable(Generic[K, V]):
    """Values by key, least recently active first, at most `max_tracked` of them.

    `max_tracked` may be changed at any time; a smaller bound takes effect at the next `add`.
    Reading (`get`, `oldest`, iteration) never changes the order.
    """

    __slots__ = ("_entries", "max_tracked")

    def __init__(self, max_tracked: int) -> None:
        check_max_tracked(max_tracked)
        self.max_tracked = max_tracked
        self._entries: OrderedDict[K, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def values(self) -> Iterator[V]:
        """The values, least recently active first."""
        return iter(self._entries.values())

    def get(self, key: K) -> V | None:
        return self._entries.get(key)

    def oldest(self) -> tuple[K, V] | None:
        """The least recently active key and its value, or None when the table is empty."""
        return next(iter(self._entries.items()), None)

    def add(self, key: K, value: V) -> V:
        """Set `key` to `value`, now the most recently active; the least recently active
        keys beyond `max_tracked` are dropped (never `key` itself). Returns `value`."""
        entries = self._entries
        entries[key] = value
        entries.move_to_end(key)
        while len(entries) > self.max_tracked:
            entries.popitem(last=False)
        return value

    def mark_active(self, key: K) -> None:
        """`key` (which must be in the table) is now the most recently active."""
        self._entries.move_to_end(key)

    def discard(self, key: K) -> None:
        """Forget `key`, if it is there."""
        self._entries.pop(key, None)
