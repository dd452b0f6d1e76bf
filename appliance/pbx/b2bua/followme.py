"""Find-me/follow-me: a phone that does not answer a call from another phone (its own ring
time ran out, it could not be reached, or it is not registered) has its `follow_me`
numbers rung in turn, each for the follow-me's `ring_seconds`. The in-turn ringing is the
ring groups' hunt (`features/ringgroup.py`): a number that cannot take the call (on every
line, not registered) is skipped, one that refuses is out at once, the first answer takes
the call. An outside number, last in the list, is placed as a forwarded outside call once
every phone before it had its turn (`DialOut`); without one, the caller hears 480.

The call stays the same call between phones (`ExtensionCall*` records, its id), its
`callee` the number ringing now; each number rung leaves `CallForwarded` (the phone, the
number, condition `follow_me`), so a detail record shows how far the call went.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance.events import CallForwarded, new
from appliance.pbx.b2bua.hunting import HuntRinger
from appliance.pbx.features.ringgroup import Hunt

if TYPE_CHECKING:
    from appliance.config.live import FollowMe, Sip
    from appliance.pbx.b2bua.extensions import ExtensionCall, ExtensionCalls

CONDITION = "follow_me"


class FollowMeCalls:
    """The hunts of the calls that follow a phone, kept on the calls (`ExtensionCall.hunt`)
    and carried out by a `HuntRinger` (members rung and paused, stopped, the deadline)."""

    def __init__(self, extensions: ExtensionCalls) -> None:
        self.extensions = extensions
        self.settings: dict[str, FollowMe] = {}
        self.ringer: HuntRinger[ExtensionCall] = HuntRinger(
            extensions.agent_side, extensions.pauses, extensions.deadlines, self._last,
            lambda call: extensions.calls.get(call.id) is call and not call.answered,
            rung=self._rung)

    def apply(self, sip: Sip) -> None:
        self.settings = {phone.user: phone.follow_me for phone in sip.phones
                         if phone.follow_me is not None}

    def ring_seconds(self, phone: str) -> float | None:
        """How long `phone` rings before its follow-me numbers do; None: it has none."""
        found = self.settings.get(phone)
        return None if found is None else found.ring_seconds

    def start(self, call: ExtensionCall, now: float) -> bool:
        """The phone of `call` did not answer (no longer ringing, its pause given back):
        ring its follow-me numbers; False if it has none or the call followed it already."""
        found = self.settings.get(call.callee)
        if found is None or call.forwarded:
            return False
        calls, caller, phone = self.extensions, call.caller, call.callee
        phones = [number for number in found.numbers if number in calls.users]
        call.forwarded, call.followed = True, phone
        call.outside = next((n for n in found.numbers if n not in calls.users), None)
        call.hunt = Hunt(phones, "in_turn", found.ring_seconds,
                         lambda member, at: calls.refusal(caller, member, at) is None)
        self.ringer.carry_out(call, call.hunt.start(now), now)
        return True

    def refused(self, call: ExtensionCall, member: str, now: float) -> None:
        """`member`, rung for `call`, refused or could not be reached: the next in turn."""
        assert call.hunt is not None
        self.ringer.unpause(call, member, now)
        self.ringer.carry_out(call, call.hunt.refuse(member, now), now)

    def _rung(self, call: ExtensionCall, member: str, now: float) -> None:
        """Each number rung is on record, and is the call's callee while it rings."""
        self.extensions.log.append(new(CallForwarded, (now, call.id, call.followed, member,
                                                       CONDITION)))
        call.callee = member

    def _last(self, call: ExtensionCall, now: float) -> None:
        """Every phone had its turn: the outside number, if the phone may still dial it."""
        calls, number = self.extensions, call.outside
        if number is None or calls.forward_refusal(call.followed, number) is not None:
            calls.unavailable(call, now)
            return
        calls.log.append(new(CallForwarded, (now, call.id, call.followed, number, CONDITION)))
        calls.call_out(call, number, now)
