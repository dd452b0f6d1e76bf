"""What SIP alone does not carry in simulation, read from the appliance's event log.

The SIP-fidelity testbed has no media plane: a queued caller hears ringing, never the
announcement the appliance decided to play nor the beep of a mailbox, and a phone shows no
agent state. `LogView` follows the event log as a timing-only media plane and a phone's
display would: which caller an announcement is played to, or a mailbox now records (calls
are matched to callers by calling number, in the order they were placed), and each agent's
state and reason. Callbacks, heard over SIP as prompts and an outside call to a number, are
followed by their records (`CALLBACK_RECORDS`) too.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from appliance.events import (
    AgentRung,
    AgentState,
    AgentStateChanged,
    CallAnnounced,
    CallbackOffered,
    CallbackPlaced,
    CallbackRequested,
    CallEnded,
    CallOffered,
    Record,
    VoicemailRecording,
)
from appliance.pbx.acd.core import REASON_NO_ANSWER
from sim.channels import IVR_RECORDS, IvrHeard

Heard = Callable[[int, CallAnnounced], None]
Followed = Callable[[int, Record], None]
CALLBACK_RECORDS = (CallbackOffered, CallbackRequested, CallbackPlaced, AgentRung, CallEnded)
"""What a callback's caller follows: the offer, the booking, each attempt to call them back,
the rings of agents for the call (agent first) and its end."""
LOGGED_OUT = (AgentState.LOGGED_OUT, "")


class LogView:
    """Feed it every record (`EventLog.subscribe`); `announced(handle, record)` is called
    for each announcement to a caller placed with `placed`, `callbacks(handle, record)` (if
    given) for each of `CALLBACK_RECORDS` about one."""

    def __init__(self, announced: Heard,
                 recording: Callable[[int, VoicemailRecording], None] | None = None,
                 callbacks: Followed | None = None) -> None:
        self._announced = announced
        self._recording = recording
        self._callbacks = callbacks
        self._ivr: IvrHeard | None = None
        self._placed: dict[str, deque[int]] = {}  # calling number -> handles not yet offered
        self._handles: dict[int, int] = {}  # the appliance's call id -> the caller's handle
        self._agents: dict[str, tuple[AgentState, str]] = {}

    def placed(self, ani: str, handle: int) -> None:
        """A caller with calling number `ani` placed the call `handle`."""
        self._placed.setdefault(ani, deque()).append(handle)

    def __call__(self, record: Record) -> None:
        kind = type(record)
        if self._callbacks is not None and kind in CALLBACK_RECORDS:
            handle = self._handles.get(record.call)  # type: ignore[union-attr]
            if handle is not None:
                self._callbacks(handle, record)
        if kind is AgentStateChanged:
            self._agents[record.agent] = (record.state, record.reason)
        elif kind is CallOffered:
            self._offered(record)
        elif kind is CallAnnounced:
            handle = self._handles.get(record.call)
            if handle is not None:
                self._announced(handle, record)
        elif kind is CallEnded:
            self._handles.pop(record.call, None)
        elif kind is VoicemailRecording and self._recording is not None:
            handle = self._handles.get(record.call)
            if handle is not None:
                self._recording(handle, record)
        elif kind in IVR_RECORDS and self._ivr is not None:
            handle = self._handles.get(record.call)
            if handle is not None:
                self._ivr(handle, record)

    def follow_ivr(self, heard: IvrHeard) -> None:
        """Tell `heard(handle, record)` the IVR records of calls placed with `placed`."""
        self._ivr = heard

    def _offered(self, record: CallOffered) -> None:
        waiting = self._placed.get(record.ani)
        if waiting:
            self._handles[record.call] = waiting.popleft()
            if not waiting:
                del self._placed[record.ani]

    def agent_state(self, agent: str) -> AgentState:
        return self._agents.get(agent, LOGGED_OUT)[0]

    def paused_for_missed_ring(self, agent: str) -> bool:
        return self._agents.get(agent, LOGGED_OUT) == (AgentState.NOT_READY, REASON_NO_ANSWER)
