"""The B2BUA's own calls, beside call control's: calls between phones (`extensions.py`),
calls a phone places out through a trunk (`dialout.py`) and a phone's calls to its voicemail
(`retrieval.py`). Their ids are negative, never one of call control's, and each belongs to
the part that opened it; what happens on their legs is routed here: an outside leg's to the
outside calls (`outside.py`), any other to the owner, and the digits of a call whose owner
takes keys (a menu) to that owner."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from appliance.pbx.legs import Leg, OutsideLeg
from appliance.pbx.sip.message import Response

if TYPE_CHECKING:
    from appliance.media import sdp
    from appliance.pbx.b2bua.anchor import MediaAnchor
    from appliance.pbx.b2bua.dialogs import Dialogs


class InternalParty(Protocol):
    """What a part carrying B2BUA calls hears about their legs."""

    def answered(self, leg: Leg, now: float) -> bool:
        """Our INVITE on `leg` was answered (2xx); False: the call is gone (hang `leg` up)."""
        ...

    def refused(self, leg: Leg, status: int, reason: str, now: float) -> None:
        """Our INVITE on `leg` failed: the final `status` (0 when none came, or a 2xx we
        could not use came) and the ACD's reason code for it (`agents.refusal_reason`)."""
        ...

    def leg_ended(self, leg: Leg, now: float) -> None:
        """`leg`'s party left (BYE, CANCEL, found gone, shutdown)."""
        ...


@runtime_checkable
class KeyTaker(Protocol):
    """A part whose calls are driven by the phone's keys (RFC 4733 or INFO)."""

    def digit(self, call: int, digit: str, now: float) -> None: ...


@runtime_checkable
class Challenged(Protocol):
    """A part whose INVITEs a far end may challenge (the outside calls)."""

    def challenged(self, leg: Leg, challenge: Response, now: float) -> bool: ...


class NothingRung:
    """A part that rings nothing on its calls (their legs are answered here, or placed by
    the outside calls): no INVITE of its own is ever answered or refused."""

    def answered(self, leg: Leg, now: float) -> bool:
        return False

    def refused(self, leg: Leg, status: int, reason: str, now: float) -> None:
        """Never asked: see `answered`."""


class CalledIn(NothingRung):
    """A part whose calls are phones calling in, each answered with media on the relay as
    a new call of the part's own (`answer_call_in`)."""

    dialogs: Dialogs
    anchor: MediaAnchor | None
    internal: InternalCalls | None

    def answer_call_in(self, leg: Leg, offer: sdp.Sdp, now: float) -> None:
        """Answer `leg`, a phone's INVITE with an acceptable `offer`, with media on the
        relay: `leg.call` is then a new call id of this part's, `leg` its caller leg, and
        the leg's session timer runs."""
        assert self.anchor is not None and self.internal is not None
        leg.call = self.internal.open(self)
        self.dialogs.legs.callers[leg.call] = leg
        self.dialogs.answer(leg, self.anchor.caller_answer(leg, offer, False, now), now)
        self.dialogs.start_session_timer(leg, now)


def is_internal(call: int) -> bool:
    """Whether `call` is one of the B2BUA's calls, not call control's."""
    return call < 0


class InternalCalls:
    """Hands out the B2BUA's call ids and routes their legs' events to their parts."""

    def __init__(self) -> None:
        self.owners: dict[int, InternalParty] = {}
        self.outside: InternalParty | None = None  # the outside legs' part, once built
        self._last_id = 0

    def open(self, owner: InternalParty) -> int:
        """A new call id, whose legs' events go to `owner` until `close`."""
        self._last_id -= 1
        self.owners[self._last_id] = owner
        return self._last_id

    def hand_over(self, call: int, owner: InternalParty) -> None:
        """`call`'s legs' events go to `owner` from now on (a call forwarded out; or one of
        call control's, let go, whose caller's leg goes on: a transfer out)."""
        self.owners[call] = owner

    def owns(self, call: int) -> bool:
        """Whether `call`'s legs' events come here: one of the B2BUA's calls, or one of call
        control's a part has taken over (`hand_over`: a trunk caller a ring group rings for)."""
        return call < 0 or call in self.owners

    def close(self, call: int) -> None:
        self.owners.pop(call, None)

    def takes_digits(self, call: int) -> bool:
        """Whether `call`'s digits are commands for its owner (not the caller's to log)."""
        return isinstance(self.owners.get(call), KeyTaker)

    def digit(self, call: int, digit: str, now: float) -> None:
        owner = self.owners.get(call)
        if isinstance(owner, KeyTaker):
            owner.digit(call, digit, now)

    def answered(self, leg: Leg, now: float) -> bool:
        party = self._party(leg)
        return party is not None and party.answered(leg, now)

    def refused(self, leg: Leg, status: int, reason: str, now: float) -> None:
        party = self._party(leg)
        if party is not None:
            party.refused(leg, status, reason, now)

    def leg_ended(self, leg: Leg, now: float) -> None:
        party = self._party(leg)
        if party is not None:
            party.leg_ended(leg, now)

    def challenged(self, leg: Leg, challenge: Response, now: float) -> bool:
        """Whether `leg`'s INVITE, challenged (401/407), went again with credentials: only
        an outside leg's may (`OutsideCalls.challenged`)."""
        return (isinstance(leg, OutsideLeg) and isinstance(self.outside, Challenged)
                and self.outside.challenged(leg, challenge, now))

    def _party(self, leg: Leg) -> InternalParty | None:
        if isinstance(leg, OutsideLeg):
            return self.outside
        return self.owners.get(leg.call)
