"""Agents on the B2BUA's own calls (between phones, out through a trunk, in a conference or
supervising) are busy for the queues: the ACD is told so by a pause with the reason
`internal_call`, and given the agent back when their last such call ends.

A phone with line appearances may be on several of these calls at once, and on one while it
talks to a customer: the pause is counted, so the agent comes back only when none is left.
During a queue call or wrap-up the pause waits for that call to be done (`Acd.not_ready`),
so the agent goes from it to the pause, never to ready while still on a phone's call. Line
appearances do not let the ACD offer a second call: it offers queue calls to free agents
only (ready, on no call of any kind)."""

from __future__ import annotations

from collections import Counter

from appliance.events import AgentState
from appliance.pbx.callcontrol import CallControl

REASON_INTERNAL_CALL = "internal_call"  # the pause of an agent on a call between phones
# An agent paused already (NOT_READY) keeps their own reason, and stays paused after the call.
_PAUSABLE = frozenset({AgentState.READY, AgentState.WRAP_UP, AgentState.RINGING,
                       AgentState.TALKING, AgentState.HELD})


def pause_for_internal_call(cc: CallControl, agent: str, now: float) -> bool:
    """Tell the ACD `agent` is busy, if it could offer them a call meanwhile or after the
    call they are on; whether it was told (end the pause with
    `cc.agent_end_pause(now, agent, REASON_INTERNAL_CALL)`)."""
    status = cc.agent_status(agent)
    return (status is not None and status.state in _PAUSABLE
            and cc.agent_not_ready(now, agent, REASON_INTERNAL_CALL))


class InternalPauses:
    """The pauses for the B2BUA's calls, counted per agent."""

    def __init__(self, cc: CallControl) -> None:
        self.cc = cc
        self.held: Counter[str] = Counter()  # the calls holding each agent's pause

    def pause(self, agent: str, now: float) -> bool:
        """`agent` is on one more of the B2BUA's calls: paused if not already; whether the
        call holds the pause (then `give_back` it when the call ends)."""
        if self.held[agent] or pause_for_internal_call(self.cc, agent, now):
            self.held[agent] += 1
            return True
        return False

    def give_back(self, agent: str, now: float) -> None:
        """A call that held `agent`'s pause ended: the pause ends with the last one."""
        self.held[agent] -= 1
        if self.held[agent] <= 0:
            del self.held[agent]
            self.cc.agent_end_pause(now, agent, REASON_INTERNAL_CALL)
