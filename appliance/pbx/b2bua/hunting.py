"""A ring group's hunt (`features/ringgroup.py`) carried out for one call, whoever's call it
is: a phone's or a routed trunk caller's (`ringgroups.py`), a caller transferred to the
group's number (`transferout.py`), or a call following a phone's follow-me numbers
(`followme.py`).

Each member the hunt rings is rung (an agent among them paused for the queues while rung,
`InternalPauses`), each it stops gets CANCEL (and the pause given back), and while members
ring the hunt's deadline is armed, its time-up carried out in turn. When nobody is left to
ring, the owner's `unanswered` decides where the caller goes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from appliance.pbx.features.ringgroup import Effect, Hunt, Ring, StopRinging

if TYPE_CHECKING:
    from appliance.clock import Deadlines, TimerHandle
    from appliance.pbx.b2bua.agents import AgentSide
    from appliance.pbx.b2bua.pauses import InternalPauses


class HuntedCall(Protocol):
    """What a call rung through a hunt holds."""

    id: int  # the members' legs' call
    paused: list[str]  # the phones whose agents were paused
    ring_timer: TimerHandle | None

    @property
    def hunt(self) -> Hunt | None: ...


C = TypeVar("C", bound=HuntedCall)


class HuntRinger(Generic[C]):
    """Carries out the hunts of one owner's calls. `current(call)` says whether the owner
    still has `call` (a deadline of a call gone does nothing); `media(call)` is the call
    whose caller the members are offered (None: `call.id`'s); `rung(call, member, now)` is
    told of each member the hunt rings, before it rings."""

    def __init__(self, agent_side: AgentSide, pauses: InternalPauses, deadlines: Deadlines,
                 unanswered: Callable[[C, float], None], current: Callable[[C], bool],
                 media: Callable[[C], int | None] = lambda call: None,
                 rung: Callable[[C, str, float], None] = lambda call, member, now: None,
                 ) -> None:
        self.agent_side, self.pauses, self.deadlines = agent_side, pauses, deadlines
        self.unanswered, self.current, self.media = unanswered, current, media
        self.rung = rung

    def carry_out(self, call: C, effects: list[Effect], now: float) -> None:
        """Ring and stop members as `effects` say, then re-arm the hunt's deadline; a
        `Fallback` hands the call to `unanswered` (nothing after it is carried out)."""
        for effect in effects:
            if isinstance(effect, Ring):
                self.rung(call, effect.member, now)
                self.ring(call, effect.member, now)
            elif isinstance(effect, StopRinging):
                self.agent_side.stop_ringing(call.id, effect.member, now)
                self.unpause(call, effect.member, now)
            else:
                self.unanswered(call, now)
                return
        self.stop_timer(call)
        hunt = call.hunt
        if hunt is not None and hunt.deadline is not None and self.current(call):
            call.ring_timer = self.deadlines.schedule(hunt.deadline, self._time_up, call)

    def unpause(self, call: C, phone: str, now: float) -> None:
        """`phone` is no longer rung or talking for `call`: its agent's pause given back."""
        if phone in call.paused:
            call.paused.remove(phone)
            self.pauses.give_back(phone, now)

    def stop_timer(self, call: C) -> None:
        if call.ring_timer is not None:
            call.ring_timer.cancel()
            call.ring_timer = None

    def ring(self, call: C, phone: str, now: float) -> None:
        """Ring `phone` for `call` (its agent paused while it rings or talks)."""
        if self.pauses.pause(phone, now):
            call.paused.append(phone)
        self.agent_side.ring(call.id, phone, now, media=self.media(call))

    def _time_up(self, now: float, call: C) -> None:
        call.ring_timer = None
        hunt = call.hunt
        if hunt is not None and self.current(call):
            self.carry_out(call, hunt.time_up(now), now)
