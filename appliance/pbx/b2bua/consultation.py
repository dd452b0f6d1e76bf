"""Consultation controlled by the box, for an agent whose phone has one call and no second
line (an analog phone, a headset): the agent's keys ask, the box does the rest.

`start` puts the caller on hold (the ACD's hold: hold time counts; the caller hears music)
and rings the target - another agent or any phone of the site - from the agent, on a call of
the B2BUA's own (`internal.py`) with its media on the relay; or calls the target - an outside
number (an expert, another site) - through its route out (`outside.py`), on a channel of its
trunk group seized at the start, as the agent's phone may dial it (`dialout.py`). The media
plane's mixer then makes who hears whom (`hearing`): the agent and the target each other
(the agent hears silence while it rings); after `swap` the agent and the caller, the target
hearing nothing; after `three_way` all three. The agent's phone keeps its one dialog throughout.

The consultation's own call leaves the records of a call between phones (`ExtensionCall*`,
from the agent to the target), or of an outside call (`OutsideCall*`, placed by the agent,
purpose "consulted"), the customer's call its hold and resume (`CallHeld`,
`CallResumed`) and, completed, its `CallTransferred`:

- `complete` (or the agent hanging up with the target on the line) hands the caller to a
  target who is an agent (`CallControl.agent_transfer_attended`, as an attended transfer by
  REFER does): the target's leg becomes the call's agent leg, re-INVITEd onto the call's
  agent-side port, and the agent is let go. A target that is no agent's phone takes the
  caller out of the ACD (`TransfersOut.consulted`, through
  `CallControl.agent_transfer_out`: cause transferred_out, `CallTransferred` to
  "extension:" + user), re-INVITEd onto the call's agent-side port and bridged to the
  caller as a blind transfer's answered target. An outside target is handed the caller the
  same way (`TransfersOut.consulted_out`, `CallTransferred` to "outside:" + number), its
  call, its channel and our id going with it: re-INVITEd onto the customer's call's
  agent-side port, it talks with the caller until either hangs up. Call control
  refusing, the consultation goes on; the agent hanging up then ends the customer's call
  as any agent's hang-up does, and the target is let go.
- `abort`, or the target refusing, not answering (the site's extension ring timeout; an
  outside number's route's ring timeout) or hanging up: the target is let go and the
  agent is back with the caller, off hold.
- the caller hanging up: the call ends as any call does (the agent is hung up by call
  control) and the target is let go: nobody is left on a consultation of a call gone.

Refused at `start` (False): no media plane to mix with, the agent not talking to a caller
or consulting already, an unknown target (no agent, no phone, no route out), the agent
itself, a target busy (every line appearance in use) or not registered, an outside number
the agent's phone may not dial (recorded as a barred outside call) or whose trunk group has
no channel free.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from appliance.events import (
    AgentState,
    ExtensionCallAnswered,
    ExtensionCallEnded,
    ExtensionCallStarted,
    new,
)
from appliance.media import sdp
from appliance.media.plane import Member, MixBroken
from appliance.media.relay import AGENT, CALLER
from appliance.pbx.b2bua.extensions import ExtensionCalls
from appliance.pbx.legs import Leg

if TYPE_CHECKING:
    from appliance.clock import TimerHandle
    from appliance.pbx.b2bua.outside import OutsideCall
    from appliance.pbx.b2bua.transferout import TransfersOut

# The consultation's end, as an `ExtensionCallEnded` cause, by the target's refusal.
_REFUSALS = {486: "busy", 600: "busy", 603: "declined"}
_ON_A_CALL = frozenset({AgentState.RINGING, AgentState.TALKING, AgentState.HELD})
RINGING, CONSULTING, SWAPPED, THREE_WAY = "ringing", "consulting", "swapped", "three_way"
PURPOSE = "consulted"  # an outside target's `OutsideCallStarted.purpose`


def hearing(call: int, target: int, mode: str) -> dict[Member, list[Member]]:
    """Who hears whom while the agent of `call` consults the phone on `target` (our own
    call's agent side) in `mode`. A caller on hold is muted by the plane (music instead)."""
    caller, agent, other = (call, CALLER), (call, AGENT), (target, AGENT)
    trio = [caller, agent, other]
    if mode == THREE_WAY:
        return {m: [o for o in trio if o != m] for m in trio}
    if mode == SWAPPED:
        return {caller: [agent], agent: [caller], other: []}
    return {agent: [other], other: [agent], caller: []}


@dataclass
class Consulting:
    """One agent consulting one target about their caller."""

    agent_leg: Leg  # the agent's leg of the customer's call
    target: str
    id: int  # our own call, on which the target's phone is rung
    mode: str = RINGING
    paused: bool = False  # the target, an agent, paused for the queues meanwhile
    ring_timer: TimerHandle | None = None
    outside: OutsideCall | None = None  # an outside target's call, while it is up
    channel: str = ""  # the trunk group whose channel an outside target holds

    @property
    def call(self) -> int:
        return self.agent_leg.call

    @property
    def agent(self) -> str:
        return self.agent_leg.agent

    @property
    def mix(self) -> str:
        return f"consultation:{self.id}"


class Consultations:
    """The consultations in progress, by our own call's id."""

    def __init__(self, extensions: ExtensionCalls) -> None:
        self.extensions = extensions
        self.dialogs, self.ending, self.cc = extensions.dialogs, extensions.ending, extensions.cc
        self.anchor, self.legs, self.log = extensions.anchor, extensions.legs, extensions.log
        self.internal, self.pauses = extensions.internal, extensions.pauses
        self.sessions: dict[int, Consulting] = {}
        # Our re-INVITE to a phone with a new offer (`Transfers.reconnect`), set by the B2BUA.
        self.reoffer: Callable[[Leg, bytes, float], None] = lambda leg, body, now: None
        # The transfers out of the ACD, for a target that is no agent's (set by the B2BUA).
        self.out: TransfersOut | None = None

    # --- the agent's asks ----------------------------------------------------------------------

    def active(self, agent_leg: Leg) -> bool:
        """Whether the agent of `agent_leg` is consulting (ringing the target included)."""
        return self._of(agent_leg) is not None

    def start(self, agent_leg: Leg, target: str, now: float) -> bool:
        """Hold the caller and ring `target` (an agent id, a phone's user or an outside
        number) from the agent of `agent_leg`; False, nothing changed, if refused (see the
        module's docstring)."""
        if not self._may_start(agent_leg, target):
            return False
        if self.extensions.dialled(target) or self.cc.agent_status(target) is not None:
            return self._ring_phone(agent_leg, target, now)
        return self._call_out(agent_leg, target, now)

    def _ring_phone(self, agent_leg: Leg, target: str, now: float) -> bool:
        if (self.extensions.refusal(agent_leg.agent, target, now) is not None
                or not self._hold(agent_leg.agent, now)):
            return False
        consult = self._open(agent_leg, target, now)
        self.extensions.agent_side.ring_from(consult.id, target, consult.agent, self._offer,
                                             now)
        consult.paused = self.pauses.pause(target, now)
        timeout = self.extensions.ring_timeout
        consult.ring_timer = self.dialogs.deadlines.schedule(now + timeout, self._no_answer,
                                                              consult)
        self.log.append(new(ExtensionCallStarted, (now, consult.id, consult.agent, target)))
        return True

    def _call_out(self, agent_leg: Leg, number: str, now: float) -> bool:
        """Call the outside number `number` through its route out, as the agent's phone
        may dial it, on a channel seized here (given back when the consultation ends,
        or handed to the caller's transfer out)."""
        dialout, agent = self.extensions.dialout, agent_leg.agent
        route = None if dialout is None else dialout.route(number)
        if dialout is None or route is None or dialout.refusal(agent, route, now) is not None:
            return False
        group = route.group.name
        if not self.cc.seize_trunk(group):
            return False
        if not self._hold(agent, now):
            self.cc.release_trunk(group)
            return False
        consult = self._open(agent_leg, number, now)
        consult.channel = group
        consult.outside = dialout.outside.place(consult.id, route, agent, PURPOSE, self._offer,
                                                self, now, held=True)
        return True

    def _hold(self, agent: str, now: float) -> bool:
        """The caller on the ACD's hold: put there now, or there already (`*0`, or the
        phone's re-INVITE, before the consultation); False if the agent has no caller."""
        status = self.cc.agent_status(agent)
        return ((status is not None and status.state is AgentState.HELD)
                or self.cc.agent_hold(now, agent))

    def _open(self, agent_leg: Leg, target: str, now: float) -> Consulting:
        consult = Consulting(agent_leg, target, self.internal.open(self))
        self.sessions[consult.id] = consult
        self._open_media(consult, now)
        return consult

    def _offer(self, leg: Leg) -> bytes:
        """Our offer to the target: our own call's agent-side port."""
        return b"" if self.anchor is None else self.anchor.agent_offer(leg.call, leg)

    def abort(self, agent_leg: Leg, now: float) -> None:
        """The agent goes back to the caller; the target is let go."""
        consult = self._of(agent_leg)
        if consult is not None:
            self._back_to_caller(consult, "caller_hangup", now)

    def swap(self, agent_leg: Leg, now: float) -> None:
        """The agent talks to the caller (the target hears nothing), or back to the target.
        Only once the target answered."""
        consult = self._of(agent_leg)
        if consult is None or consult.mode == RINGING:
            return
        to_caller = consult.mode == CONSULTING
        self._arrange(consult, SWAPPED if to_caller else CONSULTING, now)

    def three_way(self, agent_leg: Leg, now: float) -> None:
        """The caller, the agent and the target all hear each other (target answered)."""
        consult = self._of(agent_leg)
        if consult is not None and consult.mode != RINGING:
            self._arrange(consult, THREE_WAY, now)

    def complete(self, agent_leg: Leg, now: float) -> None:
        """Hand the caller to the target, who answered, and let the agent go; nothing
        changes if the target has not answered or call control will not (see
        `completed`)."""
        consult = self._of(agent_leg)
        if consult is not None:
            self.completed(consult, now)

    def completed(self, consult: Consulting, now: float) -> bool:
        """Complete `consult` if it can be; whether it was."""
        if consult.mode == RINGING:
            return False
        if consult.outside is not None:
            return self._hand_outside(consult, consult.outside, now)
        target_leg = self.legs.rings.get((consult.id, consult.target))
        if target_leg is None:
            return False
        if self.cc.agent_status(consult.target) is None:
            return self._hand_out(consult, target_leg, now)
        self._arrange(consult, THREE_WAY, now)  # the caller off hold in the media
        if not self.cc.agent_transfer_attended(now, consult.agent, consult.target):
            return False
        self._close(consult, "transferred", now)
        self._move(consult, target_leg, consult.call, now)
        return True

    def _hand_outside(self, consult: Consulting, call: OutsideCall, now: float) -> bool:
        """Complete to an outside number: the caller transferred out to it, the far end
        re-INVITEd onto the customer's call's agent-side port; its call, channel and id
        go to the transfer out."""
        leg = call.leg
        if self.out is None or leg is None:
            return False
        self._arrange(consult, THREE_WAY, now)
        if not self.out.consulted_out(consult.agent_leg, call, now):
            return False
        self._close(consult, "transferred", now, handed=True)
        assert self.anchor is not None
        self.reoffer(leg, self.anchor.moved_agent_offer(consult.call, leg), now)
        return self.out.outside_answered(call, now)

    def _hand_out(self, consult: Consulting, target_leg: Leg, now: float) -> bool:
        """Complete to a phone that is no agent's: the caller transferred out to it."""
        if self.out is None:
            return False
        self._arrange(consult, THREE_WAY, now)
        own = self.out.consulted(consult.agent_leg, consult.target, now)
        if own is None:
            return False
        self._close(consult, "transferred", now)
        self._move(consult, target_leg, own, now)
        return self.out.answered(target_leg, now)

    def _move(self, consult: Consulting, target_leg: Leg, call: int, now: float) -> None:
        """The target's leg goes under `call`, its phone re-INVITEd onto the customer's
        call's agent-side port."""
        del self.legs.rings[(consult.id, consult.target)]
        target_leg.call = call
        self.legs.rings[(call, consult.target)] = target_leg
        assert self.anchor is not None
        self.reoffer(target_leg, self.anchor.moved_agent_offer(consult.call, target_leg), now)

    # --- what happens to the legs ----------------------------------------------------------

    def agent_hung_up(self, agent_leg: Leg, now: float) -> bool:
        """The agent's phone hung up: True if that completed their consultation (call
        control is not to hear of it as the agent's hang-up); otherwise the target is let
        go and the call ends as it would have."""
        consult = self._of(agent_leg)
        if consult is None:
            return False
        if self.completed(consult, now):
            return True
        self._let_go(consult, "caller_hangup", now)
        return False

    def answered(self, leg: Leg, now: float) -> bool:
        """The target answered: the agent talks with them."""
        consult = self.sessions.get(leg.call)
        if consult is None or not self._talk(consult, leg, now):
            return False
        self.log.append(new(ExtensionCallAnswered, (now, consult.id)))
        self._arrange(consult, CONSULTING, now)
        return True

    def _talk(self, consult: Consulting, leg: Leg, now: float) -> bool:
        """Our own call's agent side faces the target of `leg`, who answered; False if
        its answer has no audio we can use."""
        self._stop_timer(consult)
        answer = sdp.readable(leg.answer_body)
        stream = None if answer is None else next(
            (m for m in answer.media if m.media == "audio" and not m.rejected), None)
        if answer is None or stream is None or self.anchor is None:
            return False
        connection = stream.connection or answer.connection
        address = (connection.address if connection else "0.0.0.0", stream.port)
        self.anchor.media.set_agent(consult.id, address, now)
        self.dialogs.start_session_timer(leg, now)
        return True

    def refused(self, leg: Leg, status: int, reason: str, now: float) -> None:
        """The target refused or never answered: back to the caller."""
        consult = self.sessions.get(leg.call)
        if consult is not None:
            self._back_to_caller(consult, _REFUSALS.get(status, "unavailable"), now)

    def leg_ended(self, leg: Leg, now: float) -> None:
        """The target hung up (or was found gone): back to the caller."""
        consult = self.sessions.get(leg.call)
        if consult is not None:
            self._back_to_caller(consult, "callee_hangup", now)

    # --- an outside target's call (`OutsideRequester`) ---------------------------------------

    def outside_answered(self, call: OutsideCall, now: float) -> bool:
        consult = self.sessions.get(call.id)
        if consult is None or call.leg is None:
            return False
        if self._talk(consult, call.leg, now):
            self._arrange(consult, CONSULTING, now)
            return True
        self.outside_failed(call, now)  # no audio to talk with: as if never answered
        return False

    def outside_failed(self, call: OutsideCall, now: float) -> None:
        consult = self.sessions.get(call.id)
        if consult is not None:
            consult.outside = None  # over: nothing of it to give up
            self._back_to_caller(consult, "unavailable", now)

    def outside_ended(self, call: OutsideCall, now: float) -> None:
        self.outside_failed(call, now)

    def broken(self, event: MixBroken, now: float) -> None:
        """The customer's call ended or lost its agent while consulting: the target is let
        go (our own closes leave no session to find)."""
        consult = next((c for c in self.sessions.values() if c.mix == event.name), None)
        if consult is not None:
            self._let_go(consult, "caller_hangup", now)

    # --- inside --------------------------------------------------------------------------------

    def _may_start(self, agent_leg: Leg, target: str) -> bool:
        status = self.cc.agent_status(target)
        busy = status is not None and status.state in _ON_A_CALL
        return (self.anchor is not None and not busy and target != agent_leg.agent
                and agent_leg.partner is not None and not agent_leg.ended
                and agent_leg.call > 0 and self._of(agent_leg) is None)

    def _of(self, agent_leg: Leg) -> Consulting | None:
        return next((c for c in self.sessions.values() if c.agent_leg is agent_leg), None)

    def _open_media(self, consult: Consulting, now: float) -> None:
        """Our own call's media, in the customer's call's law: its agent side faces the
        target; its caller side faces nobody (never timed)."""
        assert self.anchor is not None
        media = self.anchor.media
        media.open(consult.id, now)
        ours, theirs = media.calls[consult.id], media.calls[consult.call]
        ours.payload_type, ours.event_payload_type = theirs.payload_type, None
        media.relay.watch(consult.id, CALLER, False, now)
        media.hold_caller(consult.call, True, now)
        media.mix(consult.mix, hearing(consult.call, consult.id, RINGING), now)

    def _arrange(self, consult: Consulting, mode: str, now: float) -> None:
        """Who hears whom in `mode`, the caller on hold only while consulting; the ACD's
        hold follows."""
        assert self.anchor is not None
        media = self.anchor.media
        held = mode == CONSULTING
        if media.calls[consult.call].held != held:
            hold = self.cc.agent_hold if held else self.cc.agent_resume
            hold(now, consult.agent)
        media.hold_caller(consult.call, held, now)
        consult.mode = mode
        media.mix(consult.mix, hearing(consult.call, consult.id, mode), now)

    def _back_to_caller(self, consult: Consulting, cause: str, now: float) -> None:
        self._let_go(consult, cause, now)
        assert self.anchor is not None
        self.anchor.media.hold_caller(consult.call, False, now)
        self.cc.agent_resume(now, consult.agent)

    def _let_go(self, consult: Consulting, cause: str, now: float) -> None:
        """End the target's leg (ringing: CANCEL) and our own call."""
        target_leg = self.legs.rings.get((consult.id, consult.target))
        self._close(consult, cause, now)
        if consult.outside is not None and self.extensions.dialout is not None:
            self.extensions.dialout.outside.hang_up(consult.outside, now)  # and its records
        elif target_leg is not None and target_leg.dialog is None:  # ringing: CANCEL
            self.extensions.agent_side.stop_ringing(consult.id, consult.target, now)
        elif target_leg is not None:
            self.ending.hang_up(target_leg, now)
        if consult.channel:
            self.cc.release_trunk(consult.channel)

    def _close(self, consult: Consulting, cause: str, now: float, handed: bool = False) -> None:
        """Forget `consult`: its timer, mix, media, pause and id (unless `handed` on with
        its outside call); its last record (an outside call's are its own)."""
        del self.sessions[consult.id]
        self._stop_timer(consult)
        if not handed:
            self.internal.close(consult.id)
        if self.anchor is not None:
            self.anchor.media.unmix(consult.mix)
            self.anchor.media.close(consult.id, now)
        if consult.paused:
            self.pauses.give_back(consult.target, now)
        if not consult.channel:
            self.log.append(new(ExtensionCallEnded, (now, consult.id, cause)))

    def _no_answer(self, now: float, consult: Consulting) -> None:
        consult.ring_timer = None
        if self.sessions.get(consult.id) is consult and consult.mode == RINGING:
            self._back_to_caller(consult, "no_answer", now)

    def _stop_timer(self, consult: Consulting) -> None:
        if consult.ring_timer is not None:
            consult.ring_timer.cancel()
            consult.ring_timer = None
