"""Conference rooms: a phone dials a room's number (`sip.conferences`) and talks with everyone
else in it, mixed by the media plane's mixer (each member hears all the others).

Each member's call is a caller leg of its own (one of the B2BUA's own call ids,
`internal.py`),
answered with media on the relay. A room with a PIN lets a member in once they key it in
(then # or the PIN's length; three wrong tries and they are hung up); until then they hear
nobody and nobody hears them. Joining and leaving leave `ConferenceJoined` and
`ConferenceLeft` records; no queue figure changes. A member who is a logged-in agent is
paused for the queues while in the room, at its door included (`pauses.py`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from appliance.eventlog import EventLog
from appliance.events import ConferenceJoined, ConferenceLeft, new
from appliance.media import sdp
from appliance.media.plane import Member, MixBroken
from appliance.media.relay import CALLER
from appliance.pbx.b2bua.anchor import MediaAnchor
from appliance.pbx.b2bua.dialogs import Dialogs
from appliance.pbx.b2bua.ending import LegEnding
from appliance.pbx.b2bua.internal import CalledIn
from appliance.pbx.ivr.roompin import PIN_TRIES
from appliance.pbx.legs import Leg

if TYPE_CHECKING:
    from appliance.config.live import ConferenceRoom, Sip
    from appliance.pbx.actions import JoinRoom
    from appliance.pbx.b2bua.internal import InternalCalls
    from appliance.pbx.b2bua.pauses import InternalPauses
    from appliance.pbx.callcontrol import CallControl

NO_MEDIA = (488, "Not Acceptable Here")


def everyone(calls: Iterable[int]) -> dict[Member, list[Member]]:
    """Each member hears every other member."""
    members = [(call, CALLER) for call in calls]
    return {member: [m for m in members if m != member] for member in members}


@dataclass
class RoomMember:
    """One phone in (or at the door of) a room."""

    room: str
    party: str
    leg: Leg
    admitted: bool = False
    keyed: str = ""
    tries: int = 0
    paused: bool = False  # an agent, paused for the queues while a member
    trunk: str = ""  # a customer's call transferred in: the trunk group whose channel it holds


class Conferences(CalledIn):
    """The site's rooms and who is in each."""

    def __init__(self, dialogs: Dialogs, ending: LegEnding, anchor: MediaAnchor | None,
                 internal: InternalCalls, log: EventLog, pauses: InternalPauses,
                 cc: CallControl) -> None:
        self.dialogs, self.ending, self.anchor, self.internal = dialogs, ending, anchor, internal
        self.legs, self.log, self.pauses, self.cc = dialogs.legs, log, pauses, cc
        self.rooms: dict[str, ConferenceRoom] = {}
        self.members: dict[int, RoomMember] = {}

    def apply(self, sip: Sip) -> None:
        self.rooms = {room.number: room for room in sip.conferences}

    def dialled(self, number: str) -> bool:
        return number in self.rooms

    def refusal(self) -> tuple[int, str] | None:
        return NO_MEDIA if self.anchor is None else None

    def join(self, leg: Leg, offer: sdp.Sdp, party: str, room: str, now: float) -> None:
        """Answer `leg`, a phone that dialled `room`; in at once unless the room has a PIN."""
        self.answer_call_in(leg, offer, now)
        member = self.members[leg.call] = RoomMember(room, party, leg)
        member.paused = self.pauses.pause(party, now)
        if self.rooms[room].pin is None:
            self._admit(member, now)

    def take(self, caller: Leg, party: str, room: str, trunk: str, now: float) -> None:
        """`caller`, a customer's answered leg whose call call control has let go (cause
        CONFERENCE), joins `room` at once - no PIN: their agent brought them - and keeps its
        call's id; the channel of trunk group `trunk` it holds is given back when it leaves."""
        assert self.anchor is not None
        self.anchor.media.silence(caller.call)  # no music in the room
        member = self.members[caller.call] = RoomMember(room, party, caller, trunk=trunk)
        self._admit(member, now)

    def enter(self, join: JoinRoom, now: float) -> None:
        """`JoinRoom`: a caller an IVR exit sent in, its PIN checked already, joins (`take`).
        Without a media plane to mix with, or with the caller gone, the channel it held is
        given back at once (and a caller still there hung up)."""
        caller = self.legs.callers.get(join.call)
        if caller is not None and self.anchor is not None:
            self.take(caller, join.party, join.room, join.trunk_group, now)
            return
        if join.trunk_group:
            self.cc.release_trunk(join.trunk_group)
        if caller is not None:
            self.ending.hang_up(caller, now)

    def digit(self, call: int, digit: str, now: float) -> bool:
        """A digit of a member's call: True if it was one (a PIN's, or ignored once in)."""
        member = self.members.get(call)
        if member is None:
            return False
        pin = self.rooms[member.room].pin if member.room in self.rooms else None
        if member.admitted or pin is None:
            return True
        if digit != "#":
            member.keyed += digit
        if digit == "#" or len(member.keyed) >= len(pin):
            self._try_pin(member, pin, now)
        return True

    def broken(self, event: MixBroken, now: float) -> None:
        """A member's call ended (its media closed, which dissolved the room's mix): the
        others go on without them."""
        member = self.members.pop(event.call, None)
        if member is not None:
            self._left(member, now)
            self._give_back(member, now)
        if member is not None and member.trunk:
            self.cc.release_trunk(member.trunk)

    def leg_ended(self, leg: Leg, now: float) -> None:
        """A member hung up (the mix tells of one let in: `broken`; one not let in yet has
        no mix to tell of it)."""
        self.internal.close(leg.call)
        member = self.members.get(leg.call)
        if member is not None and not member.admitted:
            del self.members[leg.call]
            self._give_back(member, now)

    def _try_pin(self, member: RoomMember, pin: str, now: float) -> None:
        if member.keyed == pin:
            self._admit(member, now)
            return
        member.keyed, member.tries = "", member.tries + 1
        if member.tries >= PIN_TRIES:
            del self.members[member.leg.call]
            self._give_back(member, now)
            self.ending.hang_up(member.leg, now)

    def _give_back(self, member: RoomMember, now: float) -> None:
        if member.paused:
            member.paused = False
            self.pauses.give_back(member.party, now)

    def _admit(self, member: RoomMember, now: float) -> None:
        member.admitted = True
        self.log.append(new(ConferenceJoined, (now, member.room, member.leg.call,
                                               member.party)))
        self._remix(member.room, now)

    def _left(self, member: RoomMember, now: float) -> None:
        if member.admitted:
            self.log.append(new(ConferenceLeft, (now, member.room, member.leg.call,
                                                 member.party)))
            self._remix(member.room, now)

    def _remix(self, room: str, now: float) -> None:
        assert self.anchor is not None
        calls = [call for call, m in self.members.items() if m.room == room and m.admitted]
        if calls:
            self.anchor.media.mix(f"conference:{room}", everyone(calls), now)
