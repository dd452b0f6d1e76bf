"""Callers: arrivals by call type, patience and abandonment, retrials, hearing announcements.

Everything a caller will do is drawn when the call arrives, each quantity from
its own stream (common random numbers: the same caller talks for the same time
whoever answers). A caller is a small object driven by timers, not a SimPy
process: simulations run millions of them.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from appliance.events import EndCause
from appliance.pbx.actions import Announce, Connect, HangUpCaller
from sim.distributions import sampler
from sim.traffic.arrivals import RateProfile

if TYPE_CHECKING:
    from simpy.events import Timeout

    from appliance.config import CallType, Traffic
    from appliance.pbx.callcontrol import CallControl
    from sim.clock import SimClock
    from sim.driver import CoreDriver
    from sim.streams import Streams

RETRY_AFTER_BUSY = frozenset({EndCause.BLOCKED, EndCause.BUSY})


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


class Caller:
    __slots__ = (
        "ani",
        "answer_at",
        "attempt",
        "call",
        "call_type",
        "hold",
        "patience_armed",
        "patience_deadline",
        "talk",
        "transfer_talk",
        "transfer_to",
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
        self.answer_at = math.inf  # when an agent ringing for the call will pick up
        patience = call_type.patience
        self.patience_deadline = now + patience() if patience else math.inf
        self.talk = call_type.talk()
        # Hold: (seconds into the talk, seconds on hold), or None.
        self.hold: tuple[float, float] | None = None
        hold_duration = call_type.hold_duration
        if hold_duration and call_type.hold_rng.random() < config.hold.probability:
            self.hold = (self.talk / 2, hold_duration())
        self.transfer_to = ""
        self.transfer_talk = 0.0
        transfer = config.transfer
        if transfer is not None and call_type.transfer_rng.random() < transfer.probability:
            self.transfer_to = transfer.target
            self.transfer_talk = call_type.talk()


class Callers:
    """The caller population of one simulation run."""

    def __init__(
        self,
        traffic: Traffic,
        clock: SimClock,
        core: CallControl,
        driver: CoreDriver,
        streams: Streams,
    ) -> None:
        self.clock = clock
        self.core = core
        self.driver = driver
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
        self.by_call: dict[int, Caller] = {}
        driver.on(Announce, self._on_announce)
        driver.on(HangUpCaller, self._on_hang_up)

    def start(self) -> None:
        self._schedule_arrival(0.0)

    # --- arrivals ------------------------------------------------------------------

    def _schedule_arrival(self, after: float) -> None:
        at = self.profile.next_arrival(after, self.arrival_rng)
        if at != math.inf:
            self.clock.after(at - self.clock.env.now, self._arrive)

    def _arrive(self, _event: object = None) -> None:
        now = self.clock.env.now
        self._schedule_arrival(now)
        call_type = self._pick_type()
        # Calling numbers from a population of ``callers``: repeat callers exist.
        ani = f"1{int(call_type.ani_rng.random() * call_type.callers):09d}"
        self._place(Caller(call_type, ani, 1, now))

    def _pick_type(self) -> CallTypeModel:
        if len(self.types) == 1:
            return self.types[0]
        u = self.type_rng.random()
        for call_type, threshold in zip(self.types, self.type_thresholds, strict=True):
            if u < threshold:
                return call_type
        return self.types[-1]

    def _place(self, caller: Caller) -> None:
        call_type = caller.call_type
        now = self.clock.env.now
        call_id = self.core.offer_call(
            now, call_type.trunk_group, caller.ani, call_type.dnis, caller.attempt
        )
        caller.call = call_id
        self.by_call[call_id] = caller
        self.driver.settle()
        # Most calls ring an agent at once who picks up well within the
        # caller's patience: they need no patience timer unless the ring is
        # withdrawn first (see ring_withdrawn).
        if caller.waiting and caller.patience_deadline < caller.answer_at:
            self._arm_patience(caller)

    def _arm_patience(self, caller: Caller) -> None:
        if caller.patience_armed or caller.patience_deadline == math.inf:
            return
        caller.patience_armed = True
        delay = max(caller.patience_deadline - self.clock.env.now, 0.0)
        self.clock.after(delay, self._patience_ran_out, caller)

    def _patience_ran_out(self, event: Timeout) -> None:
        self._give_up(event.value)

    def will_answer(self, call_id: int, at: float) -> None:
        """An agent ringing for the call will pick up at ``at`` (the agents' model tells)."""
        caller = self.by_call.get(call_id)
        if caller is not None and at < caller.answer_at:
            caller.answer_at = at

    def ring_withdrawn(self, call_id: int) -> None:
        """A ring for the call ended without an answer: the caller's patience counts again."""
        caller = self.by_call.get(call_id)
        if caller is not None and caller.waiting:
            self._arm_patience(caller)

    # --- what callers do -------------------------------------------------------------

    def _give_up(self, caller: Caller) -> None:
        """The caller hangs up while waiting (patience ran out, or the announcement)."""
        if not caller.waiting:
            return
        caller.waiting = False
        self.by_call.pop(caller.call, None)
        self.core.caller_hangup(self.clock.env.now, caller.call)
        self.driver.settle()
        self._maybe_retry(caller, caller.call_type.config.retrial.after_abandon)

    def connected(self, action: Connect) -> None:
        """The caller reached an agent (the agents' model passes this on)."""
        self.by_call[action.call].waiting = False  # its patience timer will do nothing

    def _on_announce(self, action: Announce) -> None:
        """After hearing it, a caller told to wait longer than they would may leave."""
        caller = self.by_call[action.call]
        expected = action.expected_wait

        def heard(_event: object) -> None:
            if not caller.waiting:
                return
            remaining = caller.patience_deadline - self.clock.env.now
            if expected is not None and expected > remaining:
                config = caller.call_type.config
                if caller.call_type.announce_rng.random() < config.leave_after_announcement:
                    self._give_up(caller)

        self.clock.after(action.duration, heard)

    def _on_hang_up(self, action: HangUpCaller) -> None:
        caller = self.by_call.pop(action.call)
        caller.waiting = False
        if action.cause in RETRY_AFTER_BUSY:
            self._maybe_retry(caller, caller.call_type.config.retrial.after_busy)

    def forget(self, call_id: int) -> Caller | None:
        return self.by_call.pop(call_id, None)

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
