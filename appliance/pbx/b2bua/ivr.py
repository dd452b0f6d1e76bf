"""The B2BUA's side of the IVR: call control walks a caller through a flow; here its caller is
answered, hears the flow's prompts and has its lookups handed to the driver.

An IVR caller is always answered (200, whatever `queued_callers` says): the flow speaks to
it, and SIP INFO digits need a confirmed dialog. With the media anchored the answer is the
relay's, as for a queued caller, but no welcome and no music: the flow plays its own prompts.
Without a media plane (SIP-fidelity simulation) the answer is an SDP answer of our own to the
caller's offer, receiving on the discard port (9) of the B2BUA's host: nothing is played, and
an agent who answers later reaches the caller by re-INVITE (`Transfers.reconnect`). A caller
who leaves the flow for a queue hears the queue's welcome and music from then on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance.media import sdp
from appliance.pbx.actions import LookUp, PlayPrompts
from appliance.pbx.b2bua.anchor import MediaAnchor
from appliance.pbx.b2bua.dialogs import Dialogs
from appliance.pbx.callcontrol import CallControl
from appliance.pbx.legs import Leg

if TYPE_CHECKING:
    from appliance.config import Site

DISCARD_PORT = 9  # RFC 863: where a B2BUA that plays nothing says it receives


class IvrCalls:
    """Callers in the IVR: answered, prompted, and their lookups until the driver takes them."""

    def __init__(self, dialogs: Dialogs, anchor: MediaAnchor | None, cc: CallControl) -> None:
        self.dialogs = dialogs
        self.anchor = anchor
        self.cc = cc
        self.lookups: list[LookUp] = []

    def apply(self, site: Site) -> None:
        self.site = site

    def answer(self, call: int, now: float) -> None:
        """`AnswerCaller`: a 200 now (held until the log is durable, as every answer)."""
        leg = self.dialogs.legs.callers.get(call)
        if leg is None or leg.ended or leg.dialog is not None:
            return
        anchor = self.anchor
        if anchor is not None and leg.call in anchor.media.calls:
            body = leg.sent_body  # a queued caller on early media (sent to voicemail): as sent
        else:
            body = self._own_answer(leg) if anchor is None else self._anchored_answer(leg, now)
        self.dialogs.answer(leg, body, now)
        self.dialogs.start_session_timer(leg, now)

    def _anchored_answer(self, leg: Leg, now: float) -> bytes:
        anchor = self.anchor
        assert anchor is not None
        offer = anchor.acceptable_offer(leg.invite.body)
        assert offer is not None  # checked before the call was offered to call control
        # A call its flow sent straight into a room has left call control already: it keys
        # nothing in any more, so in-band digits (an analog line's) need no listening for.
        call = self.cc.calls.get(leg.call)
        analog = call is not None and self.site.trunk_group(call.trunk_group).kind == "analog"
        return anchor.caller_answer(leg, offer, analog, now)

    def _own_answer(self, leg: Leg) -> bytes:
        """Our answer to the caller's offer when nothing is played (see the module's doc)."""
        host = self.dialogs.here.address[0]
        leg.sdp_session = self.dialogs.rng.getrandbits(31)
        offer = sdp.readable(leg.invite.body)
        if offer is None:
            return bytes(sdp.declining(None, host, leg.sdp_session))
        return bytes(sdp.answer(offer, host, DISCARD_PORT, session_id=leg.sdp_session,
                                session_version=leg.sdp_version))

    def play(self, action: PlayPrompts, now: float) -> None:
        """The flow's prompts, in its language, instead of whatever the caller heard: the
        flow times its prompts itself, so what it plays now is what it means to play."""
        if self.anchor is None:
            return
        media = self.anchor.media
        media.silence(action.call)
        media.play(action.call, action.names, now, action.language)

    def stop(self, call: int) -> None:
        """`StopPrompts`: silence (the IVR plays no music)."""
        if self.anchor is not None:
            self.anchor.media.silence(call)

    def take_lookups(self) -> list[LookUp]:
        lookups, self.lookups = self.lookups, []
        return lookups

    def language(self, call: int) -> str:
        """The language a call's prompts are played in outside the IVR: the one its flow
        left it in, else the site's."""
        found = self.cc.calls.get(call)
        return (found.language if found is not None else "") or self.site.media.language

    def queued(self, call: int, now: float) -> None:
        """`LeaveIvr` to a queue, or to an agent being rung: the caller hears the welcome
        and music, as a queued caller does."""
        if self.anchor is not None:
            self.anchor.welcome(call, now, self.language(call))
