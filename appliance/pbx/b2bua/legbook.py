"""Every live leg of the B2BUA, by each thing that finds it: call control's call id (callers),
the ring of an agent for a call, the dialog (Call-ID and our tag), and the INVITE
transaction that creates it."""

from __future__ import annotations

from collections import Counter

from appliance.pbx.legs import Leg, Role
from appliance.pbx.sip.layer import Key


class LegBook:
    """The legs' indexes. A leg leaves them all at once (`drop`) when it ends."""

    def __init__(self) -> None:
        self.callers: dict[int, Leg] = {}
        # Agent legs call control can still reach with its actions (a ring given up is not).
        self.rings: dict[tuple[int, str], Leg] = {}
        self.dialogs: dict[tuple[str, str], Leg] = {}  # (Call-ID, our tag)
        # INVITE transactions by key: the peers' (we answer) and ours (we ring agents). Two
        # tables, since a forged request can carry the key of one of ours.
        self.invites_in: dict[Key, Leg] = {}
        self.invites_out: dict[Key, Leg] = {}
        # A phone's calls ringing or up (its line appearances in use), by its user; and the
        # phone of each such leg, by dialog.
        self.lines_in_use: Counter[str] = Counter()
        self._phone_of: dict[tuple[str, str], str] = {}

    @property
    def empty(self) -> bool:
        return not (self.dialogs or self.invites_in or self.invites_out)

    def add_incoming(self, leg: Leg, phone: str = "") -> None:
        """A leg a peer's INVITE starts; `phone`: the user of the phone that sent it."""
        self.invites_in[leg.invite_key] = leg
        self._add_dialog(leg, phone)

    def add_ring(self, leg: Leg, phone: str = "") -> None:
        """A leg our INVITE starts; `phone`: the user of the phone it rings."""
        self.rings[(leg.call, leg.agent)] = leg
        self.invites_out[leg.invite_key] = leg
        self._add_dialog(leg, phone)

    def _add_dialog(self, leg: Leg, phone: str) -> None:
        key = (leg.sip_call_id, leg.local_tag)
        self.dialogs[key] = leg
        if phone:
            self._phone_of[key] = phone
            self.lines_in_use[phone] += 1

    def dialog(self, call_id: str, tag: str) -> Leg | None:
        return self.dialogs.get((call_id, tag))

    def drop(self, leg: Leg) -> None:
        key = (leg.sip_call_id, leg.local_tag)
        self.dialogs.pop(key, None)
        self._free_line(key)
        for invites in (self.invites_in, self.invites_out):  # a pickup's agent leg is in
            if invites.get(leg.invite_key) is leg:
                del invites[leg.invite_key]
        if leg.role is Role.CALLER:
            self.callers.pop(leg.call, None)
        if self.rings.get((leg.call, leg.agent)) is leg:
            # Only this leg: the agent may already ring again for the same call on a new one.
            del self.rings[(leg.call, leg.agent)]

    def _free_line(self, key: tuple[str, str]) -> None:
        phone = self._phone_of.pop(key, None)
        if phone is not None:
            self.lines_in_use[phone] -= 1
            if not self.lines_in_use[phone]:
                del self.lines_in_use[phone]
