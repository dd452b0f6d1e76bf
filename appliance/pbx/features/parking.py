"""Call park as call control carries it out: an agent's call goes into the lot
(`park.py`), leaves it when a phone dials its slot, and when nobody does in time it rings
its parker again and then goes back to the queue it came from.

Call control owns a `Parking`; every input carries `now`, effects go to call control's
outbox, records to its event log, and the lot's one deadline is a timer of call control's
heap. No parked call is lost: it ends picked up, served by its parker or a queue, or hung
up by its caller (who frees the slot); with no queue to go to it is parked again (if a slot
is free: else its parker is rung once more).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance.clock import Deadlines, TimerHandle
from appliance.eventlog import EventLog
from appliance.events import AgentState, CallParked, ParkPickedUp, ParkTimedOut, new
from appliance.pbx.actions import Action, HangUpAgent
from appliance.pbx.call import Call, CallState
from appliance.pbx.features.park import ParkedCall, ParkLot

if TYPE_CHECKING:
    from appliance.config.live import Park
    from appliance.pbx.acd.core import Acd

_ON_A_CALL = frozenset({AgentState.TALKING, AgentState.HELD})

class Parking:
    """The park lot of a site, wired to the ACD."""

    def __init__(self, settings: Park, calls: dict[int, Call], acd: Acd, log: EventLog,
                 outbox: list[Action], deadlines: Deadlines) -> None:
        self.calls, self.acd, self.log, self.outbox = calls, acd, log, outbox
        self.deadlines = deadlines
        self.lot = ParkLot(settings.first_slot, settings.slots, settings.timeout)
        self.settings = settings
        self._timer: TimerHandle | None = None
        acd.direct_not_taken = self._ring_back_not_taken

    def reload(self, settings: Park) -> None:
        """New settings: the timeout and fallback queue at once, the slots once the lot is
        empty (a parked call keeps its number)."""
        self.settings = settings
        self.lot.timeout = settings.timeout
        if not len(self.lot):
            self.lot.first, self.lot.size = settings.first_slot, settings.slots

    def park(self, agent: str, now: float) -> int | None:
        """Park `agent`'s call (talking or held): the agent is hung up and wraps up, the call
        waits in a slot. The slot's number; None (nothing changed) if the agent has no call
        or every slot is taken."""
        found = self.acd.agents.get(agent)
        if found is None or found.state not in _ON_A_CALL:
            return None
        call = self.calls[found.call]
        entry = self.lot.park(call.id, agent, self._origin(call), now)
        if entry is None:
            return None
        self.outbox.append(new(HangUpAgent, (call.id, agent)))
        self.acd.talk_ended(call, now)
        self._parked(call, entry, now)
        return entry.slot

    def pick_up(self, slot: int, agent: str, now: float) -> int | None:
        """`agent` dialled `slot`: the call there is theirs at once (rung and answered: a
        `RingAgent` then a `Connect` in the outbox; the driver's phone leg is the one that
        dialled). The call's id; None if the slot is empty or the agent is neither ready nor
        wrapping up (a wrap-up ends here: `Acd.free_to_pick_up`); the parker too may take
        their call back."""
        entry = self.lot.parked(slot)
        if entry is None:
            return None
        call = self.calls[entry.call]
        if not self.acd.free_to_pick_up(agent, now) or not self.acd.ring_direct(call, agent, now):
            return None
        self.lot.pick_up(slot)
        call.parked = None
        self.log.append(new(ParkPickedUp, (now, call.id, slot, agent)))
        self.acd.answer(agent, call, now)
        return call.id

    def caller_left(self, call: Call) -> None:
        """The parked caller hung up: the slot is free (call control ends the call)."""
        self.lot.caller_left(call.id)
        call.parked = None

    # --- timeouts ------------------------------------------------------------------------

    def _parked(self, call: Call, entry: ParkedCall, now: float) -> None:
        call.state = CallState.PARKED
        call.parked = entry
        self.log.append(new(CallParked, (now, call.id, entry.parker, entry.slot,
                                         entry.origin)))
        self._arm()

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        due = self.lot.next_deadline()
        self._timer = None if due is None else self.deadlines.schedule(due, self._due)

    def _due(self, now: float) -> None:
        self._timer = None
        for entry in self.lot.on_deadline(now):
            self._timed_out(self.calls[entry.call], entry, now)
        self._arm()

    def _timed_out(self, call: Call, entry: ParkedCall, now: float) -> None:
        """Ring the parker back if they are free; else to the call's queue; else park again."""
        queue = self._fallback(entry)
        to = "parker" if self._parker_free(entry.parker) else "queue" if queue else "parked"
        self.log.append(new(ParkTimedOut, (now, call.id, entry.slot, to, queue)))
        if to == "parker" and self.acd.ring_direct(call, entry.parker, now):
            return
        self._elsewhere(call, entry, now)

    def _ring_back_not_taken(self, call: Call, now: float) -> bool:
        """The ACD's hook: the parker did not answer the ring back; False if it was none (or
        the call has nowhere left to go: the ACD ends it)."""
        entry = call.parked
        return entry is not None and self._elsewhere(call, entry, now)

    def _elsewhere(self, call: Call, entry: ParkedCall, now: float) -> bool:
        """To the call's queue, else parked again, else its parker rung once more; False if
        none of these can be (every slot taken while the parker's phone rang, no queue, the
        parker gone: the one way a parked call ends unserved, agent_unreachable)."""
        queue = self._fallback(entry)
        if queue:
            call.parked = None
            call.key = None  # a new wait starts, as after a transfer
            self.acd.enqueue(call, queue, now)
            return True
        again = self.lot.park(call.id, entry.parker, entry.origin, now)
        if again is not None:
            self._parked(call, again, now)
            return True
        if self._parker_free(entry.parker):
            return self.acd.ring_direct(call, entry.parker, now)
        call.parked = None
        return False

    def _origin(self, call: Call) -> str:
        return call.queue if self.acd.live_queue(call.queue) else ""

    def _fallback(self, entry: ParkedCall) -> str:
        for queue in (entry.origin, self.settings.fallback_queue or ""):
            if queue and self.acd.live_queue(queue):
                return queue
        return ""

    def _parker_free(self, agent: str) -> bool:
        found = self.acd.agents.get(agent)
        return found is not None and found.state is AgentState.READY
