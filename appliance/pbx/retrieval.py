"""Listening to voicemail by phone: the menu a phone hears after dialling the retrieval code.

A clock-free state machine. Its inputs are the keys pressed (`key`) and `timeout`, which the
driver gives once what was played has ended and the caller has then said nothing for a while
(for a message: once its audio has ended). Each input returns what to do, in order: prompts
to play (`Say`), a message to play (`PlayMessage`), a status to give a message (`SetStatus`)
and the end (`HangUp`).

The caller first names the box (`ask_box`: the "any box" code) and then enters its PIN, each
ended by "#" ("*" starts the entry again). Three wrong entries, or three silences at one
question, end the call. Once in, they hear "you have N new messages" and the messages, new
first; after each, 7 deletes it, 9 saves it (it is old from then on), 1 plays it again and #
goes on to the next one (it keeps its status); a key while a message plays acts at once.
The driver ends a call that goes on too long with `time_up`: "time is up", goodbye, the end.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from enum import Enum
from typing import NamedTuple

from appliance.media.speech import say

MAX_TRIES = 3  # wrong PINs (or box numbers) before the call ends
MAX_SILENCES = 3  # timeouts in a row at one question before the call ends
MAX_ENTRY = 20  # digits kept of one entry

ASK_BOX = ("vm-enter-box",)
ASK_PIN = ("vm-enter-pin",)
MENU = ("vm-menu",)
GOODBYE = ("goodbye",)
TIME_UP = ("vm-time-up",)


class Say(NamedTuple):
    """Play these prompts (in the call's language), after anything already playing."""

    prompts: tuple[str, ...]


class PlayMessage(NamedTuple):
    """Play the audio of message `index` (of the box's list, as given)."""

    index: int


class SetStatus(NamedTuple):
    """Message `index` is now `status`: "old" (saved) or "deleted"."""

    index: int
    status: str


class HangUp(NamedTuple):
    """End the call."""


Effect = Say | PlayMessage | SetStatus | HangUp


class Step(Enum):
    BOX = "box"  # entering a box number
    PIN = "pin"  # entering the PIN
    MESSAGE = "message"  # a message plays
    MENU = "menu"  # after a message: waiting for 7, 9, 1 or #
    DONE = "done"


class Box(NamedTuple):
    """A mailbox as retrieval sees it: its name and PIN."""

    name: str
    pin: str


Listing = Callable[[str], Sequence[str]]
"""Box name -> the statuses ("new" or "old") of its messages, in the order they play."""


class Retrieval:
    """One caller listening to a mailbox: `box` theirs, or None to ask for a box number
    (looked up in `boxes`, by number). `language` speaks the count."""

    def __init__(self, box: Box | None, boxes: Mapping[str, Box], listing: Listing,
                 language: str = "en") -> None:
        self.box = box
        self.boxes = boxes
        self.listing = listing
        self.language = language
        self.any_box = box is None
        self.step = Step.PIN if box is not None else Step.BOX
        self.entry = ""
        self.tries = 0
        self.silences = 0
        self.statuses: list[str] = []
        self.index = 0

    @property
    def done(self) -> bool:
        return self.step is Step.DONE

    def start(self) -> list[Effect]:
        """What the caller hears first: the question for the box or the PIN."""
        return [Say(self._question())]

    def key(self, digit: str) -> list[Effect]:
        """The caller pressed `digit` (0-9, *, #)."""
        self.silences = 0
        if self.step in (Step.BOX, Step.PIN):
            return self._entry_key(digit)
        if self.step in (Step.MESSAGE, Step.MENU):
            return self._menu_key(digit)
        return []

    def timeout(self) -> list[Effect]:
        """What played has ended and the caller pressed nothing since (a message: its audio
        has ended)."""
        if self.step is Step.MESSAGE:
            self.step = Step.MENU
            return [Say(MENU)]
        if self.step is Step.DONE:
            return []
        self.silences += 1
        if self.silences >= MAX_SILENCES:
            return self._goodbye()
        self.entry = ""
        return [Say(self._question())]

    def time_up(self) -> list[Effect]:
        """The call has lasted the longest a retrieval may: say so and end it (nothing for
        a call already ending). A status set so far stays set."""
        if self.step is Step.DONE:
            return []
        return [Say(TIME_UP), *self._goodbye()]

    # --- the box and the PIN ------------------------------------------------------------------

    def _question(self) -> tuple[str, ...]:
        return {Step.BOX: ASK_BOX, Step.PIN: ASK_PIN}.get(self.step, MENU)

    def _entry_key(self, digit: str) -> list[Effect]:
        if digit == "*":
            self.entry = ""
            return []
        if digit != "#":
            self.entry = (self.entry + digit)[:MAX_ENTRY]
            return []
        entry, self.entry = self.entry, ""
        if self.step is Step.BOX:
            return self._box_entered(entry)
        return self._pin_entered(entry)

    def _box_entered(self, number: str) -> list[Effect]:
        self.box = self.boxes.get(number)
        if self.box is None:
            return self._wrong()
        self.step = Step.PIN
        return [Say(ASK_PIN)]

    def _pin_entered(self, pin: str) -> list[Effect]:
        assert self.box is not None
        if pin != self.box.pin:
            return self._wrong()
        self.statuses = list(self.listing(self.box.name))
        fresh = self.statuses.count("new")
        summary = ("vm-you-have", *say(str(fresh), "integer", self.language),
                   "vm-new-messages")
        if not self.statuses:
            return [Say(summary), *self._goodbye()]
        self.step, self.index = Step.MESSAGE, 0
        return [Say(summary), PlayMessage(0)]

    def _wrong(self) -> list[Effect]:
        """A box number or PIN that is not right: asked again (for the box first, if the
        caller named it), until the third."""
        self.tries += 1
        if self.tries >= MAX_TRIES:
            return [Say(("vm-wrong",)), *self._goodbye()]
        if self.any_box:
            self.step, self.box = Step.BOX, None
        return [Say(("vm-wrong", *self._question()))]

    # --- the messages ---------------------------------------------------------------------------

    def _menu_key(self, digit: str) -> list[Effect]:
        if digit == "1":
            self.step = Step.MESSAGE
            return [PlayMessage(self.index)]
        if digit == "7":
            self.statuses[self.index] = "deleted"
            return [SetStatus(self.index, "deleted"), Say(("vm-deleted",)), *self._next()]
        if digit == "9":
            self.statuses[self.index] = "old"
            return [SetStatus(self.index, "old"), Say(("vm-saved",)), *self._next()]
        if digit == "#":
            return self._next()
        self.step = Step.MENU
        return [Say(MENU)]

    def _next(self) -> list[Effect]:
        self.index += 1
        if self.index < len(self.statuses):
            self.step = Step.MESSAGE
            return [PlayMessage(self.index)]
        return [Say(("vm-no-more",)), *self._goodbye()]

    def _goodbye(self) -> list[Effect]:
        self.step = Step.DONE
        return [Say(GOODBYE), HangUp()]
