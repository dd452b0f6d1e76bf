"""The port state machine as one table: everything that decides which event a port accepts in
which state lives here. `Port` (port.py) holds the handlers the table names; a pair missing from
the table raises `PortError`. One table serves every kind: what differs between kinds is read
from the port's `Capabilities`, never from its class.
"""

from __future__ import annotations

import enum

from . import events as ev


class PortState(enum.Enum):
    IDLE = "idle"                  # free: may be seized, rung, or take a call
    INCOMING = "incoming"          # a call arrived; not answerable yet (waiting for CLIP)
    COLLECTING = "collecting"      # a station's phone is off-hook, dialing
    OFFERED = "offered"            # an arrived call may be answered
    DIALING = "dialing"            # seized; the number is going out
    ALERTING = "alerting"          # the far end (or the station's phone) rings
    CONNECTED = "connected"        # talking
    UNNOTICED = "unnoticed"        # the far end hung up; the port has not noticed: still seized
    CLEARING = "clearing"          # released; the line is not free yet (E1 release, guard time)
    OUT_OF_SERVICE = "out_of_service"


S = PortState

# States in which the port carries a call the appliance knows of.
IN_CALL = frozenset({S.INCOMING, S.COLLECTING, S.OFFERED, S.DIALING, S.ALERTING, S.CONNECTED,
                     S.UNNOTICED})

_ANY_CALL = {ev.Release: "release", ev.Fail: "fail"}
_LATE = {ev.FarEndDisconnect: "ignore", ev.DisconnectTone: "ignore", ev.Digit: "ignore"}

TRANSITIONS: dict[PortState, dict[type, str]] = {
    S.IDLE: {ev.Seize: "seize", ev.Ring: "ring", ev.Incoming: "incoming", ev.Fail: "fail",
             ev.FarEndDisconnect: "ignore", ev.DisconnectTone: "ignore"},
    S.INCOMING: {**_ANY_CALL, ev.CallerNumber: "caller_number",
                 ev.FarEndDisconnect: "ring_gone", ev.DisconnectTone: "ignore"},
    S.COLLECTING: {**_ANY_CALL, ev.Digit: "collect", ev.FarEndDisconnect: "far_end_gone"},
    S.OFFERED: {**_ANY_CALL, ev.Answer: "answer", ev.FarEndDisconnect: "ring_gone",
                # A CLIP that comes after the call was offered changes nothing.
                ev.CallerNumber: "ignore", ev.DisconnectTone: "ignore"},
    # Glare (a call arriving on a port just seized) is won by the seizure.
    S.DIALING: {**_ANY_CALL, ev.FarEndDisconnect: "far_end_gone",
                ev.DisconnectTone: "tone_noticed", ev.Incoming: "ignore"},
    S.ALERTING: {**_ANY_CALL, ev.FarEndAnswer: "connect", ev.FarEndDisconnect: "far_end_gone",
                 ev.DisconnectTone: "tone_noticed", ev.Incoming: "ignore"},
    S.CONNECTED: {**_ANY_CALL, ev.Digit: "digit", ev.FarEndDisconnect: "far_end_gone",
                  ev.DisconnectTone: "tone_noticed"},
    S.UNNOTICED: {**_ANY_CALL, **_LATE, ev.DisconnectTone: "tone_noticed"},
    S.CLEARING: {**_LATE, ev.Fail: "fail"},
    S.OUT_OF_SERVICE: {ev.Restore: "restore", ev.Fail: "ignore",
                       ev.FarEndDisconnect: "ignore", ev.DisconnectTone: "ignore"},
}
"""(state, event type) -> the name of the `Port` handler; "ignore" accepts and does nothing
(an event that crossed the port's own change: a hang-up after the release, a second failure)."""

TIMERS: dict[PortState, str] = {
    S.INCOMING: "offer",              # the ring the call may be answered on (CLIP is in)
    S.COLLECTING: "number_complete",  # the interdigit timeout
    S.DIALING: "dialed",              # the last digit is out
    S.UNNOTICED: "noticed",           # tone detection or the silence timeout
    S.CLEARING: "cleared",            # release complete
}
"""The states that run a timer, each with the handler its deadline calls. Entering any other
state drops the timer."""
