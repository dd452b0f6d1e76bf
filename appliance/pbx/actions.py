"""What the call-control core asks its driver to do.

The core never does I/O: after each input it leaves these in its outbox and the
driver carries them out - in simulation by scheduling the caller's and agent's
behaviour, on the box by sending SIP and media. A driver may ignore actions it
has no use for (a simulated caller hears nothing of a prompt but its length).
"""

from __future__ import annotations

from typing import NamedTuple

from appliance.events import EndCause, IvrExitKind


class RingAgent(NamedTuple):
    """Alert the agent's phone with the call; answer with ``agent_answer``."""

    call: int
    agent: str
    queue: str


class StopRinging(NamedTuple):
    """Withdraw the alert (the caller left, another agent answered, or no answer)."""

    call: int
    agent: str


class Connect(NamedTuple):
    """Bridge the caller and the agent who answered; any prompt to the caller stops."""

    call: int
    agent: str


class Announce(NamedTuple):
    """Tell the waiting caller their position and expected wait (None: unknown)."""

    call: int
    queue: str
    position: int
    expected_wait: float | None
    duration: float


class HangUpCaller(NamedTuple):
    """Release the caller's leg: busy tone, voicemail, or the agent hung up."""

    call: int
    cause: EndCause


class HangUpAgent(NamedTuple):
    """Release the agent's leg: the caller hung up."""

    call: int
    agent: str


class WrapUp(NamedTuple):
    """The agent is in after-call work until ``until`` unless they go ready sooner."""

    agent: str
    call: int
    until: float


# --- callback ----------------------------------------------------------------


class OfferCallback(NamedTuple):
    """Tell the waiting caller they may press ``key`` to be called back, keeping their place
    (the prompts "callback-offer" and the key's digit); the wait goes on."""

    call: int
    queue: str
    key: str


class ReleaseCaller(NamedTuple):
    """The caller confirmed a callback to ``number``: say goodbye ("callback-booked") and end
    their leg. The call goes on without it, in its place; no ``HangUpCaller`` follows."""

    call: int
    number: str


class PlaceCallback(NamedTuple):
    """Call the customer at ``number`` through ``trunk_group``; report the answer with
    ``CallControl.callback_answered`` and a failure with ``callback_failed``. ``agent`` is the
    agent already on the line (agent first; a ``Connect`` follows the answer), "" when the
    customer is called first. The core times the ring itself (``CancelCallback``)."""

    call: int
    number: str
    trunk_group: str
    agent: str


class CancelCallback(NamedTuple):
    """Stop calling the customer (they did not answer in time, or the agent hung up); no
    report is expected."""

    call: int


class ReleaseAgent(NamedTuple):
    """The attempt on which ``agent`` waited on the line did not reach the customer: end the
    agent's leg. They are ready again at once (no wrap-up); the call keeps its place."""

    call: int
    agent: str


# --- voicemail -------------------------------------------------------------------


class RecordMessage(NamedTuple):
    """The greeting and beep have played: record the caller's audio as a message for
    `mailbox`. Call control ends it (`StopMessage`) on "#", a hang-up or `max_seconds`."""

    call: int
    mailbox: str
    max_seconds: float


class StopMessage(NamedTuple):
    """The message of `call` for `mailbox` is over: finish its file, keep it or discard it
    (silence only), and say so in the event log (`VoicemailLeft`)."""

    call: int
    mailbox: str


# --- IVR ---------------------------------------------------------------------


class AnswerCaller(NamedTuple):
    """Answer the caller now: the IVR is going to speak to them (a caller routed straight to
    a queue is answered as the site's media settings say)."""

    call: int


class PlayPrompts(NamedTuple):
    """Play the prompts ``names`` in ``language`` to the caller, one after the other. The IVR
    times them itself; the driver need not report their end. ``barge_in``: a digit will stop
    them (the IVR then says so with ``StopPrompts``)."""

    call: int
    names: tuple[str, ...]
    language: str
    barge_in: bool


class StopPrompts(NamedTuple):
    """Stop what is playing to the caller: they pressed a key (barge-in)."""

    call: int


class LookUp(NamedTuple):
    """Look ``key`` up with the site's lookup ``lookup``; answer with ``FlowRun.lookup_done``."""

    call: int
    lookup: str
    key: str


class StartSurvey(NamedTuple):
    """The agent hung up and the caller stays for the queue's post-call survey: keep the
    caller's leg up, its media no longer bridged to ``agent``; the survey's flow plays its
    prompts next (``PlayPrompts``) and ends the call with a ``HangUpCaller`` (cause
    AGENT_HANGUP) unless the caller hangs up first."""

    call: int
    agent: str


class LeaveIvr(NamedTuple):
    """The call leaves the IVR: to ``target`` (a queue, agent or mailbox; "" for the other
    kinds), at ``priority`` (None: the queue's own), with its language and user variables.
    Call control hands its drivers the exits to a queue and those to an agent it rings (the
    caller now waits there, as queued callers do); an exit to a conference room (``target``,
    the room's number; ``ask_pin``: the caller keys in its PIN first) becomes `JoinRoom`; the
    other exits end the call with a ``HangUpCaller``."""

    call: int
    kind: IvrExitKind
    target: str
    priority: int | None
    language: str
    variables: dict[str, str]
    ask_pin: bool = False


class JoinRoom(NamedTuple):
    """The caller, answered and let go by call control (cause CONFERENCE), joins conference
    room `room` (its number) as `party`, holding a channel of `trunk_group` until they leave
    (`CallControl.release_trunk`)."""

    call: int
    room: str
    trunk_group: str
    party: str


class HuntRingGroup(NamedTuple):
    """A route sent the caller to ring group `group` (its number): the driver rings its
    phones, the caller hearing ringing. The call stays with call control, waiting, until the
    driver says how that went: `CallControl.ring_group_answered` (the call leaves, cause
    RING_GROUP, its trunk channel the driver's to give back) or `ring_group_unanswered`
    (on to the group's mailbox or queue); a caller who hangs up meanwhile ends it ABANDONED."""

    call: int
    group: str


IvrAction = PlayPrompts | StopPrompts | LookUp | LeaveIvr

# What call control asks of its drivers (`CallControl.take_actions`).
Action = (RingAgent | StopRinging | Connect | Announce | HangUpCaller | HangUpAgent | WrapUp
          | AnswerCaller | PlayPrompts | StopPrompts | LookUp | LeaveIvr | JoinRoom | HuntRingGroup
          | StartSurvey | RecordMessage | StopMessage | OfferCallback | ReleaseCaller
          | PlaceCallback | CancelCallback | ReleaseAgent)
