"""The callback's confirmation: the caller's number read back, 1 to confirm, 2 to key another.

A small built-in dialogue rather than a flow of the site's: it speaks the queue's fixed
callback prompts, logs no IVR records (the call is still waiting in its queue, and an IVR
record would count it as served by the IVR) and takes the inputs call control hands an IVR
call. Its prompts are timed by `prompt_seconds` and may be cut short by a key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from appliance.clock import Deadlines, TimerHandle
from appliance.pbx.actions import PlayPrompts, StopPrompts
from appliance.pbx.ivr.run import PromptSeconds, Speaker

INPUT_TIMEOUT = 6.0
"""Seconds the caller has to press a key after the prompts (and between the digits)."""
TRIES = 3
"""Prompts played without an answer before the caller is left to wait on."""
MAX_DIGITS = 20

Confirmed = Callable[[str, float], None]
"""(number, now): the caller confirmed the number to call back."""
Dropped = Callable[[float], None]
"""(now): the caller did not confirm; they wait on in the queue."""


class CallbackConfirm:
    """Asks the caller on `call` to confirm `number` (to key one first, if it is empty) and
    calls `on_confirmed` or `on_dropped` once; nothing after `hang_up` or `stop`."""

    def __init__(self, call: int, number: str, language: str, *, deadlines: Deadlines,
                 prompt_seconds: PromptSeconds, speaker: Speaker, outbox: list[Any],
                 on_confirmed: Confirmed, on_dropped: Dropped) -> None:
        self.call = call
        self.number = number
        self.language = language
        self.deadlines = deadlines
        self.prompt_seconds = prompt_seconds
        self.speaker = speaker
        self.outbox = outbox
        self.on_confirmed = on_confirmed
        self.on_dropped = on_dropped
        self.entering = False  # keying a number in, rather than answering 1 or 2
        self.typed = ""
        self.tries = 0
        self._prompts_end = 0.0
        self._timer: TimerHandle | None = None

    def start(self, now: float) -> None:
        # A calling number that is no number (anonymous, a name) cannot be called back.
        if self.number.isascii() and self.number.isdigit():
            self._read_back(now)
        else:
            self._ask_number(now)

    def _read_back(self, now: float) -> None:
        self.entering = False
        spoken = self.speaker(self.number, "digits", self.language)
        self._play(("callback-number", *spoken, "callback-confirm"), now)

    def _ask_number(self, now: float) -> None:
        self.entering, self.typed = True, ""
        self._play(("callback-enter",), now)

    def _play(self, names: tuple[str, ...], now: float) -> None:
        self.outbox.append(PlayPrompts(self.call, names, self.language, True))
        self._prompts_end = now + self.prompt_seconds(names, self.language)
        self._wait_until(self._prompts_end + INPUT_TIMEOUT)

    def _wait_until(self, when: float) -> None:
        self.stop()
        self._timer = self.deadlines.schedule(when, self._timed_out)

    def digit(self, digit: str, now: float) -> None:
        """A key: 1 or 2 after the read-back; digits then # while keying a number."""
        if now < self._prompts_end:
            self._prompts_end = now
            self.outbox.append(StopPrompts(self.call))
        if self.entering:
            self._key(digit, now)
        elif digit == "1":
            self.stop()
            self.on_confirmed(self.number, now)
        elif digit == "2":
            self._ask_number(now)

    def _key(self, digit: str, now: float) -> None:
        if digit == "#" and self.typed:
            self.number, self.tries = self.typed, 0
            self._read_back(now)
        elif digit.isdigit() and len(self.typed) < MAX_DIGITS:
            self.typed += digit
            self._wait_until(now + INPUT_TIMEOUT)

    def lookup_done(self, fields: Mapping[str, Any] | None, now: float) -> None:
        """The confirmation asks for no lookups."""

    def hang_up(self, now: float) -> None:
        """The caller hung up: call control ends the call; nothing is reported."""
        self.stop()

    def stop(self) -> None:
        """Stop waiting for keys (an agent took the call, or the caller left)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _timed_out(self, now: float) -> None:
        self._timer = None
        self.tries += 1
        if self.tries >= TRIES:
            self.on_dropped(now)
        elif self.entering and not self.typed:
            self._ask_number(now)
        elif self.entering:
            self._key("#", now)  # keyed, then silence: take what was keyed
        else:
            self._read_back(now)
