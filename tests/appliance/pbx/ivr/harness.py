"""Drives one FlowRun with a manual clock, a fake speaker and prompts of 2 s each."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from appliance.clock import Deadlines
from appliance.config.ivr import Ivr
from appliance.eventlog import EventLog
from appliance.events import IvrDigits, IvrNodeEntered
from appliance.pbx.ivr import FlowRun
from appliance.wallclock import from_origin

PROMPT_SECONDS = 2.0
ORIGIN = datetime(2026, 3, 2, 9, 30, 0)


def prompt_seconds(names: Sequence[str], language: str) -> float:
    return PROMPT_SECONDS * len(names)


def speaker(value: str, say_as: str, language: str) -> list[str]:
    """Digit by digit, `say_as` and `language` in each name; only digit strings."""
    if not value.isdigit():
        raise ValueError(f"cannot speak {value!r}")
    return [f"{language}-{say_as}-{digit}" for digit in value]


def make_ivr(data: dict[str, Any]) -> Ivr:
    return Ivr.model_validate(data)


class Harness:
    def __init__(self, ivr: Ivr | dict[str, Any], flow: str = "main", *,
                 ani: str = "13800138000", dnis: str = "4008001234") -> None:
        self.ivr = ivr if isinstance(ivr, Ivr) else make_ivr(ivr)
        self.deadlines = Deadlines()
        self.outbox: list[Any] = []
        self.log = EventLog()
        self.now = 0.0
        self.run = FlowRun(1, self.ivr, flow, ani=ani, dnis=dnis, clock=from_origin(ORIGIN),
                           deadlines=self.deadlines, prompt_seconds=prompt_seconds,
                           speaker=speaker, outbox=self.outbox, log=self.log)

    def start(self) -> Harness:
        self.run.start(self.now)
        return self

    def wait(self, seconds: float) -> Harness:
        """Let `seconds` pass, firing the run's timers at their own times."""
        until = self.now + seconds
        while (when := self.deadlines.next_deadline()) is not None and when <= until:
            self.now = when
            self.deadlines.run_due(when)
        self.now = until
        return self

    def press(self, keys: str, gap: float = 0.0) -> Harness:
        for key in keys:
            self.run.digit(key, self.now)
            self.wait(gap)
        return self

    def finish(self, most_timers: int = 10_000) -> Harness:
        """Silence until no timer is left; a run still going after `most_timers` timers is
        taken for a trapped caller."""
        for _ in range(most_timers):
            when = self.deadlines.next_deadline()
            if when is None:
                return self
            self.now = when
            self.deadlines.run_due(when)
        raise AssertionError(f"the run is still going at t={self.now} after {most_timers} timers")

    def path(self) -> list[str]:
        return [r.node for r in self.log.records if isinstance(r, IvrNodeEntered)]

    def tries(self) -> list[tuple[float, str, str]]:
        return [(r.t, r.digits, r.ended_by) for r in self.log.records if isinstance(r, IvrDigits)]

    def actions(self, kind: type) -> list[Any]:
        return [action for action in self.outbox if isinstance(action, kind)]
