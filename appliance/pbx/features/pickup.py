"""Call pickup: an agent answers, from their own phone, a queue call ringing at another one.
Directed pickup names the agent whose phone rings; group pickup takes the oldest call ringing
any agent of the picker's queues (the team that serves the same queues).

Call control owns a `Pickups`; the ACD does the ringing and answering (`Acd.take_ring`): the
picker is rung and answers at once, the others' ring stops without a pause for them. Only
calls of call control ring phones this way; a phone-to-phone call is not one of them.
"""

from __future__ import annotations

from appliance.eventlog import EventLog
from appliance.events import AgentState, CallPickedUp, new
from appliance.pbx.acd.core import Acd
from appliance.pbx.call import Call, CallState


class Pickups:
    """Finds the call a pickup code means and hands it to the picker."""

    def __init__(self, calls: dict[int, Call], acd: Acd, log: EventLog) -> None:
        self.calls, self.acd, self.log = calls, acd, log

    def ringing_at(self, agent: str) -> Call | None:
        """The queue call ringing `agent`'s phone, if any (directed pickup)."""
        found = self.acd.agents.get(agent)
        if found is None or found.state is not AgentState.RINGING:
            return None
        call = self.calls.get(found.call)
        return call if call is not None and call.state is CallState.QUEUED else None

    def for_group(self, picker: str) -> Call | None:
        """The oldest call ringing an agent who serves one of `picker`'s queues, or rung
        from one of them (group pickup); None if there is none or `picker` is no agent."""
        found = self.acd.agents.get(picker)
        if found is None:
            return None
        team = {m.queue.name for m in found.memberships}
        candidates = [call for call in self.calls.values()
                      if call.state is CallState.QUEUED and call.ringing
                      and self._in_team(call, team)]
        return min(candidates, key=lambda call: call.first_queued_at, default=None)

    def pick_up(self, picker: str, call: Call, directed: bool, now: float) -> bool:
        """`picker` takes `call` (one of the above): False, nothing changed, unless the call
        rings someone else and the picker is ready or wrapping up (`Acd.free_to_pick_up`)."""
        ringing = sorted(m.agent.id for m in call.ringing)
        if not ringing or picker in ringing or not self.acd.free_to_pick_up(picker, now):
            return False
        # On record before the ring and answer it causes.
        self.log.append(new(CallPickedUp, (now, call.id, picker, ",".join(ringing), directed)))
        return self.acd.take_ring(call, picker, now)

    @staticmethod
    def _in_team(call: Call, team: set[str]) -> bool:
        return call.queue in team or any(
            m.queue.name in team for rung in call.ringing for m in rung.agent.memberships)
