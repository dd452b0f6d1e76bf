"""The IVR's sizing figures, measured: a site whose routes send calls into flows is simulated
with its own traffic (call fidelity, its own callers' keys and patience, its prompts' lengths),
and each call's way through the IVR, as the event log's one reduction tells it, is added up.

A call *ends in the IVR* (never reaches an agent) when the IVR served it (STOP FLOW), hung up
on it (HANG UP), its caller hung up there, or it sent it to voicemail; the trunk time of such
a call runs from entering the IVR to the call's end (a voicemail message included). Every other
call the trunks admitted *goes on to agents*: to a queue or one agent, from the IVR after its
time there, or straight from its route (no IVR time). Calls the trunks blocked, calls routing
sent away before any IVR or queue, and calls still in the IVR when the run ends count in
neither.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import asdict, dataclass
from typing import Any

from appliance.config import Site
from appliance.events import IvrExitKind
from appliance.reduce import CallState, EventReducer, Outcome, ReductionListener
from sim.media import AnnouncementTiming
from sim.world import RunSpec, World

# How an IVR exit leaves the call: True, it ends without an agent; False, it goes on to one.
_ENDS = {
    IvrExitKind.COMPLETED: True,
    IvrExitKind.HANG_UP: True,
    IvrExitKind.ABANDONED: True,
    IvrExitKind.VOICEMAIL: True,
    IvrExitKind.CONFERENCE: True,
    IvrExitKind.QUEUE: False,
    IvrExitKind.AGENT: False,
}
_ENDED_IN_IVR = {Outcome.IVR_COMPLETED, Outcome.IVR_HANG_UP, Outcome.IVR_ABANDONED}
# Calls the trunks blocked or routing sent away, none of them ever offered to an agent.
_LEFT_OUT = {Outcome.BLOCKED, Outcome.NO_ROUTE, Outcome.BLACKLISTED, Outcome.CLOSED,
             Outcome.AGENT_UNREACHABLE}


MIN_HOURS = 8.0
"""The shortest run the figures are measured over: a working day of the site's traffic (in a
fraction of a second a thousand calls), whatever the sizing runs' own `--hours`."""

FIELDS = {"ivr_share": "share", "ivr_seconds": "seconds", "ivr_queue_seconds": "queue_seconds"}
"""The sizing inputs the IVR's figures give: input field -> `IvrFigures` attribute."""
_LABELS = {"ivr_share": "--ivr-share", "ivr_seconds": "--ivr-seconds",
           "ivr_queue_seconds": "--ivr-queue-seconds"}


@dataclass(frozen=True)
class IvrFigures:
    """What the IVR does to a site's calls, measured over `calls` simulated calls; shares
    to 0.1 % and times to 0.1 s (finer than one run can tell them)."""

    calls: int  # calls counted (see the module's docstring)
    hours: float  # simulated hours, from the traffic's start
    seed: int
    share: float  # of `calls`, those that end in the IVR
    share_half_width: float  # the share's 95 % interval, as binomial
    seconds: float  # mean trunk time of a call that ends in the IVR
    queue_seconds: float  # mean IVR time of a call that goes on to agents (0 if straight)


def ivr_document(figures: IvrFigures, given: Collection[str]) -> dict[str, Any]:
    """What `ccbox size` says of the IVR's figures, JSON-ready: the figures measured, and
    for each sizing input whether it is the measured one or `given` by an option."""
    return {"measured": asdict(figures),
            "sources": {name: "given" if name in given else "measured" for name in FIELDS}}


def ivr_note(document: dict[str, Any], used: dict[str, Any]) -> str:
    """The IVR's figures the sizing used (`used`: the inputs), and where they came from."""
    return (f"IVR: {used['ivr_share']:.1%} of calls end in it, holding a trunk "
            f"{used['ivr_seconds']:g} s each; calls that go on to agents hold theirs "
            f"{used['ivr_queue_seconds']:g} s in it first: {ivr_source(document)}.")


def ivr_source(document: dict[str, Any]) -> str:
    """Where the figures came from, as a clause: "measured from the site's flows over ..."."""
    measured = document["measured"]
    given = [name for name in FIELDS if document["sources"][name] == "given"]
    run = (f"over {measured['calls']} simulated calls ({measured['hours']:g} h, "
           f"seed {measured['seed']})")
    if not given:
        return (f"measured from the site's flows {run}, the share "
                f"± {measured['share_half_width']:.1%}")
    flows = ", ".join(_measured(name, measured) for name in given)
    if len(given) == len(FIELDS):
        return f"{_names(given)} given (the site's flows measured {flows} {run})"
    return f"{_names(given)} given (the site's flows measured {flows}); the rest measured {run}"


def _names(fields: list[str]) -> str:
    return ", ".join(_LABELS[name] for name in fields)


def _measured(name: str, measured: dict[str, Any]) -> str:
    value = measured[FIELDS[name]]
    return f"{value:.1%}" if name == "ivr_share" else f"{value:g} s"


def routes_into_flows(site: Site) -> bool:
    """Whether any of the site's routes sends calls into an IVR flow (in or out of hours)."""
    return site.ivr is not None and any(
        destination.flow is not None
        for route in site.routes for _, destination in route.destinations())


class _Tally(ReductionListener):
    """Sums, per way out, of the calls the reduction closes."""

    def __init__(self) -> None:
        self.ended = self.went_on = 0
        self.ended_seconds = self.went_on_seconds = 0.0

    def call_closed(self, call: CallState) -> None:
        ends = way_out(call)
        if ends is None:
            return
        path = call.ivr
        if ends:
            assert path is not None and call.ended_at is not None
            self.ended += 1
            self.ended_seconds += call.ended_at - path.entered
        else:
            self.went_on += 1
            self.went_on_seconds += 0.0 if path is None else path.seconds


def way_out(call: CallState) -> bool | None:
    """True: the call ended in the IVR; False: it went on to agents; None: neither counts
    (blocked, sent away by routing, or still in the IVR or its voicemail at the end)."""
    path = call.ivr
    if path is None:
        # A duty agent who was rung and did not answer was offered the call: it went on.
        sent_away = call.outcome in _LEFT_OUT and call.queued_at is None
        return None if sent_away or call.blocked else False
    if path.exit is not None:
        ends = _ENDS[path.exit]
    elif call.queued_at is not None:
        ends = False
    else:
        ends = True if call.outcome in _ENDED_IN_IVR else None
    if ends and call.ended_at is None:
        return None
    return ends


def measure_ivr(site: Site, hours: float, seed: int,
                timing: AnnouncementTiming | None = None) -> IvrFigures:
    """One run of `site` for `hours` from its traffic's start with `seed`, its prompts
    playing as `timing` says (else as `ccbox sim` plays them). Raises ValueError if no call
    was counted."""
    log = World(site, RunSpec(hours=hours, seed=seed), timing).run()
    tally = _Tally()
    reducer = EventReducer(tally)
    last = reducer.feed_all(log.records)
    reducer.finish(last or 0.0)
    calls = tally.ended + tally.went_on
    if calls == 0:
        raise ValueError(f"site {site.site!r}: no call went through its IVR in {hours:g} "
                         "simulated hours to measure it from")
    share = tally.ended / calls
    return IvrFigures(
        calls=calls, hours=hours, seed=seed, share=round(share, 3),
        share_half_width=round(1.96 * math.sqrt(share * (1.0 - share) / calls), 3),
        seconds=_mean(tally.ended_seconds, tally.ended),
        queue_seconds=_mean(tally.went_on_seconds, tally.went_on))


def _mean(seconds: float, calls: int) -> float:
    return round(seconds / calls, 1) if calls else 0.0
