"""A call as call control tracks it while it is in the appliance."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

from appliance.clock import TimerHandle

if TYPE_CHECKING:
    from appliance.pbx.acd.callback import CallbackEntry
    from appliance.pbx.acd.queue import Membership
    from appliance.pbx.features.park import ParkedCall
    from appliance.pbx.groupwait import GroupWait
    from appliance.pbx.ivr import Farewell, FlowRun
    from appliance.pbx.ivr.callback import CallbackConfirm
    from appliance.pbx.ivr.roompin import RoomPin
    from appliance.pbx.voicemail import Deposit


class CallState(Enum):
    ROUTING = 0
    # The appliance speaks (an IVR flow, a closed prompt), or a ring group rings (`Call.ivr`).
    IVR = 5
    QUEUED = 1  # waiting; may be ringing agents at the same time
    TALKING = 2
    HELD = 3
    ENDED = 4
    PARKED = 6  # in a park slot (`appliance.pbx.features.park`), hearing music


class Call:
    __slots__ = (
        "agent",
        "ani",
        "announce_timer",
        "answered",
        "answered_at",
        "callback",
        "carried_wait",
        "dnis",
        "first_queued_at",
        "heap_version",
        "id",
        "ivr",
        "ivr_answered",
        "key",
        "language",
        "max_wait_timer",
        "offer_timer",
        "offered_at",
        "parked",
        "priority",
        "queue",
        "queued_at",
        "recall",
        "ringing",
        "route_priority",
        "seized",
        "state",
        "sticky",
        "sticky_timer",
        "trunk_group",
        "variables",
    )

    def __init__(self, call_id: int, trunk_group: str, ani: str, dnis: str, now: float) -> None:
        self.id = call_id
        self.trunk_group = trunk_group
        self.seized = True  # holds a channel of its trunk group (not a campaign's answered call)
        self.ani = ani
        self.dnis = dnis
        self.offered_at = now
        self.state = CallState.ROUTING
        self.queue: str = ""
        self.priority = 0
        self.route_priority: int | None = None
        self.first_queued_at = 0.0  # start of the current wait (reset by a transfer)
        self.queued_at = 0.0  # when it entered its current queue
        # (-priority, first_queued_at, sequence): the order calls are served in.
        self.key: tuple[int, float, int] | None = None
        # Seconds waited before an agent transferred it, kept by its new queue (its key's
        # start is that much earlier); 0 for a new wait.
        self.carried_wait = 0.0
        # After a transfer to one agent: (the transferring agent, their queue). A ring not
        # taken rings that agent back, then (the agent now "") puts the call in that queue.
        self.recall: tuple[str, str] | None = None
        # Bumped whenever the call leaves its queue's waiting heap, so that the
        # heap's old entries for it read as stale (lazy deletion).
        self.heap_version = 0
        self.ringing: list = []  # memberships of the agents ringing for it now
        # The membership of the agent who served its caller last, while the call waits for
        # them or rings them alone (sticky agent); the timer ends the wait.
        self.sticky: Membership | None = None
        self.sticky_timer: TimerHandle | None = None
        self.agent = ""  # the agent talking with it
        self.answered = False
        self.answered_at = 0.0
        self.max_wait_timer: TimerHandle | None = None
        self.announce_timer: TimerHandle | None = None
        self.offer_timer: TimerHandle | None = None  # when the callback is offered
        # Set once the caller asked to be called back (`appliance.pbx.acd.callback`).
        self.callback: CallbackEntry | None = None
        self.ivr_answered = False  # an IVR flow (or a closed prompt) answered it
        # Its park slot's entry, from the park until it is taken from the lot and served
        # (picked up, or answered by the parker it rang back): where it goes if not taken.
        self.parked: ParkedCall | None = None
        # While in an IVR flow, a closed prompt, leaving a message or at a conference room's
        # door or ringing a ring group; while confirming a callback (still QUEUED).
        self.ivr: (FlowRun | Farewell | Deposit | CallbackConfirm | RoomPin | GroupWait
                   | None) = None
        # What the IVR learnt, kept with the call once it leaves for a queue or an agent.
        self.language = ""
        self.variables: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"Call({self.id}, {self.state.name}, queue={self.queue!r}, agent={self.agent!r})"
