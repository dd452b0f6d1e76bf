"""In-call feature codes: the keys an agent presses during a customer's call, read into
commands (blind or attended transfer with a target, park, hold, and while consulting abort,
complete, three-way and swap).

Clock-free, one parser per agent leg: `digit(key, now, consulting)` takes each key and
returns the command it completes, if any; a code with a target collects digits until `#`
or until `next_deadline()` passes without a key, when `on_deadline(now)` gives the command.
Keys that start no code are dropped (they reach the log, not a command); a half-keyed code
is forgotten at the deadline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

WITH_TARGET = frozenset({"blind", "attended", "flash"})  # keyed with a target, then `#`
# A flash's target is optional: a flash alone (then `#` or a pause) is a command of its own.
OPTIONAL_TARGET = frozenset({"flash"})
END = "#"


@dataclass(frozen=True, slots=True)
class Command:
    """What the agent keyed: `kind` (blind, attended, park, hold, abort, complete,
    three_way, swap, flash) and, for a transfer, the `target` as keyed (digits and `*`); a
    flash's target may be empty."""

    kind: str
    target: str = ""


class KeyParser:
    """`talking` and `consulting`: the command of each code (`InCallCodes.talking()` and
    `.consulting()`), each set prefix-free; `timeout`: seconds a half-keyed code or target
    waits for its next key."""

    def __init__(self, talking: Mapping[str, str], consulting: Mapping[str, str],
                 timeout: float) -> None:
        self.codes = {False: dict(talking), True: dict(consulting)}
        self.timeout = timeout
        self.keyed = ""  # the code keyed so far
        self.command = ""  # a command waiting for its target, once its code is keyed
        self.target = ""
        self.deadline: float | None = None

    def digit(self, key: str, now: float, consulting: bool = False) -> Command | None:
        """One key at `now`; the command it completes, if any. `consulting`: the agent is
        consulting a colleague, so only that mode's codes count."""
        if self.command:
            return self._target_key(key, now)
        codes = self.codes[consulting]
        self.keyed += key
        if not any(code.startswith(self.keyed) for code in codes):
            # No code goes on this way; the key may still start one.
            self.keyed = key if any(code.startswith(key) for code in codes) else ""
        kind = codes.get(self.keyed)
        self.deadline = now + self.timeout if self.keyed else None
        if kind is None:
            return None
        self.keyed = ""
        if kind in WITH_TARGET:
            self.command = kind
            return None
        self.deadline = None
        return Command(kind)

    def _target_key(self, key: str, now: float) -> Command | None:
        if key != END:
            self.target += key
            self.deadline = now + self.timeout
            return None
        return self._finish()

    def next_deadline(self) -> float | None:
        """When a half-keyed code is forgotten or a target taken as complete; None: nothing
        keyed."""
        return self.deadline

    def on_deadline(self, now: float) -> Command | None:
        """The deadline passed without a key: the transfer to the target keyed so far, if
        any; else the half-keyed code is forgotten."""
        if self.deadline is None or now < self.deadline:
            return None
        self.keyed = ""
        if self.command:
            return self._finish()
        self.deadline = None
        return None

    def _finish(self) -> Command | None:
        """The transfer with the target keyed; None for an empty target (the agent changed
        their mind), but for a flash, which needs none."""
        wanted = self.target or self.command in OPTIONAL_TARGET
        command = Command(self.command, self.target) if wanted else None
        self.command = self.target = ""
        self.deadline = None
        return command
