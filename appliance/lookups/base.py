"""What every lookup answers, and the protocol the drivers call."""

from __future__ import annotations

from typing import Protocol

Fields = dict[str, str] | None
"""The fields found ({} when nothing was found), or None when the lookup failed."""


class LookupFailed(Exception):
    """One lookup could not be answered (unreachable, too slow, a bad answer); the message
    says why, for the log."""


class Lookups(Protocol):
    """The site's lookups by name. `look_up` blocks until the answer or the lookup's own time
    limit; it never raises for a lookup that fails (that is None)."""

    def look_up(self, name: str, key: str) -> Fields: ...


class Source(Protocol):
    """One configured lookup: raises LookupFailed when it cannot answer."""

    def fetch(self, key: str) -> dict[str, str]: ...

    def check(self) -> str | None:
        """What keeps this lookup from ever working (checked at start), or None."""
        ...


def text(value: object) -> str:
    """A field's value as the IVR's variables hold it: text, "" for a missing value."""
    if value is None:
        return ""
    if isinstance(value, bool):  # JSON true/false, as a flow would compare them
        return "1" if value else "0"
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
