"""What every leg keeps besides its state: the SIP dialog (early or confirmed) with a caller, an
agent's phone or a phone dialling a feature code, and what the B2BUA needs to drive it."""

from __future__ import annotations

from enum import Enum
from typing import ClassVar

from appliance.clock import TimerHandle
from appliance.net import Address
from appliance.pbx.legs.machine import LegEvent, LegState, Table, next_state
from appliance.pbx.legs.offer import OfferState
from appliance.pbx.sip.dialog import Dialog
from appliance.pbx.sip.layer import Key
from appliance.pbx.sip.message import Request, Response


class Role(Enum):
    CALLER = "caller"  # came in on a trunk; the appliance is its UAS
    AGENT = "agent"  # the appliance rings an agent's phone; it is the UAC
    FEATURE = "feature"  # a phone dialled a feature code; answered, then hung up


class Leg:
    """A dialog and its state in its role's table (`fire` moves it)."""

    role: ClassVar[Role]
    table: ClassVar[Table]
    initial: ClassVar[LegState]

    __slots__ = (
        "ack",
        "agent",
        "allows_update",
        "answer_body",
        "call",
        "cancel_timer",
        "dialog",
        "invite",
        "invite_key",
        "local_tag",
        "media_port",
        "offer",
        "ok_response",
        "ok_timer",
        "ok_wait",
        "partner",
        "peer",
        "peer_refresh_seen",
        "refusal",
        "sdp_session",
        "sdp_version",
        "sent_body",
        "session_interval",
        "session_timer",
        "sip_call_id",
        "state",
        "we_refresh",
    )

    def __init_subclass__(cls, role: Role, table: Table, initial: LegState) -> None:
        cls.role, cls.table, cls.initial = role, table, initial

    def __init__(self, call: int, agent: str, invite: Request, invite_key: Key,
                 local_tag: str, peer: Address) -> None:
        self.state = self.initial
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
        # After our CANCEL: when to stop waiting for the INVITE's final response (RFC 3261 9.1).
        self.cancel_timer: TimerHandle | None = None
        self.answer_body = b""  # the SDP answer the agent's 2xx carried
        self.sent_body = b""  # the last SDP we sent on this leg (re-used to refresh)
        self.ack: Request | None = None  # our ACK for the peer's 2xx, re-sent on retransmits
        self.refusal: Response | None = None  # the final refusal (>= 300) of our INVITE
        # Our 2xx to the peer's INVITE, retransmitted until its ACK (RFC 3261 13.3.1.4).
        self.ok_response: Response | None = None
        self.ok_timer: TimerHandle | None = None
        self.ok_wait = 0.0
        self.offer = OfferState.IDLE  # whose re-INVITE is in progress (`offer.py`)
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

    def fire(self, event: LegEvent) -> LegState:
        """Move to the state `event` leads to from here; the state before it. Raises
        `LegStateError` (the state unchanged) if the role's table does not allow `event`."""
        before = self.state
        self.state = next_state(self.table, before, event)
        return before

    @property
    def ended(self) -> bool:
        return self.state is LegState.ENDED

    @property
    def confirmed(self) -> bool:
        return self.dialog is not None and not self.ended

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.state.name}, call={self.call}, "
                f"agent={self.agent!r})")
