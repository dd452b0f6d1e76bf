"""The Channel seam: what a simulated caller or agent does to a call, and what they hear.

Callers (`sim.traffic.callers`) and agents (`sim.agents.behaviour`) are one model for
every fidelity. They act through a `Channel` and hear back through its subscriptions,
as the appliance's own actions (`appliance.pbx.actions`: `RingAgent`, `Connect`,
`HangUpCaller` ...) plus `Goodbye`, the simulated conversation's end. Two channels:

- `sim.channels.direct`: call-control inputs, actions from the core (call fidelity);
- `sim.channels.sipua`: SIP user agents over the simulated network (SIP fidelity).

A call's handle (``call``) is the channel's own number for it, the same for the caller
and the agents who take it. The conversation (`Conversation`) - how long the caller
talks, whether the agent puts them on hold or transfers them - is the caller's, drawn
when the call arrives; the agent who answers learns it from the channel, as they would
by listening.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple, Protocol

from appliance.events import IvrDigits, IvrExited, IvrFlowEntered, IvrNodeEntered, Record
from sim.channels.subscribers import Handler

IVR_RECORDS = (IvrFlowEntered, IvrNodeEntered, IvrDigits, IvrExited)
"""The IVR records a caller follows: where in the flows the call is, and when a try ends."""

IvrHeard = Callable[[int, Record], None]


class Conversation:
    """What will be said on a call. `answer_at` is when an agent ringing for it said they
    would pick up (inf: nobody yet, or the channel cannot tell, as over SIP)."""

    __slots__ = ("agent_hangs_up", "answer_at", "hold", "talk", "transfer_talk", "transfer_to",
                 "transferring")

    def __init__(self, talk: float) -> None:
        self.talk = talk
        self.hold: tuple[float, float] | None = None  # (seconds into the talk, seconds held)
        self.transfer_to = ""  # the queue the first agent transfers the caller to, if any
        self.transfer_talk = 0.0  # how long the caller then talks with the second agent
        # Set by the agent as they transfer the call: when they leave it, the caller waits
        # again (in the target queue), until the next agent's answer.
        self.transferring = False
        self.answer_at = math.inf
        # The caller waits for the agent to hang up (for a post-call survey) rather than
        # hanging up at the goodbye.
        self.agent_hangs_up = False


class Goodbye(NamedTuple):
    """The agent has said all there is to say: the caller hangs up."""

    call: int


class Channel(Protocol):
    """What callers and agents do to calls. Times are the channel's clock's."""

    def on(self, action_type: type, handler: Handler) -> None:
        """Hear actions of ``action_type`` (after the earlier subscribers)."""
        ...

    def start(self) -> None:
        """Begin: called once every model has subscribed."""
        ...

    # --- callers ---------------------------------------------------------------------

    def offer(self, conversation: Conversation, trunk_group: str, ani: str, dnis: str,
              attempt: int, line: str = "") -> int:
        """Place a call (on a gateway's `line`, for a group whose ports bring no called
        number; only the direct channel has gateway ports); returns its handle.
        ``conversation`` is known to the channel from before anything about the call is
        heard."""
        ...

    def conversation(self, call: int) -> Conversation | None:
        """The call's conversation; None once the caller has left it."""
        ...

    def hang_up(self, call: int) -> None:
        """The caller hangs up, waiting or talking."""
        ...

    def press(self, call: int, digit: str) -> None:
        """The caller presses a key (for the IVR)."""
        ...

    def answer_callback(self, call: int) -> None:
        """The customer picks up the appliance's call back to them (`PlaceCallback`); a
        callback they do not answer is no input at all (the appliance's ring timeout)."""
        ...

    def follow_ivr(self, heard: IvrHeard) -> None:
        """Tell ``heard(call, record)`` each IVR record (`IVR_RECORDS`) about a call a caller
        placed, read from the appliance's event log as it is written."""
        ...

    def hear_latest(self) -> None:
        """Hear at once what the appliance has recorded so far and not been heard yet (a
        running appliance's records are read some time after they are written); nothing
        where every record is heard as it is written. See `still_holds`."""
        ...

    # --- agents ----------------------------------------------------------------------

    def will_answer(self, call: int, at: float) -> None:
        """The agent ringing for ``call`` means to pick up at ``at`` (a hint only)."""
        ...

    def answer(self, agent: str, call: int) -> None: ...

    def decline(self, agent: str, call: int) -> None:
        """Refuse the ring at once (a missed ring is no input at all)."""
        ...

    def hold(self, agent: str) -> None: ...

    def resume(self, agent: str) -> None: ...

    def transfer(self, agent: str, queue: str) -> bool:
        """Blind-transfer the agent's caller to ``queue``; False if this channel cannot."""
        ...

    def say_goodbye(self, call: int) -> None:
        """The agent ends the conversation (`Goodbye` to its caller)."""
        ...

    def hang_up_agent(self, agent: str) -> None:
        """The agent ends the conversation by hanging up first: the caller may stay on the
        line for a post-call survey."""
        ...

    def log_in(self, agent: str) -> None: ...

    def log_out(self, agent: str) -> None: ...

    def ready(self, agent: str) -> None: ...

    def not_ready(self, agent: str, reason: str) -> None: ...

    def wrapping_up(self, agent: str) -> bool:
        """Whether the agent is in after-call work (as their phone's display shows)."""
        ...

    def paused_for_missed_ring(self, agent: str) -> bool:
        """Whether the ACD paused the agent for a ring they did not answer."""
        ...


def still_holds(channel: Channel, condition: Callable[[], bool]) -> bool:
    """Whether `condition()` holds on all the appliance has done so far: checked on what was
    heard, and if it holds, again after `channel.hear_latest()`. A model whose timer means
    something only if the appliance has not acted meanwhile (a caller's patience in the IVR,
    unaware yet that the call was queued) decides with it."""
    if not condition():
        return False
    channel.hear_latest()
    return condition()
