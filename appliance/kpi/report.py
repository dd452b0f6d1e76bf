"""The figures of a KPI report (the definitions of DOMAIN.md, "Operating figures").

Every rate or mean whose denominator is zero is None ("not defined"), never 0.
Times are in seconds. A call's figures belong to the interval of its offer.

Two levels count calls differently:

* the center (and each interval's center figures) counts calls: every offered
  call ends in exactly one of blocked, no_route, blacklisted, closed,
  agent_unreachable, answered, abandoned, voicemail, busy or in_system, or
  (``KpiReport.ivr``) completed, hung up or abandoned in the IVR, so ``offered`` is
  the sum of ``CENTER_ENDS`` (``+ ivr.completed + ivr.hung_up + ivr.abandoned`` with
  an IVR); waits are the call's own (``CallAnswered.wait``, ``CallAbandoned.wait``, from
  first entering any queue);
* a queue counts visits: each time a call enters the queue (``CallQueued``) it
  is offered to that queue once, and the visit ends answered in that queue,
  abandoned there, overflowed out, or is still waiting, so
  ``offered == answered + abandoned + overflowed_out + in_system``;
  waits run from entering that queue. Talk, hold, wrap-up and transfers belong
  to the queue the agent answered the call from.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, TypeVar

from appliance.kpi.features import FeatureReport
from appliance.kpi.ports import PortReport
from appliance.kpi.resolution import ResolutionStats
from appliance.kpi.settings import KpiSettings
from appliance.kpi.survey import SurveyReport
from appliance.kpi.voicemail import VoicemailReport

T = TypeVar("T")

CENTER_ENDS = ("blocked", "no_route", "blacklisted", "closed", "agent_unreachable", "answered",
               "abandoned", "voicemail", "busy", "in_system", "callback_given_up")
"""The ``CallStats`` counts a center's offered call ends in exactly one of (besides the
IVR's own ends, ``IvrStats.completed``, ``hung_up`` and ``abandoned``)."""


def build(cls: type[T], fields: dict[str, Any]) -> T:
    """An instance of the frozen dataclass ``cls`` from all of its fields, without the
    generated ``__init__``, which sets each field through ``object.__setattr__``: a
    long run's report builds thousands. Equal to ``cls(**fields)`` (a test checks it)."""
    instance = object.__new__(cls)
    object.__setattr__(instance, "__dict__", fields)
    return instance


@dataclass(frozen=True)
class CallStats:
    """Call figures of the center, a queue, an interval or an interval of a queue."""

    offered: int
    """Calls that reached the center (queue: visits, i.e. times a call entered the queue)."""
    blocked: int
    """Calls that got busy tone because no trunk was free (never reached the ACD)."""
    no_route: int
    """Calls no inbound route matched."""
    # The calls routing sends away before any queue reached the center and found a trunk,
    # so they are offered (DOMAIN.md: all calls that reached the center) but not blocked,
    # which counts only calls no trunk was free for; they are in every rate's "offered".
    blacklisted: int
    """Calls routing refused because the caller is on the blacklist (busy tone). 0 for a
    queue, as for the other two: these calls never enter one."""
    closed: int
    """Calls routing ended with a closed prompt: after hours or on a holiday."""
    agent_unreachable: int
    """Calls routed (or sent by the IVR) to one named agent who could not be rung."""
    answered: int
    """Calls answered by an agent, each counted once, at its first answer (queue: visits
    answered in this queue, so a call transferred back and answered again counts again)."""
    abandoned: int
    """Unanswered calls the caller ended, short abandons included (queue: visits abandoned
    in this queue)."""
    abandoned_in_queue: int
    """Of ``abandoned``, those that hung up while waiting in a queue (or ringing an agent);
    the others hung up before reaching a queue."""
    short_abandoned: int
    """Abandons in queue after a wait of the queue's short-abandon threshold or less."""
    overflowed_out: int
    """Center: calls that ended in voicemail or busy by an overflow rule without an answer.
    Queue: visits that left this queue by an overflow rule, to any target."""
    voicemail: int
    """Unanswered calls sent to voicemail by an overflow rule (queue: from this queue)."""
    busy: int
    """Unanswered calls given busy tone by an overflow rule (queue: from this queue)."""
    in_system: int
    """Calls still in the system at the end of the records (none of the other ends of
    ``CENTER_ENDS``); queue: visits still waiting."""
    entered_queue: int
    """Calls that entered at least one queue (queue: equal to ``offered``)."""
    waited: int
    """Calls that had to wait: they entered a queue and no agent was rung at the very instant
    they entered it (queue: per visit, from entering this queue)."""
    answered_within_sl: int
    """Answered calls whose wait was at most the service-level threshold of the queue that
    answered them."""
    handled: int
    """Answers by agents: a transferred call answered again counts once more."""
    transferred: int
    """Center: answered calls an agent transferred at least once. Queue: answers from this
    queue that ended in a transfer."""
    held: int
    """Center: calls put on hold at least once. Queue: answers from this queue with a hold."""
    callbacks_requested: int
    """Calls whose caller asked to be called back, keeping their place (queue: in this
    queue). Such a call is neither abandoned nor answered by the request: it is answered
    when the callback connects, its wait counting to then (for the service level too), or
    ends in ``callback_given_up``."""
    callbacks_connected: int
    """Of the answered calls, those answered by calling the caller back."""
    callback_given_up: int
    """Calls whose callback never got through (every attempt busy, unanswered or failed)."""
    callbacks_offered: int
    """Calls whose caller the queue offered a callback (``CallbackOffered``; queue: in
    this queue), once a call."""
    callbacks_within_sl: int
    """Of ``callbacks_connected``, those whose wait (from first joining the queue to the
    connection) was within the service-level threshold."""
    transferred_to_queue: int
    """Of ``transferred``, by kind: blind transfers to a queue (center: calls with at least
    one; queue: answers from this queue that ended in one)."""
    transferred_to_agent: int
    """Blind transfers to an agent, who is rung."""
    transferred_attended: int
    """Attended transfers: the agent consulted takes the call at once."""
    transferred_to_extension: int
    """Transfers out of the ACD to a phone that is no agent's."""
    transferred_outside: int
    """Transfers out of the ACD to an outside number."""
    recalls: int
    """Blind transfers to an agent that the agent did not take, the call going back to
    the transferring agent or their queue (queue: the transferring answer's)."""
    parked: int
    """Center: calls parked at least once (0 for a queue)."""
    picked_up: int
    """Center: pickups, times an agent took a call from the phones it rang with a pickup
    code (directed or group; 0 for a queue)."""
    blocked_rate: float | None
    """blocked / offered."""
    answer_rate: float | None
    """answered / offered."""
    service_level: float | None
    """answered_within_sl / entered_queue (calls offered to the queue, whatever their end)."""
    abandon_rate: float | None
    """(abandoned_in_queue - short_abandoned) / (entered_queue - short_abandoned): short
    abandons are left out of both sides."""
    avg_abandon_time: float | None
    """Mean wait of the abandons in queue that were not short."""
    asa: float | None
    """Average speed of answer: total queue time of answered calls / answered calls."""
    att: float | None
    """Average talk time per answer: from the answer to the hang-up or transfer, hold
    included; answers whose talk had not ended by the last record are left out."""
    avg_hold_time: float | None
    """Total time on hold / held (a hold still open at the last record counts up to it)."""
    acw: float | None
    """After-call work per answer: the agent's wrap-up following the talk (0 when the agent
    went straight on); answers whose wrap-up had not ended are left out."""
    aht: float | None
    """Average handle time: att + acw (hold is inside att)."""
    transfer_rate: float | None
    """transferred / answered."""
    queue_placement_rate: float | None
    """waited / offered."""
    transfer_rate_queue: float | None
    """transferred_to_queue / answered: the transfer rate of blind transfers to a queue."""
    transfer_rate_agent: float | None
    """transferred_to_agent / answered."""
    transfer_rate_attended: float | None
    """transferred_attended / answered."""
    transfer_rate_extension: float | None
    """transferred_to_extension / answered."""
    transfer_rate_outside: float | None
    """transferred_outside / answered."""
    callback_service_level: float | None
    """callbacks_within_sl / callbacks_requested: the callers who asked for a callback and
    were connected within the threshold, their wait counted to the connection (README)."""


@dataclass(frozen=True)
class AgentStats:
    """Agent figures of one agent or of all agents together, over the window (or an interval).

    The state times are the time spent in each ``AgentState``; their sum is
    ``logged_in_time``.
    """

    logged_in_time: float
    """Time in any state but logged out."""
    ready_time: float
    """Time ready and idle, waiting for a call."""
    ringing_time: float
    """Time with a call ringing on the agent's phone."""
    talk_time: float
    """Time talking."""
    hold_time: float
    """Time with the call on hold."""
    wrap_up_time: float
    """Time in after-call work."""
    not_ready_time: float
    """Time not ready, whatever the reason."""
    not_ready_by_reason: dict[str, float]
    """not_ready_time split by reason code."""
    calls_handled: int
    """Calls the agent answered within the window (a call answered again after a transfer
    counts for each agent who answered it)."""
    ring_no_answer: int
    """Times the agent was rung and did not answer (or declined)."""
    occupancy: float | None
    """(talk + hold + wrap-up) / (talk + hold + wrap-up + ready + ringing): the share of the
    available time spent on calls, after-call work included."""
    occupancy_talk_only: float | None
    """(talk + hold) / (talk + hold + wrap-up + ready + ringing): the source documents'
    definition, after-call work left out of the numerator."""
    calls_per_hour: float | None
    """calls_handled / logged-in hours."""


@dataclass(frozen=True)
class IntervalStats:
    """One interval of the grid, clipped to the window."""

    start: float
    """Start, in seconds on the records' clock (clipped to the window)."""
    end: float
    """End, in seconds on the records' clock (clipped to the window)."""
    label: str
    """The interval's nominal clock times, "08:00-08:30"; from the run's second day on
    with the day, "d2 08:00-08:30"; nominal also when the window cuts it."""
    calls: CallStats
    """Center figures of the calls offered in this interval."""
    queues: dict[str, CallStats]
    """Queue figures of the calls offered in this interval, for every queue of the report."""
    agents: AgentStats
    """All agents together, their time clipped to this interval."""
    agents_logged_in_avg: float | None
    """Mean number of agents logged in: logged-in time / (end - start)."""
    occupancy: float | None
    """agents.occupancy: (talk + hold + wrap-up) / (talk + hold + wrap-up + ready + ringing)."""


@dataclass(frozen=True)
class KpiReport:
    """Every figure of one run (or one day on the box), computed from its event log."""

    settings: KpiSettings
    center: CallStats
    center_agents: AgentStats
    """All agents together."""
    queues: dict[str, CallStats]
    """Per queue, sorted by name: queues seen in the records or named in the settings."""
    agents: dict[str, AgentStats]
    """Per agent, sorted by id."""
    intervals: list[IntervalStats]
    """Every interval of the grid that overlaps the window, in time order."""
    ivr: IvrReport | None = None
    """The IVR's figures; None when no call of the window entered the IVR (a site without
    one), and then the report reads exactly as before the IVR existed."""
    surveys: SurveyReport | None = None
    """Post-call survey scores per agent and queue; None when no caller scored (and then
    the report reads exactly as before surveys existed)."""
    voicemail: VoicemailReport | None = None
    """Voicemail messages left per mailbox; None when none was left."""
    features: FeatureReport | None = None
    """Supervision per supervisor, conference joins per room, campaign outcomes per
    campaign; None when the records hold none of them."""
    resolution: ResolutionStats | None = None
    """First-call resolution and repeat callers; None when no call from a known number
    ended."""
    ports: PortReport | None = None
    """What gateway ports cost per trunk group (`appliance.kpi.ports`); None for a site
    without gateways."""

    def to_dict(self) -> dict[str, Any]:
        """The report as nested dicts of floats, ints, None and strings (JSON-serialisable);
        "ivr" only when the report has IVR figures."""
        out = {
            "settings": self.settings.to_dict(),
            "center": stats_to_dict(self.center),
            "center_agents": stats_to_dict(self.center_agents),
            "queues": {name: stats_to_dict(s) for name, s in self.queues.items()},
            "agents": {name: stats_to_dict(s) for name, s in self.agents.items()},
            "intervals": [_interval_to_dict(i) for i in self.intervals],
        }
        if self.ivr is not None:
            out["ivr"] = self.ivr.to_dict()
        if self.surveys is not None:
            out["surveys"] = self.surveys.to_dict()
        if self.voicemail is not None:
            out["voicemail"] = self.voicemail.to_dict()
        if self.features is not None:
            out["features"] = self.features.to_dict()
        if self.resolution is not None:
            out["resolution"] = asdict(self.resolution)
        if self.ports is not None:
            out["ports"] = self.ports.to_dict()
        return out


def stats_to_dict(stats: CallStats | AgentStats) -> dict[str, Any]:
    """A ``CallStats`` or ``AgentStats`` as a flat dict (``not_ready_by_reason`` nested)."""
    out: dict[str, Any] = {}
    for f in fields(stats):
        value = getattr(stats, f.name)
        out[f.name] = dict(sorted(value.items())) if isinstance(value, dict) else value
    return out


def _interval_to_dict(interval: IntervalStats) -> dict[str, Any]:
    return {
        "start": interval.start,
        "end": interval.end,
        "label": interval.label,
        "calls": stats_to_dict(interval.calls),
        "queues": {name: stats_to_dict(s) for name, s in interval.queues.items()},
        "agents": stats_to_dict(interval.agents),
        "agents_logged_in_avg": interval.agents_logged_in_avg,
        "occupancy": interval.occupancy,
    }


@dataclass(frozen=True)
class NodeStats:
    """The stays in one node of a flow."""

    visits: int
    """Times a call entered the node."""
    mean_time: float | None
    """Mean time a call spent there, up to the next node, flow or exit."""


@dataclass(frozen=True)
class IvrStats:
    """IVR figures of the center, a flow, an interval or an interval of a flow.

    The center (and an interval) counts calls that entered the IVR:
    ``entered == completed + hung_up + abandoned + to_queue + other_exits + in_ivr``.
    A flow counts the calls that entered it (once a call) and the exits taken from it:
    ``entered == completed + ... + in_ivr + to_flow``.
    """

    entered: int
    """Calls that entered the IVR (a flow: that entered this flow)."""
    completed: int
    """Calls served by the IVR itself (STOP FLOW): they end there, as answered."""
    hung_up: int
    """Calls the IVR hung up on (a HANG UP node)."""
    abandoned: int
    """Calls whose caller hung up in the IVR."""
    to_queue: int
    """Calls the IVR sent on to a queue."""
    other_exits: int
    """Calls the IVR sent to voicemail or to one agent."""
    to_flow: int
    """Flow only: calls that went on to another flow and did not come back to leave from
    this one (0 for the center)."""
    in_ivr: int
    """Calls still in the IVR when the records ended, or cut off there by a stop."""
    answered: int
    """Of ``entered``, calls an agent answered after the IVR."""
    mean_time: float | None
    """Mean time in the IVR (a flow: in its nodes) per call that entered it."""
    answer_rate: float | None
    """(completed + answered) / offered: the answer rate of inbound calls with an IVR. The
    center and an interval divide by every call offered; a flow by the calls that entered it."""
    nodes: dict[str, NodeStats]
    """Flow only: its nodes by name, those calls entered (empty for the center)."""


@dataclass(frozen=True)
class IvrIntervalStats:
    """The IVR figures of the calls offered in one interval of the grid."""

    label: str
    calls: IvrStats
    flows: dict[str, IvrStats]


@dataclass(frozen=True)
class IvrReport:
    """The IVR's figures of a report: only there when calls entered the IVR."""

    center: IvrStats
    flows: dict[str, IvrStats]
    """Per flow, sorted by name."""
    intervals: list[IvrIntervalStats]
    """The intervals of ``KpiReport.intervals``, in the same order."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "center": ivr_stats_to_dict(self.center),
            "flows": {name: ivr_stats_to_dict(s) for name, s in self.flows.items()},
            "intervals": [{"label": i.label, "calls": ivr_stats_to_dict(i.calls),
                           "flows": {n: ivr_stats_to_dict(s) for n, s in i.flows.items()}}
                          for i in self.intervals],
        }


def ivr_stats_to_dict(stats: IvrStats) -> dict[str, Any]:
    out = {f.name: getattr(stats, f.name) for f in fields(stats) if f.name != "nodes"}
    out["nodes"] = {name: {"visits": n.visits, "mean_time": n.mean_time}
                    for name, n in sorted(stats.nodes.items())}
    return out
