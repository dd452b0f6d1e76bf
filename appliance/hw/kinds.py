"""The port kinds, as builders of `Capabilities`: an FXO trunk on a carrier's analog line, an
FXS station feeding an analog phone, a bearer channel of an E1 span, a SIP trunk and a SIP
station. Their keyword defaults are typical figures; a gateway profile (`profile.py`) gives its
own.
"""

from __future__ import annotations

from dataclasses import dataclass

from .capabilities import Capabilities, NumberArrival, Role, Supervision

E1_CHANNELS = 30
"""Bearer channels on one E1 span (30B+D); their signalling shares the span's D channel."""

KINDS = ("fxo", "fxs", "e1", "sip_trunk", "sip_station")

TRUNK_GROUP_KIND = {"fxo": "analog", "e1": "e1", "sip_trunk": "sip"}
"""The trunk group kind (config `TrunkGroup.kind`) each trunk port kind may serve."""


@dataclass(frozen=True, slots=True)
class RingCadence:
    """Ringing (or any signal) switching `on` seconds on, `off` seconds off. The detector's
    call-progress tones, with frequencies and tolerances, are `tones.Cadence`."""

    on: float
    off: float

    @property
    def period(self) -> float:
        return self.on + self.off


def fxo_trunk(*, ring: RingCadence = RingCadence(1.0, 4.0), clip: bool = True,
              clip_delay: float = 0.5, clip_duration: float = 0.5, answer_on_ring: int = 2,
              supervision: Supervision = Supervision.TONE, disconnect_delay: float = 6.0,
              guard_time: float = 0.5, dial_tone_wait: float = 1.0,
              digit_time: float = 0.2) -> Capabilities:
    """An analog trunk: no called number; the CLIP burst starts `clip_delay` after the first
    ring and lasts `clip_duration`; the call is answerable from ring `answer_on_ring` and never
    before the CLIP is in. A caller who gives up while it rings is noticed when the next ring
    does not come; one who hangs up mid-call after `disconnect_delay` (tone detection or
    silence timeout). Dialing waits for dial tone, then sends DTMF digit by digit."""
    clip_by = ring.on + clip_delay + clip_duration if clip else 0.0
    return Capabilities(
        kind="fxo", role=Role.TRUNK,
        caller_number=NumberArrival.AFTER_FIRST_RING if clip else NumberArrival.NONE,
        called_number=NumberArrival.NONE, supervision=supervision,
        caller_number_by=clip_by,
        answerable_after=max(clip_by, (answer_on_ring - 1) * ring.period),
        disconnect_delay=0.0 if supervision is Supervision.EXACT else disconnect_delay,
        ring_gone_delay=ring.period, release_time=guard_time,
        setup_time=dial_tone_wait, digit_time=digit_time)


def fxs_station(*, interdigit_timeout: float = 4.0) -> Capabilities:
    """An analog phone: lifting the handset starts a call whose number it then dials; loop
    current says exactly when it hangs up."""
    return Capabilities(
        kind="fxs", role=Role.STATION, caller_number=NumberArrival.IN_SETUP,
        called_number=NumberArrival.DIALED, supervision=Supervision.EXACT,
        interdigit_timeout=interdigit_timeout)


def e1_channel(*, setup_time: float = 0.05, release_time: float = 0.03) -> Capabilities:
    """A bearer channel of an E1 span: numbers come in the D channel's SETUP, hang-ups in its
    DISCONNECT; `setup_time` and `release_time` are the D channel's exchanges (SETUP / CALL
    PROCEEDING, DISCONNECT / RELEASE / RELEASE COMPLETE)."""
    return Capabilities(
        kind="e1", role=Role.TRUNK, caller_number=NumberArrival.IN_SETUP,
        called_number=NumberArrival.IN_SETUP, supervision=Supervision.EXACT,
        release_time=release_time, setup_time=setup_time)


def sip_trunk() -> Capabilities:
    """A SIP trunk channel: numbers in the INVITE, hang-ups by BYE."""
    return Capabilities(kind="sip_trunk", role=Role.TRUNK, caller_number=NumberArrival.IN_SETUP,
                        called_number=NumberArrival.IN_SETUP, supervision=Supervision.EXACT)


def sip_station() -> Capabilities:
    """A SIP phone: the number it calls comes in its INVITE, its hang-up by BYE."""
    return Capabilities(kind="sip_station", role=Role.STATION,
                        caller_number=NumberArrival.IN_SETUP,
                        called_number=NumberArrival.IN_SETUP, supervision=Supervision.EXACT)
