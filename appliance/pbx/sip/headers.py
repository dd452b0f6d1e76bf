"""SIP header fields: canonical names and an immutable ordered multi-map (RFC 3261 7.3, 20).

`Headers` holds one entry per header *value*: a Via line carrying two comma-separated
hops becomes two entries, so `get_all("Via")` is the list of hops in wire order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

# RFC 3261 7.3.3 and the extensions' own compact forms.
COMPACT_FORMS: dict[str, str] = {
    "i": "Call-ID",
    "m": "Contact",
    "e": "Content-Encoding",
    "l": "Content-Length",
    "c": "Content-Type",
    "f": "From",
    "s": "Subject",
    "k": "Supported",
    "t": "To",
    "v": "Via",
    "o": "Event",
    "r": "Refer-To",
    "b": "Referred-By",
    "x": "Session-Expires",
    "u": "Allow-Events",
}

# Names whose canonical spelling is not plain capitalisation of each hyphenated word.
_IRREGULAR_NAMES = (
    "Call-ID", "CSeq", "WWW-Authenticate", "MIME-Version", "RAck", "RSeq", "Min-SE",
    "SIP-ETag", "SIP-If-Match", "Content-ID",
)
_CANONICAL_NAMES: dict[str, str] = {name.lower(): name for name in _IRREGULAR_NAMES}

# Headers whose grammar is `#element`: a comma-separated list may be written on one line
# (RFC 3261 7.3.1). Authorization-type headers and Date contain commas but are single values.
MULTI_VALUED: frozenset[str] = frozenset({
    "Via", "Route", "Record-Route", "Contact", "Allow", "Supported", "Require",
    "Proxy-Require", "Unsupported", "Accept", "Accept-Encoding", "Accept-Language",
    "Allow-Events", "Alert-Info", "Call-Info", "Error-Info", "In-Reply-To",
    "Content-Encoding", "Content-Language", "Path", "Service-Route", "Reason", "Warning",
    "P-Asserted-Identity", "P-Preferred-Identity",
})

_TOKEN = re.compile(r"[A-Za-z0-9.!%*_+`'~-]+")


def is_token(text: str) -> bool:
    """True when `text` is a non-empty RFC 3261 token (header names, methods)."""
    return _TOKEN.fullmatch(text) is not None


def canonical_name(name: str) -> str:
    """The full, canonically spelled form of a header name, compact forms expanded.

    Unknown names are capitalised word by word ("x-my-header" -> "X-My-Header").
    """
    known = _SEEN_NAMES.get(name)
    if known is not None:
        return known
    lowered = name.lower()
    if lowered in COMPACT_FORMS:
        full = COMPACT_FORMS[lowered]
    elif lowered in _CANONICAL_NAMES:
        full = _CANONICAL_NAMES[lowered]
    else:
        full = "-".join(part.capitalize() for part in lowered.split("-"))
    # Names come from the network: remember a bounded number of spellings (and only valid
    # ones, so that a name found here needs no token check either).
    if len(_SEEN_NAMES) < 2048 and is_token(name):
        _SEEN_NAMES[name] = full
    return full


_SEEN_NAMES: dict[str, str] = {}


def split_values(value: str) -> list[str]:
    """Split a comma-separated header value, never inside a quoted string or <...>.

    Empty elements are dropped; a value with no element at all stays one empty value.
    """
    if '"' not in value and "<" not in value:  # the common case: nothing to step over
        elements = [part.strip(" \t") for part in value.split(",")]
        return [element for element in elements if element] or [""]
    parts: list[str] = []
    start = 0
    in_quotes = in_angle = escaped = False
    for index, char in enumerate(value):
        if escaped:
            escaped = False
        elif in_quotes:
            if char == "\\":
                escaped = True
            elif char == '"':
                in_quotes = False
        elif char == '"':
            in_quotes = True
        elif char == "<":
            in_angle = True
        elif char == ">":
            in_angle = False
        elif char == "," and not in_angle:
            parts.append(value[start:index])
            start = index + 1
    parts.append(value[start:])
    elements = [part.strip(" \t") for part in parts]
    return [element for element in elements if element] or [""]


def _normalise(pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    items: list[tuple[str, str]] = []
    seen = _SEEN_NAMES
    for name, value in pairs:
        full = seen.get(name)
        if full is None:
            if not is_token(name):
                raise ValueError(f"invalid header name {name!r}")
            full = canonical_name(name)
        if "\r" in value or "\n" in value:
            raise ValueError(f"line break in value of header {name!r}")
        value = value.strip(" \t")
        if full in MULTI_VALUED:
            items.extend((full, element) for element in split_values(value))
        else:
            items.append((full, value))
    return tuple(items)


def _headers_of(items: tuple[tuple[str, str], ...]) -> Headers:
    """A `Headers` around items that are already normalised (no second pass over them)."""
    headers = Headers.__new__(Headers)
    headers._items = items
    headers._index = None
    return headers


class Headers:
    """An immutable ordered multi-map of header values with case-insensitive names.

    Built from (name, value) pairs; names are stored in canonical form (compact forms
    expanded) and values of multi-valued headers are split into one entry per element.
    The "modifying" methods return a new `Headers`.
    """

    __slots__ = ("_index", "_items")

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        self._items = _normalise(pairs)
        self._index: dict[str, list[str]] | None = None

    def _by_name(self) -> dict[str, list[str]]:
        # Built on the first lookup: a message is read many times on its way through.
        index: dict[str, list[str]] = {}
        for key, value in self._items:
            values = index.get(key)
            if values is None:
                index[key] = [value]
            else:
                values.append(value)
        self._index = index
        return index

    def get(self, name: str) -> str | None:
        """The first value of `name`, or None when absent."""
        values = (self._index or self._by_name()).get(_SEEN_NAMES.get(name) or
                                                       canonical_name(name))
        return None if values is None else values[0]

    def first_repeated(self, names: Iterable[str]) -> str | None:
        """The first of `names` (canonical names) that occurs more than once, or None."""
        index = self._index or self._by_name()
        return next((name for name in names if len(index.get(name, ())) > 1), None)

    def get_all(self, name: str) -> list[str]:
        """Every value of `name` in message order (empty when absent)."""
        values = (self._index or self._by_name()).get(_SEEN_NAMES.get(name) or
                                                       canonical_name(name))
        return [] if values is None else list(values)

    def add(self, name: str, value: str) -> Headers:
        """A copy with `value` appended as the last `name` entry."""
        return _headers_of(self._items + _normalise(((name, value),)))

    def prepend(self, name: str, value: str) -> Headers:
        """A copy with `value` placed before every other entry (e.g. a new top Via)."""
        return _headers_of(_normalise(((name, value),)) + self._items)

    def remove(self, name: str) -> Headers:
        """A copy without any `name` entry."""
        wanted = canonical_name(name)
        return _headers_of(tuple(item for item in self._items if item[0] != wanted))

    def replace(self, name: str, value: str) -> Headers:
        """A copy where `value` takes the place of the first `name` entry and drops the rest.

        Appended when `name` is absent.
        """
        wanted = canonical_name(name)
        if wanted not in self:
            return self.add(name, value)
        new = _normalise(((name, value),))
        items: list[tuple[str, str]] = []
        placed = False
        for item in self._items:
            if item[0] != wanted:
                items.append(item)
            elif not placed:
                items.extend(new)
                placed = True
        return _headers_of(tuple(items))

    def names(self) -> list[str]:
        """Distinct canonical names in order of first appearance."""
        return list(dict.fromkeys(key for key, _ in self._items))

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        return canonical_name(name) in (self._index or self._by_name())

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return self._items == other._items

    def __hash__(self) -> int:
        return hash(self._items)

    def __repr__(self) -> str:
        return f"Headers({list(self._items)!r})"
