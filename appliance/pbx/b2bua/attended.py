"""Attended (consultative) transfer: RFC 5589 section 7, with the Replaces of RFC 3891.

An agent talks to their caller, holds them, calls another agent's phone (a call between
phones, `extensions.py`), talks, and then sends REFER in the caller's dialog with
``Refer-To: <sip:B@box?Replaces=<consultation Call-ID>;to-tag=..;from-tag=..>``. The
appliance is both the transferee (it holds the caller's side) and the target (it holds the
consultation's other side), so it sends no INVITE with Replaces: it finds the consultation by
its dialog (to-tag: our tag in it; a from-tag in its place is taken too) and hands the
caller to the consulted agent at once (`Acd.take_over`: no ring, their KPIs count the call).
The consulted phone's leg becomes the call's agent leg; the transferring phone's two legs get
our BYE. The caller is taken off hold and, with the media anchored, the consulted phone is
re-INVITEd onto the call's agent-side relay port; when SDP is passed through, each party gets
the other's SDP in a re-INVITE.

Refused, the call going on as it was: no answered consultation of this agent matches the
Replaces (404), its other party is a phone that is no agent's (403: a customer call stays
with agents), or call control will not (603: the consulted agent is on another call).
"""

from __future__ import annotations

import re

from appliance.pbx.b2bua.anchor import MediaAnchor
from appliance.pbx.b2bua.ending import LegEnding
from appliance.pbx.b2bua.extensions import ExtensionCall, ExtensionCalls
from appliance.pbx.callcontrol import CallControl
from appliance.pbx.legs import Leg

Refusal = tuple[int, str]

NOT_FOUND = (404, "Consultation Call Not Found")
NOT_AN_AGENT = (403, "Transfer Target Is No Agent")
_ESCAPED = re.compile(r"%([0-9A-Fa-f]{2})")


def unescaped(text: str) -> str:
    """`text` with its %XX escapes (RFC 3261 25.1: a URI header's value) decoded, each to
    one character (a Call-ID and tags are ASCII words)."""
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text)


def replaced_dialog(value: str) -> tuple[str, list[str]]:
    """A Replaces value (as a Refer-To URI header, percent-encoded or not): its Call-ID and
    the tags to find our side of the dialog by, the to-tag first."""
    call_id, *params = unescaped(value).split(";")
    tags = dict(p.strip().partition("=")[::2] for p in params)
    return call_id.strip(), [tags[name] for name in ("to-tag", "from-tag") if tags.get(name)]


class AttendedTransfers:
    """REFERs with Replaces: the consultation found, the caller handed over."""

    def __init__(self, extensions: ExtensionCalls, ending: LegEnding,
                 anchor: MediaAnchor | None, cc: CallControl) -> None:
        self.extensions, self.ending, self.anchor, self.cc = extensions, ending, anchor, cc

    def consultation(self, leg: Leg, replaces: str) -> ExtensionCall | None:
        """The answered call `leg`'s agent made from their phone that `replaces` names."""
        call_id, tags = replaced_dialog(replaces)
        for tag in tags:
            found = self.extensions.legs.dialog(call_id, tag)
            call = None if found is None else self.extensions.consultation(found)
            if call is not None and call.caller == leg.agent:
                return call
        return None

    def transfer(self, leg: Leg, replaces: str, now: float) -> tuple[Refusal | None, Leg | None]:
        """Hand the caller of `leg` (an agent leg in conversation) to the party of the
        consultation `replaces` names: why not, or the consulted phone's leg, which the
        caller's side is to reach by a re-INVITE (`offer_to_taker`)."""
        consult = self.consultation(leg, replaces)
        if consult is None:
            return NOT_FOUND, None
        if self.cc.agent_status(consult.callee) is None:
            return NOT_AN_AGENT, None
        if not self.cc.agent_transfer_attended(now, leg.agent, consult.callee):
            return (603, "Declined"), None
        taker = self.extensions.hand_over(consult, leg.call, now)
        self.ending.hang_up(consult.caller_leg, now)
        return None, taker

    def offer_to_taker(self, caller: Leg, taker: Leg) -> bytes:
        """Our re-INVITE's offer to the consulted phone: the call's agent-side port with the
        media anchored, else the caller's SDP."""
        if self.anchor is None:
            return caller.invite.body
        return self.anchor.moved_agent_offer(caller.call, taker)
