"""A caller a route sent to a ring group (`HuntRingGroup`), or an agent transferred to one,
waiting in call control while the B2BUA rings the group's phones.

It takes the inputs call control hands a call in its IVR state, though the caller is not
answered: digits are ignored (nobody listens yet) and a hang-up ends the wait.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


class GroupWait:
    """Calls `on_gone(now)` if the caller hangs up before the group's ringing is over.
    `transferred`: an agent transferred the call to the group (it was answered)."""

    def __init__(self, group: str, on_gone: Callable[[float], None],
                 transferred: bool = False) -> None:
        self.group = group
        self.on_gone = on_gone
        self.transferred = transferred

    def digit(self, digit: str, now: float) -> None:
        """Nobody listens while the group rings."""

    def lookup_done(self, fields: Mapping[str, Any] | None, now: float) -> None:
        """The wait asks for no lookups."""

    def hang_up(self, now: float) -> None:
        self.on_gone(now)
