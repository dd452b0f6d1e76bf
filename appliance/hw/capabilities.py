"""What a port can do, as data: the rest of the appliance asks a port's `Capabilities` (has it
a called number, when does the caller number arrive, how is a far-end hang-up noticed, how fast
does it dial), never what kind of port it is.

Every duration is in seconds. The figures come from a gateway profile (`profile.py`); the kinds
in `kinds.py` give their shapes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Role(enum.Enum):
    """Which side of the appliance a port faces."""

    TRUNK = "trunk"      # the network: calls come in from callers, the appliance dials out
    STATION = "station"  # a phone: the appliance rings it, it lifts the handset to call


class NumberArrival(enum.Enum):
    """When a number reaches the appliance, if ever."""

    NONE = "none"                        # never (an FXO line has no called number)
    AFTER_FIRST_RING = "after_first_ring"  # analog CLIP: sent between the 1st and 2nd ring
    IN_SETUP = "in_setup"                # with the call itself (E1 SETUP, SIP INVITE)
    DIALED = "dialed"                    # digit by digit after off-hook (an FXS phone)


class Supervision(enum.Enum):
    """How a far-end hang-up is noticed."""

    EXACT = "exact"      # a signal says so at once (E1 DISCONNECT, SIP BYE, FXS loop current)
    TONE = "tone"        # guessed from busy/reorder tone, after a detection delay
    TIMEOUT = "timeout"  # nothing says so: the line is freed by a timeout


@dataclass(frozen=True, slots=True)
class Capabilities:
    """A port kind's behaviour, with its timings.

    `caller_number_by`: seconds after a call arrives by which its caller number has come, if
    it comes at all. `answerable_after`: seconds after a call arrives before it may be
    answered (an FXO card waits for the ring after the CLIP burst). `disconnect_delay`:
    seconds from a far-end hang-up during a call to the port noticing it (0 when exact).
    `ring_gone_delay`: the same for a caller who gives up while the port still rings.
    `release_time`: seconds from either side's release to the port being free again (an E1's
    RELEASE / RELEASE COMPLETE on the D channel). `setup_time`: seconds from a seizure to the
    line taking digits (dial tone; an E1 SETUP). `digit_time`: seconds per digit dialed out.
    `interdigit_timeout`: seconds after a station's last dialed digit when its number is
    complete."""

    kind: str
    role: Role
    caller_number: NumberArrival
    called_number: NumberArrival
    supervision: Supervision
    caller_number_by: float = 0.0
    answerable_after: float = 0.0
    disconnect_delay: float = 0.0
    ring_gone_delay: float = 0.0
    release_time: float = 0.0
    setup_time: float = 0.0
    digit_time: float = 0.0
    interdigit_timeout: float = 0.0

    @property
    def has_called_number(self) -> bool:
        """Whether calls bring a called number (DNIS); without one, calls are told apart by
        the line that rang."""
        return self.called_number is not NumberArrival.NONE

    @property
    def has_caller_number(self) -> bool:
        return self.caller_number is not NumberArrival.NONE

    def release_bound(self) -> float:
        """Most seconds from a far-end hang-up to the port being free again."""
        return max(self.disconnect_delay, self.ring_gone_delay) + self.release_time

    def dial_time(self, number: str) -> float:
        """Seconds from seizing the port to `number` having been dialed out."""
        return self.setup_time + self.digit_time * len(number)
