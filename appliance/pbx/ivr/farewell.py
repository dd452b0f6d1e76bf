"""A prompt played to an answered caller before the appliance hangs up: a route's closed
prompt (`prompt: closed`).

Not a flow: nothing is logged here (the call's records say where it went and how it ended,
and an IVR record would count it as served by the IVR). It takes the inputs call control
hands an IVR call, so the call waits in the IVR state like any caller the appliance speaks
to: the prompt is timed by `prompt_seconds`, exactly as a flow's; digits and lookup answers
are ignored; a hang-up ends it at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from appliance.clock import Deadlines, TimerHandle
from appliance.pbx.actions import PlayPrompts
from appliance.pbx.ivr.run import PromptSeconds

Ended = Callable[[bool, float], None]
"""(caller_gone, now): the prompt has played to its end (False) or the caller hung up (True)."""


class Farewell:
    """Plays `prompt` in `language` to `call` from `start` on, then calls `on_end` once."""

    def __init__(self, call: int, prompt: str, language: str, *, deadlines: Deadlines,
                 prompt_seconds: PromptSeconds, outbox: list[Any], on_end: Ended) -> None:
        self.call = call
        self.prompt = prompt
        self.language = language
        self.deadlines = deadlines
        self.prompt_seconds = prompt_seconds
        self.outbox = outbox
        self.on_end = on_end
        self._timer: TimerHandle | None = None

    def start(self, now: float) -> None:
        names = (self.prompt,)
        self.outbox.append(PlayPrompts(self.call, names, self.language, False))
        seconds = self.prompt_seconds(names, self.language)
        self._timer = self.deadlines.schedule(now + seconds, self._played)

    def digit(self, digit: str, now: float) -> None:
        """Keys do not cut a closed prompt short."""

    def lookup_done(self, fields: Mapping[str, Any] | None, now: float) -> None:
        """A farewell asks for no lookups."""

    def hang_up(self, now: float) -> None:
        """The caller hung up during the prompt."""
        self._stop(True, now)

    def _played(self, now: float) -> None:
        self._timer = None
        self._stop(False, now)

    def _stop(self, caller_gone: bool, now: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.on_end(caller_gone, now)
