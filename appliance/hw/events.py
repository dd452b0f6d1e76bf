"""What goes into a port and what comes out of it, as frozen dataclasses.

Inputs are either the appliance's own requests (`Seize`, `Ring`, `Answer`, `Release`), what
the line says (`Incoming`, `CallerNumber`, `FarEndAnswer`, `FarEndDisconnect`,
`DisconnectTone`, `Digit`) or what happens to the hardware (`Fail`, `Restore`). A driver hands
them to `Port.handle(event, now)` and carries out the actions it gets back.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- the appliance's requests ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seize:
    """Take an idle trunk port and dial `number` out on it."""

    number: str


@dataclass(frozen=True, slots=True)
class Ring:
    """Ring an idle station port's phone, showing `caller`."""

    caller: str = ""


@dataclass(frozen=True, slots=True)
class Answer:
    """Answer the call offered on the port (only once `Offered` came out)."""


@dataclass(frozen=True, slots=True)
class Release:
    """Hang up: end the port's call, whatever its stage."""


# --- what the line says ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Incoming:
    """A call arrives on the port: the first ring on an FXO line, an E1 SETUP, a SIP INVITE,
    an FXS phone going off-hook. `caller` and `called` are what came with it (None: nothing);
    `rang_for` is how long the line had already rung before the port heard of it (a SIP FXO
    gateway sends its INVITE only once the CLIP is in)."""

    caller: str | None = None
    called: str | None = None
    rang_for: float = 0.0


@dataclass(frozen=True, slots=True)
class CallerNumber:
    """The caller number arrived on its own (an analog CLIP burst between rings)."""

    number: str


@dataclass(frozen=True, slots=True)
class FarEndAnswer:
    """The far end answered the port's outgoing call (or the station's phone was lifted)."""


@dataclass(frozen=True, slots=True)
class FarEndDisconnect:
    """The far end hung up, as it truly happened. A port whose kind supervises disconnects
    exactly acts on it at once; an analog trunk only notices after its detection delay (the
    simulator sends this at the true moment and lets the port hide it)."""


@dataclass(frozen=True, slots=True)
class DisconnectTone:
    """The far end's hang-up was heard in the port's audio (the live driver's detectors):
    busy or reorder tone, or, on a line that gives no tone, its silence for the kind's
    bound. The far end is gone, noticed now."""


@dataclass(frozen=True, slots=True)
class Digit:
    """A DTMF digit from the far end or the station's phone."""

    digit: str


# --- the hardware ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fail:
    """The port or its gateway stopped working: any call on it is lost."""


@dataclass(frozen=True, slots=True)
class Restore:
    """The port works again."""


PortEvent = (Seize | Ring | Answer | Release | Incoming | CallerNumber | FarEndAnswer
             | FarEndDisconnect | DisconnectTone | Digit | Fail | Restore)


# --- actions out -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Offered:
    """A call may now be answered (caller ID, if the kind has it, is in). `caller` and
    `called` are "" when the port has none."""

    caller: str
    called: str


@dataclass(frozen=True, slots=True)
class Dialed:
    """The outgoing number is out (or the station's phone rings): the far end is alerting."""


@dataclass(frozen=True, slots=True)
class Connected:
    """The call is through: answered by the appliance or by the far end."""


@dataclass(frozen=True, slots=True)
class DigitReceived:
    digit: str


@dataclass(frozen=True, slots=True)
class Ended:
    """The port's call is over without the appliance asking: `reason` is "far_end" (hang-up
    noticed), "abandoned" (the caller gave up while it rang) or "failed" (the hardware)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Idle:
    """The port is free: it may be seized or rung again."""


PortAction = Offered | Dialed | Connected | DigitReceived | Ended | Idle
