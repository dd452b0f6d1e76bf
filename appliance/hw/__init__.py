"""Ports and gateways: the hardware the appliance sits behind, clock-free.

A `Port` is one line of a gateway (an FXO trunk, an FXS station, an E1 bearer channel, a SIP
trunk channel or SIP station) whose behaviour comes from its `Capabilities`; a `Gateway` drives
a product's ports together; a `GatewayProfile` describes a product as data. Code using ports
asks their capabilities, never their kind.
"""

from .capabilities import Capabilities, NumberArrival, Role, Supervision
from .errors import PortError
from .events import (
    Answer,
    CallerNumber,
    Connected,
    Dialed,
    Digit,
    DigitReceived,
    DisconnectTone,
    Ended,
    Fail,
    FarEndAnswer,
    FarEndDisconnect,
    Idle,
    Incoming,
    Offered,
    PortAction,
    PortEvent,
    Release,
    Restore,
    Ring,
    Seize,
)
from .gateway import Gateway, PortActions
from .kinds import (
    E1_CHANNELS,
    KINDS,
    TRUNK_GROUP_KIND,
    RingCadence,
    e1_channel,
    fxo_trunk,
    fxs_station,
    sip_station,
    sip_trunk,
)
from .port import Port
from .profile import GatewayProfile
from .state import PortState
from .toneplan import TONE_PLANS, TonePlan

__all__ = [
    "E1_CHANNELS", "KINDS", "TONE_PLANS", "TRUNK_GROUP_KIND",
    "Answer", "CallerNumber", "Capabilities", "Connected", "Dialed", "Digit",
    "DigitReceived", "DisconnectTone", "Ended", "Fail", "FarEndAnswer", "FarEndDisconnect",
    "Gateway", "GatewayProfile", "Idle", "Incoming", "NumberArrival", "Offered", "Port",
    "PortAction", "PortActions", "PortError", "PortEvent", "PortState", "Release", "Restore",
    "Ring", "RingCadence", "Role", "Seize", "Supervision", "TonePlan",
    "e1_channel", "fxo_trunk", "fxs_station", "sip_station", "sip_trunk",
]
