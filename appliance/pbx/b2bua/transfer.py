"""Blind transfer by REFER (RFC 3515; the call flow of RFC 5589 6.1): an agent's phone refers
its caller to a queue (by its name or a number a route gives it) or to another agent (by
their id, which is their phone's user).

The appliance holds the caller's side, so it is the transferee: it accepts the REFER (202),
call control queues the call at the target and releases the agent (`HangUpAgent`: our BYE),
and one NOTIFY with a message/sipfrag body reports the outcome and ends the implicit
subscription (none with `Refer-Sub: false`, RFC 4488). The caller, left by the agent, is
back in a queue: with the media anchored it hears music again (and is taken off hold); when
the appliance passes SDP through, the next agent's answer reaches it in a re-INVITE.

A REFER to the site's park number parks the call instead (`parking.py`): the final NOTIFY
says "200 Parked 701" with the slot's number; 486 if every slot is taken.

A REFER to a phone that is no logged-in agent's or an outside number takes the call out of
the ACD, and one to a ring group's number rings the group while call control keeps the call
until someone answers (`transferout.py`); `blind` is the one way in for every
target but an attended transfer's, also for a feature code dialled in a call.

Refused before anything changes, the call going on with the same agent: a REFER from anyone
but an agent in conversation (403), without exactly one readable Refer-To (400), a target
that is no queue, agent, room, phone nor number a route out takes (404), an agent whose
phone is not registered (480) or who is not free (486: on a call, ringing, wrapping up,
paused), a transfer call control will not make (603), and a phone or outside number that
cannot be rung now (`transferout.py`).
A target agent who does not answer within their ring timeout (or refuses the ring) gives the
call back: the transferring agent is rung again, and if they do not take it either, the call
goes back to the queue it came from (`Acd.transfer_to_agent`). A Refer-To with Replaces is
an attended transfer (`attended.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from appliance.media import sdp
from appliance.pbx.acd.core import DIRECT_PREFIX, direct_target
from appliance.pbx.b2bua.anchor import MediaAnchor
from appliance.pbx.b2bua.answers import Answers
from appliance.pbx.b2bua.attended import AttendedTransfers
from appliance.pbx.b2bua.conference import NO_MEDIA, Conferences
from appliance.pbx.b2bua.dialogs import Dialogs
from appliance.pbx.b2bua.ending import UNAVAILABLE
from appliance.pbx.b2bua.extensions import BUSY
from appliance.pbx.b2bua.phones import Phones
from appliance.pbx.callcontrol import CallControl
from appliance.pbx.legs import Leg, Role
from appliance.pbx.sip.layer import Key
from appliance.pbx.sip.message import Request, Response, SipError, parse_cseq, parse_name_addr
from appliance.pbx.sip.uri import parse_uri

if TYPE_CHECKING:
    from appliance.pbx.b2bua.transferout import TransfersOut

Refusal = tuple[int, str]
SIPFRAG = "message/sipfrag;version=2.0"
TRYING = b"SIP/2.0 100 Trying"  # an attended transfer's first NOTIFY (RFC 5589 7)
DONE = b"SIP/2.0 200 OK"
NOT_FOUND = (404, "Not Found")


class Blind(NamedTuple):
    """What a blind transfer came to: why not (None: done), the status line of the
    REFER's final NOTIFY (a park's names the slot), and a park's slot."""

    refusal: Refusal | None
    outcome: bytes = DONE
    slot: int | None = None


class Transfers:
    """REFERs from agents' phones, and what a caller left by its agent needs."""

    def __init__(self, dialogs: Dialogs, answers: Answers, anchor: MediaAnchor | None,
                 cc: CallControl, phones: Phones, attended: AttendedTransfers) -> None:
        self.dialogs = dialogs
        self.attended = attended
        self.phones = phones
        self.answers = answers
        self.anchor = anchor
        self.cc = cc
        self.reoffers: dict[Key, bytes] = {}  # our re-INVITEs to callers -> their offer
        # Call park (`parking.py`): the number a REFER parks the call at, and what parks it
        # (the slot, None if no slot is free).
        self.park_number = ""
        self.park: Callable[[Leg, float], int | None] | None = None
        self.rooms: Conferences | None = None  # conference rooms, a REFER's other target
        self.out: TransfersOut | None = None  # phones and outside numbers, once built

    def refer(self, leg: Leg, request: Request, now: float) -> None:
        """`request` is a REFER in `leg`'s dialog."""
        refusal, user, replaces = self._target(leg, request)
        taker = None
        outcome = DONE
        if refusal is None and replaces is not None:
            refusal, taker = self.attended.transfer(leg, replaces, now)
        elif refusal is None:
            refusal, outcome, _ = self.blind(leg, user, now)
        if refusal is not None:
            self.answers.respond(request, *refusal, now)
            return
        subscribed = (request.headers.get("Refer-Sub") or "").strip().lower() != "false"
        self.answers.respond(request, 202, "Accepted", now,
                             None if subscribed else [("Refer-Sub", "false")])
        if subscribed and taker is not None:
            self._notify(leg, request, now, TRYING)
        if subscribed:
            self._notify(leg, request, now, outcome)
        caller = leg.partner
        if taker is not None and caller is not None:
            self._reoffer(taker, self.attended.offer_to_taker(caller, taker), now)

    def blind(self, leg: Leg, user: str, now: float) -> Blind:
        """Blind-transfer the caller of `leg` (an agent's leg in conversation) to what
        `user` dials: the park number, a queue (its name or a routed number), a conference
        room, another agent, a phone, a ring group or an outside number (`transferout.py`).
        A refusal leaves the call with the agent as it was (see the module's docstring)."""
        if leg.role is not Role.AGENT or leg.partner is None:
            return Blind((403, "Forbidden"))
        if self.park_number and user == self.park_number:
            return self._park(leg, now)
        queue = self.cc.transfer_queue(now, leg.agent, user)
        if queue is not None:
            return Blind(self._transfer(leg.agent, queue, now))
        if self.rooms is not None and self.rooms.dialled(user):
            return Blind(self._to_room(leg, user, now))
        if user != leg.agent and self.cc.agent_status(user) is not None:
            return Blind(self._transfer(leg.agent, direct_target(user), now))
        if self.out is None:
            return Blind(NOT_FOUND)
        return Blind(self.out.transfer(leg, user, now))

    def _park(self, leg: Leg, now: float) -> Blind:
        """Park the agent's call: its slot in the NOTIFY (the phone may show it); 486 if
        every slot is taken."""
        slot = None if self.park is None else self.park(leg, now)
        if slot is None:
            return Blind((486, "Park Lot Full") if self.park is not None else (603, "Declined"))
        return Blind(None, b"SIP/2.0 200 Parked %d" % slot, slot)

    def _transfer(self, agent: str, target: str, now: float) -> Refusal | None:
        """Hand the agent's call to `target` (a queue, or an agent as "agent:" + id); why
        not, if call control will not."""
        other = target.removeprefix(DIRECT_PREFIX)
        if other == target:
            done = self.cc.agent_transfer(now, agent, target)
        elif self.phones.target(other, now) is None:
            return UNAVAILABLE  # no phone registered for the agent: nobody to ring
        else:
            done = self.cc.agent_transfer_to_agent(now, agent, other)
            if not done:
                return BUSY  # on a call, ringing, wrapping up or paused: not free for it
        return None if done else (603, "Declined")

    def _to_room(self, leg: Leg, room: str, now: float) -> Refusal | None:
        """Send the agent's caller into conference room `room`: call control lets the call
        go (cause CONFERENCE), the caller is off the agent's media and joins; why not (no
        media plane to mix with: 488; a call control will not let go: 603)."""
        caller = leg.partner
        if self.rooms is None or self.anchor is None or caller is None:
            return NO_MEDIA
        call = self.cc.agent_to_conference(now, leg.agent, room)
        if call is None:
            return (603, "Declined")
        self.agent_left(caller, now)
        self.rooms.take(caller, call.ani, room, call.trunk_group, now)
        return None

    def _target(self, leg: Leg, request: Request) -> tuple[Refusal | None, str, str | None]:
        """Why not, or the Refer-To's user and its Replaces, if any."""
        if leg.role is not Role.AGENT or leg.partner is None:
            return (403, "Forbidden"), "", None
        values = request.headers.get_all("Refer-To")
        if len(values) != 1:
            return (400, "Exactly One Refer-To Expected"), "", None
        try:
            target = parse_uri(parse_name_addr(values[0]).uri)
        except (SipError, ValueError):
            return (400, "Bad Refer-To"), "", None
        replaces = [value for name, value in target.headers if name.lower() == "replaces"]
        return None, target.user or "", replaces[0] if replaces else None

    def _notify(self, leg: Leg, refer: Request, now: float, status: bytes = DONE) -> None:
        """The REFER's progress in a NOTIFY (RFC 3515 2.4.4, 2.4.5): `status`, a sipfrag's
        status line (a park's names the slot); the final one (2xx) ends the subscription."""
        number, _ = parse_cseq(refer.headers.get("CSeq") or "")
        request = self.dialogs.request(leg, "NOTIFY", now)
        headers = request.headers.add("Event", f"refer;id={number}")
        state = "active;expires=60" if status == TRYING else "terminated;reason=noresource"
        headers = headers.add("Subscription-State", state)
        headers = headers.add("Content-Type", SIPFRAG)
        body = status + b"\r\n"
        self.dialogs.send(leg, Request("NOTIFY", request.uri, headers, body), "notify", now)

    # --- the caller left behind -------------------------------------------------------------

    def agent_left(self, caller: Leg, now: float) -> None:
        """`caller`'s agent left and the call goes on in a queue: music again, off hold."""
        anchor = self.anchor
        if anchor is None:
            return
        anchor.media.unbridge(caller.call, now)
        self.caller_off_hold(caller, now)

    def caller_off_hold(self, caller: Leg, now: float) -> None:
        """Our last SDP to `caller` held it (a hold relayed from its agent's phone): offer
        it sendrecv again, so that it sends to us."""
        held = sdp.readable(caller.sent_body)
        if self.anchor is not None and held is not None and sdp.is_hold(caller.sent_body):
            resumed = bytes(sdp.with_audio_direction(held, "sendrecv"))
            self._reoffer(caller, self.anchor.anchored(caller, resumed), now)

    def reconnect(self, caller: Leg, answer: bytes, now: float) -> None:
        """SDP passed through: the caller, answered by an earlier agent, gets the new
        agent's SDP in a re-INVITE."""
        self._reoffer(caller, answer, now)

    def _reoffer(self, caller: Leg, body: bytes, now: float) -> None:
        """Our re-INVITE with `body` to the caller; while another is in progress in its
        dialog (or after a 491), again a little later, as long as the caller is there."""
        dialogs = self.dialogs
        if not caller.confirmed:
            return
        if dialogs.our_offer(caller):
            request = dialogs.request(caller, "INVITE", now, body)
            self.reoffers[dialogs.send(caller, request, "reoffer", now)] = body
        else:
            dialogs.deadlines.schedule(now + dialogs.retry_after_glare(), self._again, caller,
                                       body)

    def _again(self, now: float, caller: Leg, body: bytes) -> None:
        self._reoffer(caller, body, now)

    def reoffer_answered(self, caller: Leg, key: Key, response: Response | None,
                         now: float) -> None:
        """The caller's answer to our re-INVITE: ACK a 2xx; after a 491 send it again; any
        other refusal leaves the media as it was (one-way, perhaps, until the next
        re-INVITE)."""
        body = self.reoffers.pop(key)
        self.dialogs.offer_answered(caller)
        if response is None or not caller.confirmed:
            return
        if 200 <= response.status < 300:
            self.dialogs.ack(caller, response, now)
            if self.anchor is not None and response.body:
                self.anchor.update(caller, response.body, now, offer=False)
        elif response.status == 491:
            self._reoffer(caller, body, now)
