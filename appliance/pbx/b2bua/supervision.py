"""Supervision from a supervisor's phone: listen to an agent's call, whisper to the agent,
barge in, or force the call off (ChanSpy's modes, by feature code and agent id: `*81` `1001`).

The supervisor's call is a caller leg of its own (one of the B2BUA's own call ids,
negative: `internal.py`), answered with media on the relay; the media plane's mixer then makes who
hears whom (`hearing`). Digits from the supervisor switch mode mid-call: 4 listen, 5 whisper,
6 barge. Only phones with `supervisor: true` may do any of this (403 for others).

Supervision leaves records of its own (`SupervisionStarted`, `SupervisionChanged`,
`SupervisionEnded`, `CallForcedOff`); the supervised call's own records and figures are as
they would be without it. A call has at most one supervisor (486 to a second). When the
supervised call ends or its agent leaves it (a transfer), the supervisor is hung up. A
supervisor who is also a logged-in agent is paused for the queues while supervising
(`pauses.py`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from appliance.eventlog import EventLog
from appliance.events import (
    CallForcedOff,
    SupervisionChanged,
    SupervisionEnded,
    SupervisionStarted,
    new,
)
from appliance.media import sdp
from appliance.media.plane import Member, MixBroken
from appliance.media.relay import AGENT, CALLER
from appliance.pbx.b2bua.anchor import MediaAnchor
from appliance.pbx.b2bua.dialogs import Dialogs
from appliance.pbx.b2bua.ending import LegEnding
from appliance.pbx.b2bua.internal import CalledIn
from appliance.pbx.legs import Leg, LegEvent

if TYPE_CHECKING:
    from appliance.config.live import Sip
    from appliance.pbx.b2bua.internal import InternalCalls
    from appliance.pbx.b2bua.pauses import InternalPauses

MODES = ("listen", "whisper", "barge")
FORCE_OFF = "force_off"
MODE_DIGITS = {"4": "listen", "5": "whisper", "6": "barge"}
FORBIDDEN = (403, "Forbidden")
NOT_ON_A_CALL = (480, "Temporarily Unavailable")
SUPERVISED_ALREADY = (486, "Busy Here")
NO_MEDIA = (488, "Not Acceptable Here")


def hearing(call: int, supervisor: int, mode: str) -> dict[Member, Iterable[Member]]:
    """Who hears whom when `supervisor` (a call's id) supervises `call` in `mode`: in every
    mode the supervisor hears both parties; the agent hears the supervisor unless listening;
    the caller only when barging."""
    caller, agent, boss = (call, CALLER), (call, AGENT), (supervisor, CALLER)
    return {
        caller: [agent, boss] if mode == "barge" else [agent],
        agent: [caller] if mode == "listen" else [caller, boss],
        boss: [caller, agent],
    }


@dataclass
class Supervised:
    """One supervisor on one agent's call."""

    call: int  # the supervised call
    supervisor: str
    agent: str
    mode: str
    leg: Leg  # the supervisor's
    paused: bool = False  # the supervisor is an agent, paused for the queues meanwhile

    @property
    def mix(self) -> str:
        return f"supervision:{self.leg.call}"


class Supervision(CalledIn):
    """The supervisors on calls, by their own leg's call id."""

    def __init__(self, dialogs: Dialogs, ending: LegEnding, anchor: MediaAnchor | None,
                 internal: InternalCalls, log: EventLog, pauses: InternalPauses) -> None:
        self.dialogs, self.ending, self.anchor, self.internal = dialogs, ending, anchor, internal
        self.legs, self.log, self.pauses = dialogs.legs, log, pauses
        self.sessions: dict[int, Supervised] = {}
        self._codes: dict[str, str] = {}
        self._supervisors: frozenset[str] = frozenset()

    def apply(self, sip: Sip) -> None:
        codes = sip.feature_codes
        self._codes = {codes.listen: "listen", codes.whisper: "whisper",
                       codes.barge: "barge", codes.force_off: FORCE_OFF}
        self._supervisors = frozenset(phone.user for phone in sip.phones if phone.supervisor)

    def dialled(self, number: str) -> tuple[str, str] | None:
        """(mode or "force_off", agent) if `number` is a supervision code and an agent id."""
        for code, action in self._codes.items():
            if number.startswith(code) and len(number) > len(code):
                return action, number[len(code):]
        return None

    def refusal(self, user: str, agent: str, action: str) -> tuple[int, str] | None:
        """Why `user` may not do `action` to `agent`'s call now; None if it may."""
        if user not in self._supervisors or user == agent:
            return FORBIDDEN
        call = self.call_of(agent)
        if call is None:
            return NOT_ON_A_CALL
        if action == FORCE_OFF:
            return None
        if self.anchor is None:
            return NO_MEDIA  # nothing to mix without the media anchored
        return SUPERVISED_ALREADY if self._watching(call) is not None else None

    def call_of(self, agent: str) -> int | None:
        """The call `agent` is talking on (answered, not ended); None if none."""
        return next((leg.call for (_, who), leg in self.legs.rings.items()
                     if who == agent and leg.partner is not None and not leg.ended), None)

    # --- a supervisor's call -----------------------------------------------------------------

    def start(self, leg: Leg, offer: sdp.Sdp, supervisor: str, agent: str, mode: str,
              now: float) -> None:
        """Answer the supervisor's `leg` and mix them into `agent`'s call (`refusal` None)."""
        call = self.call_of(agent)
        assert call is not None and self.anchor is not None
        self.answer_call_in(leg, offer, now)
        watch = self.sessions[leg.call] = Supervised(call, supervisor, agent, mode, leg)
        watch.paused = self.pauses.pause(supervisor, now)
        self.anchor.media.mix(watch.mix, hearing(call, leg.call, mode), now)
        self.log.append(new(SupervisionStarted, (now, call, supervisor, agent, mode)))

    def digit(self, call: int, digit: str, now: float) -> bool:
        """A digit from `call`'s caller side: True if it was a supervisor's (a mode switch,
        or a digit without meaning for them)."""
        watch = self.sessions.get(call)
        if watch is None:
            return False
        mode = MODE_DIGITS.get(digit)
        if mode is not None and mode != watch.mode and self.anchor is not None:
            watch.mode = mode
            self.anchor.media.mix(watch.mix, hearing(watch.call, call, mode), now)
            self.log.append(new(SupervisionChanged, (now, watch.call, watch.supervisor, mode)))
        return True

    def broken(self, event: MixBroken, now: float) -> None:
        """A mix ended because one of its calls did: the supervisor hung up (their media
        closed with their leg), or the supervised call ended or lost its agent (then the
        supervisor is hung up)."""
        watch = next((w for w in self.sessions.values() if w.mix == event.name), None)
        if watch is None:
            return
        del self.sessions[watch.leg.call]
        if watch.paused:
            self.pauses.give_back(watch.supervisor, now)
        by_supervisor = event.call == watch.leg.call
        cause = "supervisor_hangup" if by_supervisor else "call_ended"
        self.log.append(new(SupervisionEnded, (now, watch.call, watch.supervisor, cause)))
        if not by_supervisor:
            self.ending.hang_up(watch.leg, now)

    def leg_ended(self, leg: Leg, now: float) -> None:
        """The supervisor's leg ended; their session ends with the mix (`broken`)."""
        self.internal.close(leg.call)

    def force_off(self, supervisor: str, agent: str, now: float) -> None:
        """End `agent`'s call, both legs, as the appliance ending it (`refusal` None)."""
        call = self.call_of(agent)
        caller = None if call is None else self.legs.callers.get(call)
        if call is None or caller is None:
            return
        self.log.append(new(CallForcedOff, (now, call, agent, supervisor)))
        self.ending.lost(caller, LegEvent.HANG_UP, now)

    def _watching(self, call: int) -> Supervised | None:
        return next((w for w in self.sessions.values() if w.call == call), None)
