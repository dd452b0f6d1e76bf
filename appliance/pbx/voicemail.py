"""Leaving a message: the caller hears the mailbox's greeting and a beep, then is recorded until
they press "#", hang up, or the box's maximum length is reached.

Like `Farewell`, this takes the inputs call control hands an IVR call (`digit`, `hang_up`,
`lookup_done`), so the call waits in the IVR state while the appliance speaks to it and
records it. It times the greeting by `prompt_seconds` and the beep by `BEEP_SECONDS`; what is
recorded, and whether it is kept, is the driver's (`RecordMessage`, `StopMessage`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from appliance.clock import Deadlines, TimerHandle
from appliance.eventlog import EventLog
from appliance.events import VoicemailRecording, new
from appliance.media.prompts import BEEP, BEEP_SECONDS
from appliance.pbx.actions import PlayPrompts, RecordMessage, StopMessage
from appliance.pbx.ivr.run import PromptSeconds

END_KEY = "#"

Ended = Callable[[bool, float], None]
"""(caller_gone, now): the deposit is over; the caller hung up (True) or is still on."""


class Deposit:
    """Takes a message for `mailbox` from `call` from `start` on, then calls `on_end` once."""

    def __init__(self, call: int, mailbox: str, greeting: str, max_seconds: float,
                 language: str, *, deadlines: Deadlines, prompt_seconds: PromptSeconds,
                 outbox: list[Any], log: EventLog, on_end: Ended) -> None:
        self.call = call
        self.mailbox = mailbox
        self.greeting = greeting
        self.max_seconds = max_seconds
        self.language = language
        self.deadlines = deadlines
        self.prompt_seconds = prompt_seconds
        self.outbox = outbox
        self.log = log
        self.on_end = on_end
        self.recording = False
        self._timer: TimerHandle | None = None

    def start(self, now: float) -> None:
        """The greeting and the beep play; recording starts when they end."""
        self.outbox.append(PlayPrompts(self.call, (self.greeting, BEEP), self.language, False))
        seconds = self.prompt_seconds((self.greeting,), self.language) + BEEP_SECONDS
        self._timer = self.deadlines.schedule(now + seconds, self._record)

    def _record(self, now: float) -> None:
        self.recording = True
        self.log.append(new(VoicemailRecording, (now, self.call, self.mailbox)))
        self.outbox.append(RecordMessage(self.call, self.mailbox, self.max_seconds))
        self._timer = self.deadlines.schedule(now + self.max_seconds, self._full)

    def _full(self, now: float) -> None:
        self._timer = None
        self._stop(False, now)

    def digit(self, digit: str, now: float) -> None:
        """"#" while recording ends the message; keys during the greeting are ignored."""
        if digit == END_KEY and self.recording:
            self._stop(False, now)

    def lookup_done(self, fields: Mapping[str, Any] | None, now: float) -> None:
        """A deposit asks for no lookups."""

    def hang_up(self, now: float) -> None:
        """The caller hung up: during the greeting no message is taken."""
        self._stop(True, now)

    def _stop(self, caller_gone: bool, now: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.recording:
            self.recording = False
            self.outbox.append(StopMessage(self.call, self.mailbox))
        self.on_end(caller_gone, now)
