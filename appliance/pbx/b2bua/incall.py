"""In-call feature codes on the SIP side: the keys an agent's phone sends during a customer's
call (RFC 4733 events at the media anchor, or SIP INFO) read by `features.incall.KeyParser`,
one per agent leg while it keys, and carried out here, for phones with no transfer or hold
button (an analog phone behind a gateway, a headset).

- blind transfer (`#1` target `#`) and park (`#72`) do what a REFER to that target does
  (`Transfers.blind`): the agent's leg is released by our BYE; a parker first hears the
  slot ("parked at 7 0 1", in the site's language), the BYE following when it has been
  said. Refused (no such target, busy, the lot full), the agent stays on the call and hears
  the error tone over the caller.
- hold (`*0`) toggles what a re-INVITE hold does (`relay.py`): the ACD's hold, counted as hold
  time, and music to the caller while the parties are parted. It resumes a hold by the
  phone's re-INVITE too (the caller offered sendrecv again; the phone holds on its side
  until its own resume), and the phone's resume ends a hold by `*0`.
- attended transfer (`*2` target `#`) starts a consultation, and while it is active the
  consultation codes (abort, complete, three-way, swap) go to it; both need `consultations`.
  A consultation that cannot start gets the error tone too.

An analog phone's hook flash (RFC 4733 event 16, or an INFO `Signal=hf` / application/
hook-flash: `FLASH`) works as analog PBX users expect: a flash alone (then `#` or a pause of
`digit_timeout`) holds the caller, and a second one takes them back; a flash then a number
(and `#` or the pause) consults that number with the caller held (`*2` number); during the
consultation a flash goes back to the caller, letting the colleague go (`*1`), and hanging
up transfers the caller to the colleague (as hanging up while consulting always does). The
site's codes keep working beside it.

The caller never hears the keys sent as RFC 4733 events: the anchor withholds an ACD
agent's telephone-events from the caller (`MediaAnchor.bridge`), all of them, since the
first key of a code cannot be told from a digit meant for the caller and a key relayed
cannot be taken back. An analog agent's in-band tones are audio, and reach the caller.

The keys are still logged as the agent's DigitReceived: they are no secret, and the log shows
what the agent keyed before the call moved.
"""

from __future__ import annotations

import logging
from typing import Protocol

from appliance.clock import Deadlines
from appliance.config.live import InCallCodes
from appliance.media.dtmf import FLASH
from appliance.media.prompts import ERROR_TONE, digits
from appliance.pbx.b2bua.anchor import MediaAnchor
from appliance.pbx.b2bua.transfer import Transfers
from appliance.pbx.callcontrol import CallControl
from appliance.pbx.features.incall import Command, KeyParser
from appliance.pbx.legs import Leg, Role

logger = logging.getLogger(__name__)


class Consulting(Protocol):
    """What the in-call codes need of attended transfers by consultation."""

    def start(self, agent_leg: Leg, target: str, now: float) -> bool: ...
    def active(self, agent_leg: Leg) -> bool: ...
    def abort(self, agent_leg: Leg, now: float) -> None: ...
    def complete(self, agent_leg: Leg, now: float) -> None: ...
    def three_way(self, agent_leg: Leg, now: float) -> None: ...
    def swap(self, agent_leg: Leg, now: float) -> None: ...


CONSULTATION_COMMANDS = frozenset({"abort", "complete", "three_way", "swap"})
PARKED_AT = "parked-at"  # the prompt before a parked call's slot, read digit by digit
FAREWELL_MARGIN = 0.3  # seconds the phone's jitter buffer may still hold when BYE comes


class InCallKeys:
    """Agents' keys during their calls; `apply` takes the site's codes."""

    def __init__(self, transfers: Transfers, anchor: MediaAnchor | None, cc: CallControl,
                 deadlines: Deadlines) -> None:
        self.transfers, self.anchor, self.cc, self.deadlines = transfers, anchor, cc, deadlines
        self.codes = InCallCodes()
        self.parsers: dict[Leg, KeyParser] = {}  # the legs keying a code now
        self.consultations: Consulting | None = None  # attended transfers, once wired
        self.parked: dict[Leg, int] = {}  # parkers by key, until hung up: their slot

    def apply(self, codes: InCallCodes) -> None:
        """The site's codes, for codes keyed from now on."""
        self.codes = codes

    def digit(self, leg: Leg, key: str, now: float) -> None:
        """A key from `leg`'s phone; only an agent's, in conversation, can be a code."""
        if leg.role is not Role.AGENT or leg.partner is None or leg.ended or leg.call < 0:
            return
        parser = self.parsers.get(leg)
        if parser is None:
            codes = self.codes
            parser = KeyParser({**codes.talking(), FLASH: "flash"},
                               {**codes.consulting(), FLASH: "abort"}, codes.digit_timeout)
        command = parser.digit(key, now, self._consulting(leg))
        self._arm(leg, parser)
        if command is not None:
            self._do(leg, command, now)

    def _arm(self, leg: Leg, parser: KeyParser) -> None:
        """Keep `parser` while it waits for a key, with a timer at its deadline; else drop it."""
        deadline = parser.next_deadline()
        if deadline is None:
            self.parsers.pop(leg, None)
            return
        self.parsers[leg] = parser
        self.deadlines.schedule(deadline, self._deadline, leg, parser, deadline)

    def _deadline(self, now: float, leg: Leg, parser: KeyParser, deadline: float) -> None:
        if self.parsers.get(leg) is not parser or parser.next_deadline() != deadline:
            return  # a later key moved the deadline: its own timer handles it
        command = parser.on_deadline(now)
        self._arm(leg, parser)
        if command is not None and not leg.ended and leg.partner is not None:
            self._do(leg, command, now)

    def _consulting(self, leg: Leg) -> bool:
        return self.consultations is not None and self.consultations.active(leg)

    def _do(self, leg: Leg, command: Command, now: float) -> None:
        kind = command.kind
        if kind == "flash":  # a flash alone holds or resumes; with a number it consults
            command = Command("attended", command.target) if command.target else Command("hold")
            kind = command.kind
        if kind == "blind":
            self._blind(leg, command.target, now)
        elif kind == "park":
            self._blind(leg, self.transfers.park_number, now)
        elif kind == "hold":
            self._toggle_hold(leg, now)
        elif self.consultations is None:
            logger.info("%s keyed %s: no attended transfers here", leg.agent, kind)
        elif kind == "attended" and not self.consultations.start(leg, command.target, now):
            self._tell(leg, [ERROR_TONE], now)
        elif kind in CONSULTATION_COMMANDS:
            getattr(self.consultations, kind)(leg, now)

    def _blind(self, leg: Leg, target: str, now: float) -> None:
        refusal, _, slot = self.transfers.blind(leg, target, now)
        if refusal is not None:
            logger.info("%s keyed a transfer to %r: refused (%d %s)", leg.agent, target,
                        *refusal)
            self._tell(leg, [ERROR_TONE], now)
        elif slot is not None:
            self.parked[leg] = slot  # told when call control hangs the leg up

    def farewell(self, leg: Leg, now: float) -> float:
        """`leg` is being hung up: a parker by key is told the slot; the seconds our BYE
        waits for it (0.0 for any other leg)."""
        slot = self.parked.pop(leg, None)
        if slot is None:
            return 0.0
        seconds = self._tell(leg, [PARKED_AT, *digits(slot)], now)
        return seconds + FAREWELL_MARGIN if seconds else 0.0

    def _tell(self, leg: Leg, names: list[str], now: float) -> float:
        """Play `names` to the agent of `leg`; the seconds it takes (0.0: no media)."""
        if self.anchor is None:
            return 0.0
        return self.anchor.media.tell_agent(leg.call, names, now)

    def _toggle_hold(self, leg: Leg, now: float) -> None:
        """Hold the caller, or take them off hold, as the phone's re-INVITE would."""
        cc = self.cc
        held = cc.agent_hold(now, leg.agent)
        if not held and not cc.agent_resume(now, leg.agent):
            return  # neither talking nor holding (a callback not reached yet)
        if self.anchor is not None:
            self.anchor.media.hold_caller(leg.call, held, now)
        if not held and leg.partner is not None:  # held by the phone's re-INVITE perhaps
            self.transfers.caller_off_hold(leg.partner, now)
