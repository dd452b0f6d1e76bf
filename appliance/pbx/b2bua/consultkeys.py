"""The consultation's keys, sent by an agent's phone in SIP INFO during a customer's call:
`*2` target `#` starts a consultation (`Consultations.start`); while it lasts `*1` aborts,
`*2` completes, `*3` makes it three-way and `*4` swaps.

A stand-in, until the site's in-call feature codes (RFC 4733 and INFO, configurable, with a
time limit between keys) read agents' keys: those replace this module and keep its codes.
No time limit here: a key that fits no code starts the code afresh.
"""

from __future__ import annotations

from appliance.pbx.b2bua.consultation import Consultations
from appliance.pbx.legs import Leg, Role

START, END = "*2", "#"
WHILE_CONSULTING = {"*1": "abort", "*2": "complete", "*3": "three_way", "*4": "swap"}


class ConsultationKeys:
    """Each agent leg's keys so far; a full code is carried out at once."""

    def __init__(self, consultations: Consultations) -> None:
        self.consultations = consultations
        self.keyed: dict[Leg, str] = {}

    def digit(self, leg: Leg, key: str, now: float) -> None:
        """A key from `leg`'s phone; only an agent's, on a customer's call, can be a code."""
        if leg.role is not Role.AGENT or leg.ended or leg.call < 0:
            self.keyed.pop(leg, None)
            return
        keyed = self.keyed.pop(leg, "") + key
        if self.consultations.active(leg):
            self._consulting(leg, keyed, now)
        elif keyed.startswith(START) and key == END:
            target = keyed[len(START):-1]
            if target:
                self.consultations.start(leg, target, now)
        elif keyed.startswith(START) or START.startswith(keyed):
            self.keyed[leg] = keyed
        elif key == START[0]:
            self.keyed[leg] = key

    def _consulting(self, leg: Leg, keyed: str, now: float) -> None:
        command = WHILE_CONSULTING.get(keyed[-2:])
        if command is not None:
            getattr(self.consultations, command)(leg, now)
        elif keyed[-1] == "*":
            self.keyed[leg] = "*"
