"""The door of a conference room for a caller an IVR exit sends in (`ToConference` with
`ask_pin`): they key in the room's PIN, ended by # or by the PIN's length, as a phone dialling
the room does; after `PIN_TRIES` wrong tries they are turned away.

It takes the inputs call control hands an IVR call, so the caller waits in the IVR state,
answered. Nothing is played (a phone at the room's door hears nothing either) and nothing is
logged: the keys are a PIN's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

PIN_TRIES = 3

Ended = Callable[[bool, bool, float], None]
"""(admitted, caller_gone, now): the PIN was right (True, False), wrong `PIN_TRIES` times
(False, False), or the caller hung up at the door (False, True)."""


class RoomPin:
    """Waits for `pin`, then calls `on_end` once."""

    def __init__(self, pin: str, on_end: Ended) -> None:
        self.pin = pin
        self.on_end = on_end
        self.keyed = ""
        self.tries = 0

    def digit(self, digit: str, now: float) -> None:
        if digit != "#":
            self.keyed += digit
        if digit == "#" or len(self.keyed) >= len(self.pin):
            self._try(now)

    def lookup_done(self, fields: Mapping[str, Any] | None, now: float) -> None:
        """The door asks for no lookups."""

    def hang_up(self, now: float) -> None:
        self.on_end(False, True, now)

    def _try(self, now: float) -> None:
        if self.keyed == self.pin:
            self.on_end(True, False, now)
            return
        self.keyed, self.tries = "", self.tries + 1
        if self.tries >= PIN_TRIES:
            self.on_end(False, False, now)
