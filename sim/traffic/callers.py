"""Callers: arrivals by call type, patience and abandonment, retrials, hearing announcements.

Everything a caller will do is drawn when the call arrives, each quantity from
its own stream (common random numbers: the same caller talks for the same time
whoever answers). A caller is a small object driven by timers, not a SimPy
process: simulations run millions of them. Callers act through a `Channel`
and hear what happens to their calls through its subscriptions, in every
fidelity alike.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from typing import TYPE_CHECKING

from appliance.events import EndCause
from appliance.pbx.actions import (
    Announce,
    CancelCallback,
    Connect,
    HangUpAgent,
    HangUpCaller,
    OfferCallback,
    PlaceCallback,
    RecordMessage,
    StopRinging,
)
from sim.channels import Conversation, Goodbye, still_holds
from sim.distributions import sampler
from sim.traffic.arrivals import RateProfile

if TYPE_CHECKING:
    from collections.abc import Callable

    from simpy.events import Timeout

    from appliance.config import CallType, Traffic
    from sim.channels import Channel
    from sim.clock import SimClock
    from sim.ports import SimPorts
    from sim.streams import Streams

RETRY_AFTER_BUSY = frozenset({EndCause.BLOCKED, EndCause.BUSY})
# Seconds from pressing the callback key to pressing 1 over the read-back of the number.
_CONFIRM_DELAY = 2.0
# A timer fires at now + (deadline - now), which can miss the deadline by a rounding step.
_ROUNDING = 1e-6


class CallTypeModel:
    """One call type's behaviour, with its own random streams."""

    def __init__(self, config: CallType, streams: Streams) -> None:
        name = config.name
        self.config = config
        self.name = name
        self.trunk_group = config.trunk_group
        self.dnis = config.dnis
        self.callers = config.callers
        self.talk = sampler(config.talk_time, streams(f"talk/{name}"))
        self.patience = (
            sampler(config.patience, streams(f"patience/{name}")) if config.patience else None
        )
        self.ani_rng = streams(f"ani/{name}")
        self.hold_rng = streams(f"hold/{name}")
        self.hold_duration = (
            sampler(config.hold.duration, streams(f"hold-duration/{name}"))
            if config.hold
            else None
        )
        self.transfer_rng = streams(f"transfer/{name}")
        self.retrial_rng = streams(f"retrial/{name}")
        self.retrial_delay = sampler(config.retrial.delay, streams(f"retrial-delay/{name}"))
        self.announce_rng = streams(f"announce/{name}")
        # A transferred caller's patience for their second wait: its own stream, so that
        # transfers leave every other draw as it was.
        self.transfer_patience = (
            sampler(config.patience, streams(f"transfer-patience/{name}"))
            if config.patience else None
        )
        voicemail = config.voicemail
        self.leave_rng = streams(f"voicemail/{name}")
        self.leave = 0.0 if voicemail is None else voicemail.leave
        self.message_length = None if voicemail is None else sampler(
            voicemail.length, streams(f"voicemail-length/{name}"))
        callback = config.callback
        self.callback_rng = streams(f"callback/{name}")
        self.callback_ring = sampler(callback.ring_delay, streams(f"callback-ring/{name}")) \
            if callback else None


class Caller(Conversation):
    """One attempt of a caller; the conversation they bring is drawn with them."""

    __slots__ = (
        "ani",
        "attempt",
        "call",
        "call_type",
        "callback_token",
        "patience_armed",
        "patience_deadline",
        "transfer_patience",
        "waiting",
    )

    def __init__(self, call_type: CallTypeModel, ani: str, attempt: int, now: float) -> None:
        config = call_type.config
        self.call_type = call_type
        self.ani = ani
        self.attempt = attempt
        self.call = 0
        self.waiting = True
        self.patience_armed = False
        self.callback_token = 0  # bumped when a ring of a callback to them is withdrawn
        patience = call_type.patience
        self.patience_deadline = now + patience() if patience else math.inf
        # The conversation, drawn here rather than in Conversation.__init__: a run makes
        # millions of callers, and the call saved is measurable.
        self.talk = call_type.talk()
        self.answer_at = math.inf
        self.agent_hangs_up = config.survey is not None
        self.hold = None
        hold_duration = call_type.hold_duration
        if hold_duration and call_type.hold_rng.random() < config.hold.probability:
            self.hold = (self.talk / 2, hold_duration())
        self.transfer_to = ""
        self.transfer_talk = 0.0
        self.transferring = False
        transfer = config.transfer
        if transfer is not None and call_type.transfer_rng.random() < transfer.probability:
            self.transfer_to = transfer.target
            self.transfer_talk = call_type.talk()
        # The patience a transferred caller brings to the new queue: a new draw from the
        # same distribution, counted from when the agent leaves them (the first wait is
        # over, answered; the transfer is a new wait, and told so).
        second = call_type.transfer_patience
        self.transfer_patience = second() if self.transfer_to and second else math.inf


class Callers:
    """The caller population of one simulation run."""

    def __init__(
        self, traffic: Traffic, clock: SimClock, channel: Channel, streams: Streams
    ) -> None:
        self.clock = clock
        self.channel = channel
        # The caller on a call, None once they have left it (a ring or an announcement may
        # still be under way). Every conversation the channel holds for this model is one
        # of its callers; bound once, since it is asked for every call.
        self._caller: Callable[[int], Caller | None] = channel.conversation  # type: ignore[assignment]
        self.profile = RateProfile.of_day(traffic)
        self.types = [CallTypeModel(c, streams) for c in traffic.call_types]
        total = sum(c.share for c in traffic.call_types)
        cumulative = 0.0
        self.type_thresholds = []
        for c in traffic.call_types:
            cumulative += c.share / total
            self.type_thresholds.append(cumulative)
        self.arrival_rng = streams("arrivals")
        self.type_rng = streams("call-type")
        self.closed = False  # no new calls, first attempts or retrials (see close)
        # The site's gateway ports (`sim.ports.SimPorts`), if it has any: set by the world.
        self.ports: SimPorts | None = None
        channel.on(Announce, self._on_announce)
        channel.on(HangUpCaller, self._on_hang_up)
        channel.on(Connect, self._on_connect)
        channel.on(HangUpAgent, self._on_agent_left)
        channel.on(StopRinging, self._on_ring_withdrawn)
        channel.on(Goodbye, self._on_goodbye)
        channel.on(RecordMessage, self._on_record_message)
        channel.on(OfferCallback, self._on_callback_offer)
        channel.on(PlaceCallback, self._on_called_back)
        channel.on(CancelCallback, self._on_callback_cancelled)

    def start(self) -> None:
        self._schedule_arrival(0.0)

    def close(self) -> None:
        """No caller calls from now on; calls under way go on to their end."""
        self.closed = True

    # --- arrivals ------------------------------------------------------------------

    def _schedule_arrival(self, now: float) -> None:
        at = self.profile.next_arrival(now, self.arrival_rng)
        if at != math.inf:
            self.clock.after(at - now, self._arrive)

    def _arrive(self, _event: object = None) -> None:
        now = self.clock.env.now
        self._schedule_arrival(now)
        call_type = self._pick_type()
        # Calling numbers from a population of ``callers``: repeat callers exist.
        ani = f"1{int(call_type.ani_rng.random() * call_type.callers):09d}"
        self._place(Caller(call_type, ani, 1, now))

    def _pick_type(self) -> CallTypeModel:
        types = self.types
        if len(types) == 1:
            return types[0]
        # The first type whose cumulative share exceeds u (the last if rounding leaves
        # the shares' sum a hair below 1).
        index = bisect_right(self.type_thresholds, self.type_rng.random())
        return types[index] if index < len(types) else types[-1]

    def _place(self, caller: Caller) -> None:
        if self.closed:
            return
        ports = self.ports
        if ports is not None and ports.serves(caller.call_type.trunk_group):
            self._ring_port(ports, caller)
            return
        call_type = caller.call_type
        caller.call = self.channel.offer(
            caller, call_type.trunk_group, caller.ani, call_type.dnis, caller.attempt
        )
        self._after_offer(caller)

    def _ring_port(self, ports: SimPorts, caller: Caller) -> None:
        """The caller rings a gateway port, which offers the call when it may (after the
        caller ID on analog): their patience counts from the first ring. Every port of their
        line busy, they hear busy tone."""
        if ports.arrive(caller, self._offer):
            if caller.waiting and not caller.call:
                self._arm_patience(caller)
            return
        caller.waiting = False
        self._maybe_retry(caller, caller.call_type.config.retrial.after_busy)

    def _offer(self, caller: Caller, line: str, dnis: str) -> None:
        """Offer `caller`'s call as it comes off a gateway port, on `line` with `dnis`."""
        caller.call = self.channel.offer(caller, caller.call_type.trunk_group, caller.ani,
                                         dnis, caller.attempt, line=line)
        self._after_offer(caller)

    def _after_offer(self, caller: Caller) -> None:
        # Most calls ring an agent at once who picks up well within the
        # caller's patience: they need no patience timer unless the ring is
        # withdrawn first (see _on_ring_withdrawn).
        if caller.waiting and caller.patience_deadline < caller.answer_at:
            self._arm_patience(caller)

    def _arm_patience(self, caller: Caller) -> None:
        if caller.patience_armed or caller.patience_deadline == math.inf:
            return
        caller.patience_armed = True
        delay = max(caller.patience_deadline - self.clock.env.now, 0.0)
        self.clock.after(delay, self._patience_ran_out, caller)

    def _patience_ran_out(self, event: Timeout) -> None:
        caller: Caller = event.value
        # Not yet, if the IVR held the call meanwhile: its patience counts from the queue.
        if still_holds(self.channel, lambda: self._past_patience(caller)):
            self._give_up(caller)

    def _past_patience(self, caller: Caller) -> bool:
        return caller.waiting and caller.patience_deadline <= self.clock.env.now + _ROUNDING

    def caller(self, call: int) -> Caller | None:
        """The caller on `call`, None once they have left it."""
        return self._caller(call)

    def wait_in_queue(self, caller: Caller, patience: float) -> None:
        """The caller's call leaves the IVR for a queue, where they wait `patience` seconds
        at most."""
        caller.patience_deadline = self.clock.env.now + patience
        caller.patience_armed = False
        if caller.waiting and caller.patience_deadline < caller.answer_at:
            self._arm_patience(caller)

    def give_up(self, caller: Caller) -> None:
        """The caller hangs up before an agent answers (and may call again)."""
        self._give_up(caller)

    # --- what callers hear -------------------------------------------------------------

    def _on_ring_withdrawn(self, action: StopRinging) -> None:
        """A ring for the call ended without an answer: the caller's patience counts again."""
        caller = self._caller(action.call)
        if caller is not None and caller.waiting:
            self._arm_patience(caller)

    def _on_connect(self, action: Connect) -> None:
        caller = self._caller(action.call)
        assert caller is not None  # a caller who left is never connected
        caller.waiting = False  # its patience timer will do nothing

    def _on_agent_left(self, action: HangUpAgent) -> None:
        """An agent left a caller still on the line by transferring them: the caller waits
        again, with their patience for the new queue (`Caller.transfer_patience`)."""
        caller = self._caller(action.call)
        if caller is None or not caller.transferring or caller.waiting:
            return
        caller.transferring = False
        caller.waiting = True
        caller.answer_at = math.inf  # nobody rings for it yet
        self.wait_in_queue(caller, caller.transfer_patience)

    def _on_goodbye(self, action: Goodbye) -> None:
        self.channel.hang_up(action.call)

    def _on_announce(self, action: Announce) -> None:
        """After hearing it, a caller told to wait longer than they would may leave."""
        caller = self._caller(action.call)
        if caller is None:
            return
        expected = action.expected_wait

        def told_too_long() -> bool:
            remaining = caller.patience_deadline - self.clock.env.now
            return caller.waiting and expected is not None and expected > remaining

        def heard(_event: object) -> None:
            if still_holds(self.channel, told_too_long):
                config = caller.call_type.config
                if caller.call_type.announce_rng.random() < config.leave_after_announcement:
                    self._give_up(caller)

        self.clock.after(action.duration, heard)

    def _on_record_message(self, action: RecordMessage) -> None:
        """The mailbox's beep: the caller leaves a message (and presses "#" when done) or
        hangs up at once."""
        caller = self._caller(action.call)
        if caller is None:
            return
        caller.waiting = False  # in a mailbox: patience no longer counts
        call_type = caller.call_type
        if call_type.leave_rng.random() < call_type.leave:
            assert call_type.message_length is not None
            self.clock.after(call_type.message_length(), self._message_said, caller)
        else:
            self.clock.after(0.0, self._no_message, caller)

    def _message_said(self, event: Timeout) -> None:
        caller: Caller = event.value
        if self._caller(caller.call) is caller:
            self.channel.press(caller.call, "#")

    def _no_message(self, event: Timeout) -> None:
        caller: Caller = event.value
        if self._caller(caller.call) is caller:
            self.channel.hang_up(caller.call)

    def _on_callback_offer(self, action: OfferCallback) -> None:
        """A caller who takes the offer presses the key, then 1 over the read-back of their
        number; they hang up as asked, and their patience no longer applies."""
        caller = self._caller(action.call)
        if caller is None or not caller.waiting:
            return
        call_type = caller.call_type
        config = call_type.config.callback
        if config is None or call_type.callback_rng.random() >= config.accept:
            return
        caller.waiting = False
        self.channel.press(action.call, action.key)

        def confirm(_event: object) -> None:
            if self._caller(action.call) is caller:
                self.channel.press(action.call, "1")

        self.clock.after(_CONFIRM_DELAY, confirm)

    def _on_called_back(self, action: PlaceCallback) -> None:
        """The customer's phone rings: they answer after a ring delay, or never."""
        caller = self._caller(action.call)
        assert caller is not None  # the conversation waits for the callback
        call_type = caller.call_type
        config = call_type.config.callback
        if config is None or call_type.callback_rng.random() >= config.answer:
            return
        assert call_type.callback_ring is not None
        token = caller.callback_token
        ports = self.ports  # the number goes out first (digit by digit on analog)
        dial = 0.0 if ports is None else ports.dial_time(call_type.trunk_group, caller.ani)

        def pick_up(_event: object) -> None:
            if caller.callback_token == token:
                self.channel.answer_callback(action.call)

        self.clock.after(dial + call_type.callback_ring(), pick_up)

    def _on_callback_cancelled(self, action: CancelCallback) -> None:
        caller = self._caller(action.call)
        if caller is not None:
            caller.callback_token += 1

    def _on_hang_up(self, action: HangUpCaller) -> None:
        caller = self._caller(action.call)
        assert caller is not None  # released by the appliance: the caller had not left
        if type(caller) is not Caller:  # a campaign's called party: no caller of this model
            return
        caller.waiting = False
        if action.cause in RETRY_AFTER_BUSY:
            self._maybe_retry(caller, caller.call_type.config.retrial.after_busy)

    # --- what callers do -------------------------------------------------------------

    def _give_up(self, caller: Caller) -> None:
        """The caller hangs up while waiting (patience ran out, or the announcement)."""
        if not caller.waiting:
            return
        caller.waiting = False
        if caller.call:
            self.channel.hang_up(caller.call)
        else:  # still ringing on a gateway port: a lost ring, never offered
            assert self.ports is not None
            self.ports.ring_abandoned(caller)
        self._maybe_retry(caller, caller.call_type.config.retrial.after_abandon)

    def _maybe_retry(self, caller: Caller, probability: float) -> None:
        call_type = caller.call_type
        if probability <= 0 or caller.attempt >= call_type.config.retrial.max_attempts:
            return
        if call_type.retrial_rng.random() >= probability:
            return
        delay = call_type.retrial_delay()

        def retry(_event: object) -> None:
            self._place(Caller(call_type, caller.ani, caller.attempt + 1, self.clock.env.now))

        self.clock.after(delay, retry)
