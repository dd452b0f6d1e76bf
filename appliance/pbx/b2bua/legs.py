"""One side of a call as the B2BUA sees it: a SIP dialog with a caller, an agent's phone or a
phone dialling a feature code."""

from __future__ import annotations

from enum import Enum

from appliance.clock import TimerHandle
from appliance.pbx.sip.dialog import Dialog
from appliance.pbx.sip.message import Request, Response

Address = tuple[str, int]
Key = tuple[str, str, int, str]


class Role(Enum):
    CALLER = "caller"  # came in on a trunk; the appliance is its UAS
    AGENT = "agent"  # the appliance rings an agent's phone; it is the UAC
    FEATURE = "feature"  # a phone dialled a feature code; answered, then hung up


class Leg:
    """A dialog (early or confirmed) and what the B2BUA must remember to drive it."""

    __slots__ = (
        "ack",
        "agent",
        "allows_update",
        "answer_body",
        "call",
        "cancel_timer",
        "cancelling",
        "dialog",
        "ended",
        "invite",
        "invite_key",
        "local_tag",
        "media_port",
        "ok_response",
        "ok_timer",
        "ok_wait",
        "partner",
        "peer",
        "peer_refresh_seen",
        "provisional",
        "reinvite_key",
        "role",
        "sdp_session",
        "sdp_version",
        "sent_body",
        "session_interval",
        "session_timer",
        "sip_call_id",
        "we_refresh",
    )

    def __init__(self, role: Role, call: int, agent: str, invite: Request, invite_key: Key,
                 local_tag: str, peer: Address) -> None:
        self.role = role
        self.call = call  # call control's call id (0 for a feature-code leg)
        self.agent = agent
        self.invite = invite  # the dialog-creating INVITE (received or sent)
        self.invite_key = invite_key
        self.local_tag = local_tag
        self.sip_call_id = invite.headers.get("Call-ID") or ""
        # Where requests for this leg go: the address its messages come from, which also
        # works for phones behind NAT (symmetric signalling).
        self.peer = peer
        self.dialog: Dialog | None = None
        self.partner: Leg | None = None
        self.provisional = False  # a 1xx arrived, so a CANCEL may be sent (RFC 3261 9.1)
        self.cancelling = False  # we gave up on this INVITE (CANCEL sent or pending)
        # After our CANCEL: when to stop waiting for the INVITE's final response (RFC 3261 9.1).
        self.cancel_timer: TimerHandle | None = None
        self.ended = False
        self.answer_body = b""  # the SDP answer the agent's 2xx carried
        self.sent_body = b""  # the last SDP we sent on this leg (re-used to refresh)
        self.ack: Request | None = None  # our ACK for the peer's 2xx, re-sent on retransmits
        # Our 2xx to the peer's INVITE, retransmitted until its ACK (RFC 3261 13.3.1.4).
        self.ok_response: Response | None = None
        self.ok_timer: TimerHandle | None = None
        self.ok_wait = 0.0
        self.reinvite_key: Key | None = None  # a re-INVITE of the peer's we are relaying
        self.session_interval = 0
        self.we_refresh = True
        self.session_timer: TimerHandle | None = None
        self.peer_refresh_seen = False
        self.allows_update = False
        # Media anchored by the appliance: our relay port facing this party, and the origin
        # (o=) of the SDP we send it, whose version grows with each change (RFC 3264 8).
        self.media_port = 0
        self.sdp_session = 0
        self.sdp_version = 0

    @property
    def confirmed(self) -> bool:
        return self.dialog is not None and not self.ended

    def __repr__(self) -> str:
        return f"Leg({self.role.value}, call={self.call}, agent={self.agent!r}, ended={self.ended})"
