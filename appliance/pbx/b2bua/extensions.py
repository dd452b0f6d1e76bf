"""Calls between phones: a phone dials another phone's user (an agent id) and the appliance
rings that phone, bridging the two legs as it bridges a queue call (media anchored when there
is a media plane; not recorded: recording is for customer calls).

The B2BUA, not call control, carries these calls: they take no trunk and no queue, so they
leave records of their own (`ExtensionCall*`) and the queue figures as they were. Their ids
are negative, never one of call control's. The dialling side is a caller leg, the rung side
an agent leg, so each keeps its role's state table, CANCEL and BYE races included.

The ACD must not offer a queue call to an agent on an internal call: each party who is an
agent is paused, NOT_READY with the reason `internal_call` (or, if wrapping up, as soon as the
wrap-up ends), and given back when the call ends. A pause is a state the ACD already treats as
busy, and the agent's figures then show the time as not ready for internal calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance.eventlog import EventLog
from appliance.events import (
    AgentState,
    ExtensionCallAnswered,
    ExtensionCallEnded,
    ExtensionCallStarted,
    new,
)
from appliance.media import sdp
from appliance.pbx.acd.core import REASON_BUSY, REASON_DECLINED
from appliance.pbx.b2bua.anchor import MediaAnchor
from appliance.pbx.b2bua.dialogs import Dialogs
from appliance.pbx.b2bua.ending import UNAVAILABLE, LegEnding
from appliance.pbx.b2bua.phones import Phones
from appliance.pbx.callcontrol import CallControl
from appliance.pbx.legs import Leg

if TYPE_CHECKING:
    from appliance.clock import TimerHandle
    from appliance.config.live import Sip
    from appliance.pbx.b2bua.agents import AgentSide

REASON_INTERNAL_CALL = "internal_call"  # the pause of an agent on a call between phones
BUSY = (486, "Busy Here")
# Agents the ACD has a call for: their phone is busy for another phone.
_ON_ACD_CALL = frozenset({AgentState.RINGING, AgentState.TALKING, AgentState.HELD})
# Agents the ACD may offer a call to while on an internal call (wrap-up: once it ends).
_OFFERABLE = frozenset({AgentState.READY, AgentState.WRAP_UP})
# How the rung phone's refusal (as the ACD's reason code) reaches the dialling phone.
_REFUSALS = {REASON_BUSY: (BUSY, "busy"), REASON_DECLINED: ((603, "Decline"), "declined")}


def is_internal(call: int) -> bool:
    """Whether `call` is a call between phones (the B2BUA's, not call control's)."""
    return call < 0


class ExtensionCall:
    """One call between phones: its parties, legs and ring timer."""

    __slots__ = ("answered", "callee", "caller", "caller_leg", "id", "paused", "ring_timer")

    def __init__(self, call: int, caller: str, callee: str, caller_leg: Leg) -> None:
        self.id, self.caller, self.callee, self.caller_leg = call, caller, callee, caller_leg
        self.answered = False
        self.paused: list[str] = []  # the parties the ACD was told are busy
        self.ring_timer: TimerHandle | None = None


class ExtensionCalls:
    """The calls between phones in progress, by id."""

    def __init__(self, dialogs: Dialogs, ending: LegEnding, agent_side: AgentSide,
                 phones: Phones, anchor: MediaAnchor | None, cc: CallControl,
                 log: EventLog) -> None:
        self.dialogs, self.ending, self.agent_side = dialogs, ending, agent_side
        self.legs, self.deadlines = dialogs.legs, dialogs.deadlines
        self.phones, self.anchor, self.cc, self.log = phones, anchor, cc, log
        self.calls: dict[int, ExtensionCall] = {}
        self._last_id = 0

    def apply(self, sip: Sip) -> None:
        self.users = frozenset(phone.user for phone in sip.phones)
        self.ring_timeout = sip.extension_ring_timeout

    def dialled(self, number: str) -> bool:
        """Whether `number` is a phone of the site (its user)."""
        return number in self.users

    def refusal(self, caller: str, callee: str, now: float) -> tuple[int, str] | None:
        """Why `callee` cannot be rung now: busy (on a call: 486), nowhere (not registered:
        480); None if it can."""
        status = self.cc.agent_status(callee)
        if (callee == caller or (status is not None and status.state in _ON_ACD_CALL)
                or any(callee in (c.caller, c.callee) for c in self.calls.values())):
            return BUSY
        return UNAVAILABLE if self.phones.target(callee, now) is None else None

    def new_id(self) -> int:
        """A new id for a call the B2BUA carries itself (negative, never call control's)."""
        self._last_id -= 1
        return self._last_id

    # --- the call's life ---------------------------------------------------------------------

    def start(self, leg: Leg, offer: sdp.Sdp | None, caller: str, callee: str,
              now: float) -> None:
        """Ring `callee` for the phone of `leg` (an unanswered caller leg, `refusal` None)."""
        call = ExtensionCall(self.new_id(), caller, callee, leg)
        leg.call = call.id
        self.legs.callers[call.id] = leg
        self.calls[call.id] = call
        self.log.append(new(ExtensionCallStarted, (now, call.id, caller, callee)))
        if self.anchor is not None and offer is not None:
            leg.sent_body = self.anchor.caller_answer(leg, offer, False, now)
        self.dialogs.answers.respond(leg.invite, 180, "Ringing", now, tag=leg.local_tag)
        call.paused = [party for party in (caller, callee) if self._pause(party, now)]
        self.agent_side.ring(call.id, callee, now)
        call.ring_timer = self.deadlines.schedule(now + self.ring_timeout, self._no_answer,
                                                  call)

    def answered(self, leg: Leg, now: float) -> bool:
        """The rung phone of `leg` answered: connect the two; False if the call is gone."""
        call = self.calls.get(leg.call)
        if call is None or call.answered or call.caller_leg.ended:
            return False
        call.answered = True
        self._stop_timer(call)
        caller = call.caller_leg
        caller.partner, leg.partner = leg, caller
        if self.anchor is None:
            self.dialogs.answer(caller, leg.answer_body, now)
        else:
            self.dialogs.answer(caller, caller.sent_body, now)
            self.anchor.bridge(call.id, leg, now, record=False)
        self.dialogs.start_session_timer(caller, now)
        self.dialogs.start_session_timer(leg, now)
        self.log.append(new(ExtensionCallAnswered, (now, call.id)))
        return True

    def refused(self, leg: Leg, reason: str, now: float) -> None:
        """The rung phone of `leg` refused (or never answered): the dialling phone hears it."""
        call = self.calls.get(leg.call)
        if call is not None:
            refusal, cause = _REFUSALS.get(reason, (UNAVAILABLE, "unavailable"))
            self.ending.hang_up(call.caller_leg, now, refusal=refusal)
            self._finish(call, cause, now)

    def leg_ended(self, leg: Leg, now: float) -> None:
        """A party left (BYE, CANCEL, found gone, shutdown): the other one is let go."""
        call = self.calls.get(leg.call)
        if call is None:
            return
        if leg is not call.caller_leg:
            self.ending.hang_up(call.caller_leg, now)
            self._finish(call, "callee_hangup", now)
            return
        callee_leg = self.legs.rings.get((call.id, call.callee))
        if callee_leg is not None and call.answered:
            self.ending.hang_up(callee_leg, now)
        else:
            self.agent_side.stop_ringing(call.id, call.callee, now)
        self._finish(call, "caller_hangup" if call.answered else "cancelled", now)

    def _pause(self, agent: str, now: float) -> bool:
        """Tell the ACD `agent` is busy, if it could offer them a call meanwhile (an agent
        paused already keeps their own reason, and stays paused after the call)."""
        status = self.cc.agent_status(agent)
        return (status is not None and status.state in _OFFERABLE
                and self.cc.agent_not_ready(now, agent, REASON_INTERNAL_CALL))

    def _no_answer(self, now: float, call: ExtensionCall) -> None:
        call.ring_timer = None
        if call.answered or self.calls.get(call.id) is not call:
            return
        self.agent_side.stop_ringing(call.id, call.callee, now)
        self.ending.hang_up(call.caller_leg, now, refusal=UNAVAILABLE)
        self._finish(call, "no_answer", now)

    def _finish(self, call: ExtensionCall, cause: str, now: float) -> None:
        self._stop_timer(call)
        del self.calls[call.id]
        self.log.append(new(ExtensionCallEnded, (now, call.id, cause)))
        for party in call.paused:
            self.cc.agent_end_pause(now, party, REASON_INTERNAL_CALL)

    def _stop_timer(self, call: ExtensionCall) -> None:
        if call.ring_timer is not None:
            call.ring_timer.cancel()
            call.ring_timer = None
