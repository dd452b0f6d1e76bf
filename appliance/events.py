"""The event log's records: every state change of calls, queues and agents.

One append-only stream (the queue_log idea). Detail records, KPIs, the live
console and simulation reports are all computed from it, by the same code, in
simulation and on the box. Records are immutable and typed; they are
NamedTuples rather than frozen dataclasses because a busy simulation writes
millions of them and a NamedTuple is built about twice as fast.

Every record starts with ``t``, the time in seconds on the clock that drove the
core (simulated or wall-clock seconds since the run started).

Life of a call, in record order::

    CallOffered -> CallBlocked -> CallEnded                      (all trunks busy)
    CallOffered -> CallQueued [-> StickyOffered] [-> CallAnnounced]* [-> AgentRung -> RingNoAnswer]*
                -> CallAnswered [-> CallHeld -> CallResumed]* [-> CallTransferred ...]
                [-> CallParked [-> ParkTimedOut] -> (ParkPickedUp | CallQueued) ...]
                [-> CallPickedUp]  (before its CallAnswered: taken from a ringing phone)
                -> CallEnded
    CallOffered -> CallQueued ... -> CallAbandoned -> CallEnded
    CallOffered -> CallQueued ... -> CallOverflowed -> CallQueued ... (another queue)
    CallOffered -> CallQueued ... -> CallOverflowed -> CallEnded  (voicemail / busy)

A call answered by the IVR passes it before (or instead of) a queue::

    IvrFlowEntered -> IvrNodeEntered [-> IvrDigits | IvrLookedUp | IvrVariableSet
                   | IvrNodeEntered | IvrFlowEntered]* -> IvrExited

A call whose queue has a post-call survey, and whose agent hung up first, walks the survey's
flow after its talk (the same IVR records, which the reduction leaves out of the IVR's
figures), then::

    ... -> IvrExited [-> SurveyScored] -> CallEnded

A call whose queue offers a callback may leave its caller's leg and keep its place (the same
call, its trunk released while it waits; ``CallbackPlaced`` seizes one again)::

    CallOffered -> CallQueued ... [-> CallbackOffered] -> CallbackRequested
                [-> AgentRung [-> RingNoAnswer]]* -> CallbackPlaced
                [-> CallbackFailed -> CallbackPlaced]* -> CallbackAnswered
                -> CallAnswered ... -> CallEnded        (connected: ``wait`` is to then)
    ... -> CallbackFailed -> CallbackGivenUp -> CallEnded    (every attempt failed)

On the box each ``CallbackPlaced`` that goes out is followed by ``CallbackDialled``, naming the
outside call (``OutsideCallStarted`` ...) that carries it.

A callback still pending when the box stops (SIGTERM or a crash) is ended in its run with
cause ``carried_over`` and goes on in the next run as a new call (its customer is not on the
line, so it seizes no channel), back in its queue ahead of the callers who came after it::

    CallOffered -> CallbackCarried -> CallQueued ... (as after CallbackRequested)

Every ``CallOffered`` is followed, sooner or later, by exactly one ``CallEnded``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class AgentState(StrEnum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    NOT_READY = "not_ready"
    RINGING = "ringing"
    TALKING = "talking"
    HELD = "held"
    WRAP_UP = "wrap_up"


class EndCause(StrEnum):
    """Why a call left the appliance (the last record of every call)."""

    BLOCKED = "blocked"  # every trunk of its group was busy
    ABANDONED = "abandoned"  # the caller hung up before an agent answered
    CALLER_HANGUP = "caller_hangup"  # after being answered
    AGENT_HANGUP = "agent_hangup"  # after being answered
    VOICEMAIL = "voicemail"  # sent to voicemail by an overflow rule or a route
    BUSY = "busy"  # given busy tone by an overflow rule (queue full, max wait)
    NO_ROUTE = "no_route"  # no inbound route matched
    BLACKLISTED = "blacklisted"  # the caller's number is on the blacklist: busy tone
    CLOSED = "closed"  # routed to a closed prompt (after hours, holiday), then hung up
    AGENT_UNREACHABLE = "agent_unreachable"  # routed to one named agent, who cannot be rung
    IVR_COMPLETED = "ivr_completed"  # served by the IVR itself (its flow's STOP FLOW)
    IVR_ABANDONED = "ivr_abandoned"  # the caller hung up in the IVR
    IVR_HANG_UP = "ivr_hang_up"  # the IVR's flow hung up on the caller (a HANG UP node)
    INTERRUPTED = "interrupted"  # the appliance stopped (crash, power) with the call up
    CALLBACK_GIVEN_UP = "callback_given_up"  # no attempt to call the caller back got through
    # A callback still pending when the box stopped: it goes on in the next run
    # (``CallbackCarried`` names this call), so neither an abandon nor given up.
    CARRIED_OVER = "carried_over"
    # Its agent transferred it into a conference room (or an IVR exit sent it there): the
    # call leaves call control, its trunk channel held until the caller leaves the room.
    CONFERENCE = "conference"
    # Its agent transferred it to a phone that is no agent's or to an outside number: the
    # call leaves call control, its trunk channel held until the caller's leg ends.
    TRANSFERRED_OUT = "transferred_out"
    # A route sent it to a ring group and a member answered: the call leaves call control,
    # its trunk channel held until the caller or the member hangs up.
    RING_GROUP = "ring_group"


class OverflowCause(StrEnum):
    MAX_WAIT = "max_wait"
    QUEUE_FULL = "queue_full"
    NO_AGENTS = "no_agents"


# ``new(CallEnded, (t, call, cause))`` builds a record without the Python-level
# ``__new__`` that NamedTuple generates: at several records a call that halves
# the cost of the event log. The cores use it; the field count is checked by
# every writer of the log (``record_to_json`` zips strictly) and by the tests.
new = tuple.__new__


# --- calls -------------------------------------------------------------------


class CallOffered(NamedTuple):
    """A call reached the center on a trunk group (counted as offered)."""

    t: float
    call: int
    trunk_group: str
    ani: str
    dnis: str
    attempt: int  # 1 for a first attempt, 2+ for retrials of the same caller


class CallBlocked(NamedTuple):
    """No trunk of the group was free: the caller got busy tone."""

    t: float
    call: int
    trunk_group: str


class CallQueued(NamedTuple):
    """The call entered a queue (also after an overflow or a transfer)."""

    t: float
    call: int
    queue: str
    priority: int
    position: int  # 1-based position among the calls waiting in this queue


class CallAnnounced(NamedTuple):
    """The caller is told their position and expected wait (None: unknown)."""

    t: float
    call: int
    queue: str
    position: int
    expected_wait: float | None


class AgentRung(NamedTuple):
    """The ACD offered the call to an agent; the agent's phone rings."""

    t: float
    call: int
    queue: str
    agent: str


class StickyOffered(NamedTuple):
    """The call is offered first to ``agent``, who served its caller's number last (the
    queue's `sticky`). ``wait`` is how long it may wait for them alone: 0 when they were
    free and are rung at once (an ``AgentRung`` follows), else the queue's `sticky.wait`
    (an ``AgentRung`` follows if they free up in time; else it goes to everyone)."""

    t: float
    call: int
    queue: str
    agent: str
    wait: float


class RingNoAnswer(NamedTuple):
    """The agent did not answer in time (or declined); the call goes back to the head."""

    t: float
    call: int
    queue: str
    agent: str


class CallAnswered(NamedTuple):
    """An agent answered. ``wait`` is the time since the call first entered a queue."""

    t: float
    call: int
    queue: str
    agent: str
    wait: float


class CallAbandoned(NamedTuple):
    """The caller hung up while waiting. ``wait`` counts from first entering a queue."""

    t: float
    call: int
    queue: str
    position: int
    wait: float


class CallOverflowed(NamedTuple):
    """The call left the queue by rule; ``target`` is a queue name, "voicemail" or "busy"."""

    t: float
    call: int
    queue: str
    cause: OverflowCause
    target: str


class CallHeld(NamedTuple):
    t: float
    call: int
    agent: str


class CallResumed(NamedTuple):
    t: float
    call: int
    agent: str


class CallTransferred(NamedTuple):
    """The agent handed the call on (blind transfer) to a queue."""

    t: float
    call: int
    agent: str
    target: str


class CallParked(NamedTuple):
    """The agent parked the call (`appliance.pbx.features.park`): their talk ends, the caller
    hears music in ``slot`` until someone picks it up or the park ``timeout`` runs out.
    ``origin`` is the queue it came from ("" for none)."""

    t: float
    call: int
    agent: str
    slot: int
    origin: str


class ParkPickedUp(NamedTuple):
    """A phone dialled the slot and took the call (a ``CallAnswered`` by ``agent`` follows)."""

    t: float
    call: int
    slot: int
    agent: str


class CallPickedUp(NamedTuple):
    """``agent`` took the call from the phones it rang (``ringing``: their agents, comma
    separated) with a pickup feature code: their ring stops, an ``AgentRung`` and a
    ``CallAnswered`` by ``agent`` follow. ``directed``: the code named an agent (else a
    group pickup)."""

    t: float
    call: int
    agent: str
    ringing: str
    directed: bool


class ParkTimedOut(NamedTuple):
    """Nobody picked the call up in time. ``to``: where it goes, "parker" (their phone rings
    again; if they do not answer it goes on to ``queue``), "queue" (to ``queue`` at once), or
    "parked" (nowhere to go: parked again)."""

    t: float
    call: int
    slot: int
    to: str
    queue: str


class CallEnded(NamedTuple):
    """The call left the appliance and released its trunk. Last record of every call."""

    t: float
    call: int
    cause: EndCause


# --- callback ----------------------------------------------------------------


class CallbackOffered(NamedTuple):
    """The waiting caller is told they may press the queue's key to be called back."""

    t: float
    call: int
    queue: str


class CallbackRequested(NamedTuple):
    """The caller confirmed ``number`` and hung up: the call keeps its place in ``queue``
    with no caller leg, its trunk released. Not an abandon."""

    t: float
    call: int
    queue: str
    number: str


class CallbackPlaced(NamedTuple):
    """Attempt ``attempt`` (1, 2 ...) to call the customer back; ``agent`` is the agent who
    waits on the line for them ("" when the customer is called first)."""

    t: float
    call: int
    number: str
    attempt: int
    agent: str


class CallbackDialled(NamedTuple):
    """The outside call that carries the latest ``CallbackPlaced`` of ``call`` on the box:
    ``outside_call`` is its ``OutsideCallStarted.call`` (whose records follow it)."""

    t: float
    call: int
    outside_call: int


class CallbackAnswered(NamedTuple):
    """The customer answered the callback."""

    t: float
    call: int


class CallbackFailed(NamedTuple):
    """The attempt did not reach the customer. ``reason``: busy, no_answer, failed (a
    refusal or an unusable answer), no_channel (every channel of the trunk group busy),
    agent_hangup (the agent gave up while it rang)."""

    t: float
    call: int
    attempt: int
    reason: str


class CallbackCarried(NamedTuple):
    """The call is callback ``call`` of run ``run`` (ended there ``carried_over``), pending
    when the box stopped: it waits again in ``queue`` to call ``number``, ``attempts`` calls
    made already, having waited ``waited`` seconds (since its first queueing, on the wall
    clock when the runs' clocks are known, else up to the stop), which keeps its place."""

    t: float
    call: int
    queue: str
    number: str
    attempts: int
    waited: float
    run: str
    previous: int


class CallbackGivenUp(NamedTuple):
    """No attempt got through and none is left: a ``CallEnded`` follows."""

    t: float
    call: int
    attempts: int


# --- calls between phones -------------------------------------------------------


class ExtensionCallStarted(NamedTuple):
    """A phone (``caller``, an agent id) dialled another (``callee``) and it rings. Records of
    their own, not Call* records: no trunk, no queue, so the queue figures are untouched.
    ``call`` is the B2BUA's id of the internal call, negative, never one of call control's."""

    t: float
    call: int
    caller: str
    callee: str


class ExtensionCallAnswered(NamedTuple):
    t: float
    call: int


class ExtensionCallEnded(NamedTuple):
    """Last record of an internal call. ``cause``: caller_hangup, callee_hangup (after the
    answer), cancelled, no_answer, busy, unavailable (not registered or refused), declined,
    forwarded (sent on to an outside number: `CallForwarded`), transferred (its caller handed
    a customer's call to its callee: an attended transfer)."""

    t: float
    call: int
    cause: str


class RingGroupCallStarted(NamedTuple):
    """A phone (``caller``) dialled a ring group (``group``, its number); its members ring
    all at once or in turn. Records of their own, like calls between phones (no trunk, no
    queue). ``call`` is the B2BUA's id of the internal call, negative."""

    t: float
    call: int
    caller: str
    group: str


class RingGroupCallAnswered(NamedTuple):
    """``member`` answered the ring group call; the others stopped ringing."""

    t: float
    call: int
    member: str


class RingGroupCallEnded(NamedTuple):
    """Last record of a ring group call. ``cause``: caller_hangup, callee_hangup (after the
    answer), cancelled, no_answer (nobody answered or could, and no ``then`` took it),
    forwarded (to the group's ``then``, an outside number: an outside call of the same id,
    purpose ``forwarded``, follows). A ``then`` phone is one more turn of the same call,
    after a `CallForwarded` (condition ``no_answer``)."""

    t: float
    call: int
    cause: str


# --- outside calls ------------------------------------------------------------


class OutsideCallStarted(NamedTuple):
    """The appliance places a call to an outside number through a trunk group's route out.
    ``number`` is the number as dialled (the route's prefix left off), ``placed_by`` who asked
    (a phone's user), ``purpose`` why ("dialled" for a phone's own call). ``call`` is the
    B2BUA's id, negative like a call between phones'. Records of their own, not Call*
    records: the queue figures are untouched."""

    t: float
    call: int
    trunk_group: str
    number: str
    placed_by: str
    purpose: str


class OutsideCallAnswered(NamedTuple):
    t: float
    call: int


class OutsideCallEnded(NamedTuple):
    """Last record of an outside call. ``cause``: after the answer caller_hangup (the placing
    side) or far_hangup; before it cancelled (given up by the placing side), busy, no_answer,
    not_found, rejected, failed (no or an unusable answer, a server error), no_channel (every
    channel of the trunk group was busy), barred (the placing phone may not dial the number:
    refused 403 at once, no channel seized). ``status``: the far end's final SIP status, 0 for
    none."""

    t: float
    call: int
    cause: str
    status: int


class CallForwarded(NamedTuple):
    """A call between phones to ``phone`` goes to ``target`` instead (another phone's user, or
    an outside number as dialled, prefix and all), by the phone's forwarding for
    ``condition`` (always, busy, no_answer). Going to another phone, the call carries on
    under its id; going out, it ends (cause ``forwarded``) and an outside call of the same
    id, purpose ``forwarded``, placed by ``phone``, follows."""

    t: float
    call: int
    phone: str
    target: str
    condition: str


class ForwardingChanged(NamedTuple):
    """A phone set (``target``) or cleared (``""``) its forwarding for ``condition`` with a
    feature code; kept across restarts (the records' ``forwarding`` table)."""

    t: float
    phone: str
    condition: str
    target: str


# --- supervision and conferences ---------------------------------------------------


class SupervisionStarted(NamedTuple):
    """A supervisor's phone (``supervisor``, its user) joined the call ``call`` of agent
    ``agent`` in ``mode``: listen (hears both, heard by none), whisper (heard by the agent
    only) or barge (all three hear each other). Records of their own: the call's figures
    are untouched."""

    t: float
    call: int
    supervisor: str
    agent: str
    mode: str


class SupervisionChanged(NamedTuple):
    """The supervisor of ``call`` switched to ``mode`` (a digit pressed)."""

    t: float
    call: int
    supervisor: str
    mode: str


class SupervisionEnded(NamedTuple):
    """The supervisor left ``call``. ``cause``: supervisor_hangup, call_ended (the call ended
    or its agent left it), shutdown."""

    t: float
    call: int
    supervisor: str
    cause: str


class CallForcedOff(NamedTuple):
    """A supervisor (``supervisor``) ended agent ``agent``'s call ``call``; the call's own
    records then end it as the appliance ending it."""

    t: float
    call: int
    agent: str
    supervisor: str


class ConferenceJoined(NamedTuple):
    """A phone or caller (``party``) joined the conference room ``room``; ``call`` is its
    leg's id (the B2BUA's, negative)."""

    t: float
    room: str
    call: int
    party: str


class ConferenceLeft(NamedTuple):
    t: float
    room: str
    call: int
    party: str


# --- outbound campaigns -------------------------------------------------------
# A campaign's dialer (`appliance.pbx.features.campaign`) decides and hears outcomes by
# number; each attempt is one number's ``attempt``-th call. Every number listed ends in
# exactly one ``CampaignNumberDone``; the campaign in one ``CampaignDone`` once all have.


class CampaignStarted(NamedTuple):
    """A campaign starts (or resumes) dialing: ``numbers`` listed, ``pending`` of them not
    done yet."""

    t: float
    campaign: str
    numbers: int
    pending: int


class CampaignStopped(NamedTuple):
    """Dialing stops (a command, a reload); calls up go on, numbers keep their state."""

    t: float
    campaign: str


class CampaignDialed(NamedTuple):
    t: float
    campaign: str
    number: str
    attempt: int


class CampaignAnswered(NamedTuple):
    """The number answered and was given to the campaign's queue (a free agent) or flow."""

    t: float
    campaign: str
    number: str
    attempt: int


class CampaignAbandoned(NamedTuple):
    """The number answered but no agent of the queue was free: hung up (abandoned on
    connect, the figure regulators limit)."""

    t: float
    campaign: str
    number: str
    attempt: int


class CampaignNoAnswer(NamedTuple):
    t: float
    campaign: str
    number: str
    attempt: int


class CampaignBusy(NamedTuple):
    t: float
    campaign: str
    number: str
    attempt: int


class CampaignFailed(NamedTuple):
    """The attempt failed otherwise; ``cause`` as `OutsideCallEnded`'s (not_found, rejected,
    failed, no_channel ...)."""

    t: float
    campaign: str
    number: str
    attempt: int
    cause: str


class CampaignNumberDone(NamedTuple):
    """A number's final outcome: ``connected`` (answered and handed on), ``do_not_call``
    (never dialed), or, once its attempts are used up, the last one's (no_answer, busy,
    failed, abandoned). ``attempts``: calls placed to it."""

    t: float
    campaign: str
    number: str
    outcome: str
    attempts: int


class CampaignDone(NamedTuple):
    """Every number of the campaign has its final outcome; ``connected`` of them answered."""

    t: float
    campaign: str
    numbers: int
    connected: int


# --- IVR ---------------------------------------------------------------------


class IvrExitKind(StrEnum):
    """How a call left the IVR."""

    QUEUE = "queue"  # to an ACD queue, with its variables
    AGENT = "agent"  # straight to one agent
    VOICEMAIL = "voicemail"
    CONFERENCE = "conference"  # into a conference room (by its number), out of call control
    HANG_UP = "hang_up"  # the IVR hung up on the caller (closed, blocked ...)
    COMPLETED = "completed"  # served by self-service (STOP FLOW)
    ABANDONED = "abandoned"  # the caller hung up in the IVR


class IvrFlowEntered(NamedTuple):
    """The call entered a flow at its start (first, or from another flow)."""

    t: float
    call: int
    flow: str


class IvrNodeEntered(NamedTuple):
    """The call reached a node of ``flow``; the time to the next record is spent there."""

    t: float
    call: int
    flow: str
    node: str
    kind: str


class IvrDigits(NamedTuple):
    """One try at an input node ended: the ``digits`` pressed (terminator left out) and how
    the collection ended, ``ended_by``: count (enough digits), terminator or timeout."""

    t: float
    call: int
    node: str
    digits: str
    ended_by: str


class IvrVariableSet(NamedTuple):
    t: float
    call: int
    name: str
    value: str


class IvrLookedUp(NamedTuple):
    """An ACCESS DB lookup came back (or timed out): ``result`` found, not_found or failed."""

    t: float
    call: int
    lookup: str
    key: str
    result: str


class IvrExited(NamedTuple):
    """The call left the IVR: ``target`` is the queue, agent or mailbox ("" for the others);
    ``variables`` are the user variables then."""

    t: float
    call: int
    kind: IvrExitKind
    target: str
    language: str
    variables: dict[str, str]


class SurveyScored(NamedTuple):
    """The caller rated ``agent``, who served them from ``queue``, in the post-call survey:
    ``score`` is what the survey's flow left in its score variable (never "")."""

    t: float
    call: int
    agent: str
    queue: str
    score: str


# --- agents ------------------------------------------------------------------


class AgentStateChanged(NamedTuple):
    """Every transition of an agent's state machine.

    ``reason`` is the not-ready reason code; entering ready, why when the agent did not ask
    (``autopause_over``, or the failure of a ring that did not pause them); "" otherwise.
    ``call`` is the call
    the agent is ringing for, talking on, holding or wrapping up (0 for none).
    """

    t: float
    agent: str
    state: AgentState
    reason: str
    call: int


# --- media (live appliance) ---------------------------------------------------


class DigitReceived(NamedTuple):
    """A key pressed by the caller (``party``), heard as ``via``: rfc4733, info or inband."""

    t: float
    call: int
    party: str
    digit: str
    via: str


class RecordingStarted(NamedTuple):
    """The call's recording begins (when the agent answers); ``file`` names the WAV."""

    t: float
    call: int
    file: str


class VoicemailRecording(NamedTuple):
    """The caller heard ``mailbox``'s greeting and beep: their message is recorded from now."""

    t: float
    call: int
    mailbox: str


class VoicemailLeft(NamedTuple):
    """A message for ``mailbox`` from ``caller`` (their number) ended after ``seconds`` of
    recording; ``kept`` False when it was discarded as silence only (less than 0.3 s of
    voice; in simulation, less than 0.3 s long). ``file`` names its WAV ("" when discarded,
    and in simulation). Logged by the driver that recorded it, just after the call's
    ``CallEnded``."""

    t: float
    call: int
    mailbox: str
    caller: str
    seconds: float
    file: str
    kept: bool = True


class RecordingStopped(NamedTuple):
    """The recording ended before the call did; ``reason``: disk_low."""

    t: float
    call: int
    reason: str


class MediaTimedOut(NamedTuple):
    """``party`` of the call sent no RTP for ``silent_for`` seconds; the call is ended."""

    t: float
    call: int
    party: str
    silent_for: float


class MediaQuality(NamedTuple):
    """The RTP of ``party`` (caller or agent) over the call, when a conversation ends.

    What the appliance received from the party (packets, packets missing from their stream,
    interarrival jitter sampled every report interval, mean and max) and what their RTCP said:
    the latest round trip and how many of our packets they reported lost (None without RTCP).
    """

    t: float
    call: int
    party: str
    packets_received: int
    packets_lost: int
    jitter_mean_ms: float
    jitter_max_ms: float
    rtt_ms: float | None
    reported_lost: int | None


class Alarm(NamedTuple):
    """An appliance-wide condition raised (``raised``) or cleared, e.g. disk_low."""

    t: float
    name: str
    raised: bool
    detail: str


# --- gateway ports -------------------------------------------------------------


class PortCall(NamedTuple):
    """The call came in on a gateway's port of `trunk_group` (of `kind`, on `line` where the
    port's calls are told apart that way). `answer_delay`: seconds the line rang before the
    call could be answered (an analog line's wait for the caller ID); its `CallOffered` is
    that late."""

    t: float
    call: int
    gateway: str
    port: str
    trunk_group: str
    kind: str
    line: str
    answer_delay: float


class PortLateRelease(NamedTuple):
    """The port is free again `seconds` after its far end hung up: the line stayed seized
    (and its trunk busy) that long because the hang-up was noticed late (tone or timeout)."""

    t: float
    gateway: str
    port: str
    trunk_group: str
    seconds: float


class PortRingLost(NamedTuple):
    """The caller hung up while `port` still rang, `rang` seconds after the first ring and
    before the port could offer the call (an analog line waiting for the caller ID): a lost
    ring. The call never reached call control, so it is neither offered nor abandoned."""

    t: float
    gateway: str
    port: str
    trunk_group: str
    line: str
    rang: float


class PortFreed(NamedTuple):
    """The port is free again after `seized` seconds busy with one call (ringing, talking,
    waiting to notice a hang-up, clearing): what the trunk's occupancy adds up."""

    t: float
    gateway: str
    port: str
    trunk_group: str
    seized: float


class LineBusy(NamedTuple):
    """A caller rang `line` of `trunk_group` while every port carrying it was busy: the
    carrier gave them busy tone and the appliance never saw the call."""

    t: float
    trunk_group: str
    line: str


class PortFailed(NamedTuple):
    """A gateway port of `trunk_group` went out of service; `call` (0: none) was on it and
    is lost."""

    t: float
    gateway: str
    port: str
    trunk_group: str
    call: int


class PortRestored(NamedTuple):
    """A failed gateway port is back in service."""

    t: float
    gateway: str
    port: str


CallRecord = (
    CallOffered
    | CallBlocked
    | CallQueued
    | CallAnnounced
    | AgentRung
    | StickyOffered
    | RingNoAnswer
    | CallAnswered
    | CallAbandoned
    | CallOverflowed
    | CallHeld
    | CallResumed
    | CallTransferred
    | CallParked
    | ParkPickedUp
    | ParkTimedOut
    | CallPickedUp
    | CallEnded
    | DigitReceived
    | RecordingStarted
    | RecordingStopped
    | MediaTimedOut
    | MediaQuality
    | IvrFlowEntered
    | IvrNodeEntered
    | IvrDigits
    | IvrVariableSet
    | IvrLookedUp
    | IvrExited
    | ExtensionCallStarted
    | ExtensionCallAnswered
    | ExtensionCallEnded
    | RingGroupCallStarted
    | RingGroupCallAnswered
    | RingGroupCallEnded
    | OutsideCallStarted
    | OutsideCallAnswered
    | OutsideCallEnded
    | SupervisionStarted
    | SupervisionChanged
    | SupervisionEnded
    | CallForcedOff
    | ConferenceJoined
    | ConferenceLeft
    | SurveyScored
    | CallForwarded
    | ForwardingChanged
    | VoicemailRecording
    | VoicemailLeft
    | CallbackOffered
    | CallbackRequested
    | CallbackPlaced
    | CallbackDialled
    | CallbackAnswered
    | CallbackFailed
    | CallbackGivenUp
    | CallbackCarried
)
CampaignRecord = (
    CampaignStarted
    | CampaignStopped
    | CampaignDialed
    | CampaignAnswered
    | CampaignAbandoned
    | CampaignNoAnswer
    | CampaignBusy
    | CampaignFailed
    | CampaignNumberDone
    | CampaignDone
)
PortRecord = (PortCall | PortLateRelease | PortRingLost | PortFreed | LineBusy | PortFailed
              | PortRestored)
Record = CallRecord | AgentStateChanged | Alarm | CampaignRecord | PortRecord

RECORD_TYPES: dict[str, type[Record]] = {
    cls.__name__: cls
    for cls in (
        CallOffered,
        CallBlocked,
        CallQueued,
        CallAnnounced,
        AgentRung,
        StickyOffered,
        RingNoAnswer,
        CallAnswered,
        CallAbandoned,
        CallOverflowed,
        CallHeld,
        CallResumed,
        CallTransferred,
        CallParked,
        ParkPickedUp,
        ParkTimedOut,
        CallPickedUp,
        CallEnded,
        AgentStateChanged,
        DigitReceived,
        RecordingStarted,
        RecordingStopped,
        MediaTimedOut,
        MediaQuality,
        Alarm,
        IvrFlowEntered,
        IvrNodeEntered,
        IvrDigits,
        IvrVariableSet,
        IvrLookedUp,
        IvrExited,
        ExtensionCallStarted,
        ExtensionCallAnswered,
        ExtensionCallEnded,
        RingGroupCallStarted,
        RingGroupCallAnswered,
        RingGroupCallEnded,
        OutsideCallStarted,
        OutsideCallAnswered,
        OutsideCallEnded,
        SupervisionStarted,
        SupervisionChanged,
        SupervisionEnded,
        CallForcedOff,
        ConferenceJoined,
        ConferenceLeft,
        SurveyScored,
        CallForwarded,
        ForwardingChanged,
        VoicemailRecording,
        VoicemailLeft,
        CallbackOffered,
        CallbackRequested,
        CallbackPlaced,
        CallbackDialled,
        CallbackAnswered,
        CallbackFailed,
        CallbackGivenUp,
        CallbackCarried,
        CampaignStarted,
        CampaignStopped,
        CampaignDialed,
        CampaignAnswered,
        CampaignAbandoned,
        CampaignNoAnswer,
        CampaignBusy,
        CampaignFailed,
        CampaignNumberDone,
        CampaignDone,
        PortCall,
        PortLateRelease,
        PortRingLost,
        PortFreed,
        LineBusy,
        PortFailed,
        PortRestored,
    )
}
