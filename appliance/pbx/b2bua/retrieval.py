"""Voicemail retrieval calls: a phone dials the site's own-box code (its agent's box) or
any-box code, and the B2BUA answers it with anchored media and runs the retrieval menu
(`appliance.pbx.retrieval`) on it: prompts from the prompt set, messages played from their
files, statuses written back through the store, and the box's new counts sent to its
message-waiting subscribers (`mwi.py`).

Like calls between phones these are the B2BUA's own (negative ids, no queue, no trunk), and
they need a media plane: without one (SIP-fidelity simulation) the code is refused (488).
A call still in the menu after the site's `voicemail.retrieval_limit` seconds hears "time is
up" and goodbye and is sent a BYE (`Retrieval.time_up`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

from appliance.media import sdp
from appliance.media.prompts import SAMPLE_RATE
from appliance.pbx.b2bua.anchor import MediaAnchor
from appliance.pbx.b2bua.dialogs import Dialogs
from appliance.pbx.b2bua.ending import LegEnding
from appliance.pbx.b2bua.internal import CalledIn
from appliance.pbx.b2bua.mwi import MessageWaiting
from appliance.pbx.ivr.run import PromptSeconds
from appliance.pbx.legs import Leg
from appliance.pbx.retrieval import (
    Box,
    Effect,
    HangUp,
    PlayMessage,
    Retrieval,
    Say,
    SetStatus,
    Step,
)

if TYPE_CHECKING:
    from appliance.clock import TimerHandle
    from appliance.config.voicemail import Voicemail
    from appliance.pbx.b2bua.internal import InternalCalls

PATIENCE = 8.0  # seconds the caller has to start answering once a question has played


class StoredMessage(Protocol):
    """What retrieval needs of a message on disk."""

    file: str
    status: str
    seconds: float


class MessageStore(Protocol):
    """Where the messages are (the live box's files)."""

    def messages(self, mailbox: str) -> list[StoredMessage]:
        """The box's messages in the order they are played: new ones first, oldest first."""
        ...

    def samples(self, file: str) -> np.ndarray | None:
        """The audio of a message (8 kHz mono int16); None if it cannot be read."""
        ...

    def set_status(self, file: str, status: str) -> None:
        """Mark a message "old", or remove it ("deleted")."""
        ...


@dataclass
class Listening:
    """One retrieval call: its leg, the menu and the messages it is about."""

    leg: Leg
    language: str
    machine: Retrieval = field(init=False)
    messages: list[StoredMessage] = field(default_factory=list)
    timer: TimerHandle | None = None
    limit: TimerHandle | None = None  # the end of the call's time (`retrieval_limit`)


class Retrievals(CalledIn):
    """The retrieval calls in progress, by call id."""

    def __init__(self, dialogs: Dialogs, ending: LegEnding, anchor: MediaAnchor | None,
                 waiting: MessageWaiting, prompt_seconds: PromptSeconds) -> None:
        self.dialogs, self.ending, self.anchor, self.waiting = dialogs, ending, anchor, waiting
        self.deadlines = dialogs.deadlines
        self.prompt_seconds = prompt_seconds
        self.store: MessageStore | None = None  # set by the live box
        self.calls: dict[int, Listening] = {}
        self.internal: InternalCalls | None = None  # whose ids the calls have: set by the B2BUA

    def apply(self, voicemail: Voicemail, language: str) -> None:
        self.settings = voicemail
        self.language = language
        self.boxes = {box.number: Box(box.name, box.pin) for box in voicemail.mailboxes}

    def dialled(self, number: str) -> bool:
        """Whether `number` is a retrieval code of a site that has mailboxes."""
        codes = (self.settings.own_box_code, self.settings.any_box_code)
        return bool(self.settings.mailboxes) and number in codes

    def refusal(self, user: str, number: str) -> tuple[int, str] | None:
        """Why the phone of `user` cannot retrieve by `number` (no media plane or store: 488;
        the own-box code for a user whose agent owns no box: 404); None if it can."""
        if self.anchor is None or self.store is None:
            return (488, "Not Acceptable Here")
        if number == self.settings.own_box_code and self.settings.box_of_agent(user) is None:
            return (404, "Not Found")
        return None

    def start(self, leg: Leg, offer: sdp.Sdp, user: str, number: str, now: float) -> None:
        """Answer the phone of `leg` (an INVITE `refusal` let through) as a new call."""
        own = self.settings.box_of_agent(user) if number == self.settings.own_box_code else None
        box = None if own is None else Box(own.name, own.pin)
        listening = Listening(leg, self.language)
        listening.machine = Retrieval(box, self.boxes,
                                      lambda name: self._statuses(listening, name),
                                      self.language)
        self.answer_call_in(leg, offer, now)
        self.calls[leg.call] = listening
        listening.limit = self.deadlines.schedule(now + self.settings.retrieval_limit,
                                                  self._time_up, listening)
        self._carry_out(listening, listening.machine.start(), now)

    def digit(self, call: int, digit: str, now: float) -> None:
        listening = self.calls.get(call)
        if listening is not None:
            self._carry_out(listening, listening.machine.key(digit), now)

    def leg_ended(self, leg: Leg, now: float) -> bool:
        """The phone hung up (or was lost); False if `leg` is no retrieval call."""
        listening = self.calls.pop(leg.call, None)
        if listening is None or listening.leg is not leg:
            return False
        self._stop_timers(listening)
        if self.internal is not None:
            self.internal.close(leg.call)
        return True

    # --- carrying out the menu ----------------------------------------------------------------

    def _statuses(self, listening: Listening, mailbox: str) -> list[str]:
        """The menu's listing, asked once the PIN is right: the call keeps the messages."""
        assert self.store is not None
        listening.messages = self.store.messages(mailbox)
        return [message.status for message in listening.messages]

    def _carry_out(self, listening: Listening, effects: list[Effect], now: float) -> None:
        """Play, change and end as the menu says, then wait: for the sounds to end, and
        then (for a question) for the caller's patience."""
        assert self.anchor is not None
        if any(isinstance(effect, (Say, PlayMessage)) for effect in effects):
            self.anchor.media.silence(listening.leg.call)  # a key interrupts what plays
        seconds = 0.0
        for effect in effects:
            if isinstance(effect, HangUp):
                self._hang_up(listening, now + seconds)
                return
            seconds += self._effect(listening, effect, now)
        if self.calls.get(listening.leg.call) is listening:
            patience = 0.0 if listening.machine.step is Step.MESSAGE else PATIENCE
            self._arm(listening, now + seconds + patience)

    def _effect(self, listening: Listening, effect: Effect, now: float) -> float:
        """Carry out a sound or a status change; the seconds it plays."""
        assert self.anchor is not None
        if isinstance(effect, Say):
            self.anchor.media.play(listening.leg.call, effect.prompts, now, listening.language)
            return self.prompt_seconds(effect.prompts, listening.language)
        if isinstance(effect, PlayMessage):
            return self._play_message(listening, effect.index, now)
        if isinstance(effect, SetStatus):
            self._set_status(listening, effect, now)
        return 0.0

    def _play_message(self, listening: Listening, index: int, now: float) -> float:
        assert self.anchor is not None and self.store is not None
        message = listening.messages[index]
        samples = self.store.samples(message.file)
        if samples is None or not len(samples):
            return 0.0
        self.anchor.media.play_samples(listening.leg.call, message.file, samples, now)
        return len(samples) / SAMPLE_RATE

    def _set_status(self, listening: Listening, effect: SetStatus, now: float) -> None:
        assert self.store is not None and listening.machine.box is not None
        self.store.set_status(listening.messages[effect.index].file, effect.status)
        mailbox = listening.machine.box.name
        found = self.store.messages(mailbox)
        fresh = sum(message.status == "new" for message in found)
        self.waiting.changed(mailbox, (fresh, len(found) - fresh), now)

    def _hang_up(self, listening: Listening, when: float) -> None:
        """The BYE goes once the goodbye has played (at `when`)."""
        self._stop_timer(listening)
        listening.timer = self.deadlines.schedule(when, self._bye, listening)

    def _bye(self, now: float, listening: Listening) -> None:
        listening.timer = None
        if self.calls.pop(listening.leg.call, None) is listening:
            self._stop_timers(listening)
            self.ending.hang_up(listening.leg, now)

    def _time_up(self, now: float, listening: Listening) -> None:
        listening.limit = None
        if self.calls.get(listening.leg.call) is listening:
            self._carry_out(listening, listening.machine.time_up(), now)

    def _arm(self, listening: Listening, when: float) -> None:
        self._stop_timer(listening)
        listening.timer = self.deadlines.schedule(when, self._timeout, listening)

    def _timeout(self, now: float, listening: Listening) -> None:
        listening.timer = None
        if self.calls.get(listening.leg.call) is listening:
            self._carry_out(listening, listening.machine.timeout(), now)

    def _stop_timer(self, listening: Listening) -> None:
        if listening.timer is not None:
            listening.timer.cancel()
            listening.timer = None

    def _stop_timers(self, listening: Listening) -> None:
        self._stop_timer(listening)
        if listening.limit is not None:
            listening.limit.cancel()
            listening.limit = None
