"""The live box's outbound campaigns: each started campaign's dialer
(`appliance.pbx.features.campaign`) told the free agents of its queue (call control's
`free_agents`; for an IVR-flow campaign its free lines), its calls placed through the trunk
group's route out (`outside.py`, purpose ``campaign:NAME``) and their outcomes told back:
busy (486, 600), no answer (480, 408 or the route's ring timeout) or failed with the outside
call's cause (``no_channel``, ``not_found``, ``rejected`` ...).

An answered call with an agent free (or a free line) is handed to call control
(`CallControl.connect_outside`) under a call id reserved when it was placed: the customer's
leg (a `CustomerLeg`) becomes the call's caller leg, its media anchored on the call's caller
side from the INVITE on, so that the call is offered to the queue's agents (the customer
hearing music meanwhile) or walks the IVR flow, bridged, recorded and ended as an inbound
caller's. Answered with nobody free, it is hung up (the dialer's `CampaignAbandoned`) and
retried as the dialer says.

`run(site, lists, now, past)` starts the campaigns the site says to start (``start: true``),
each new one taken up where earlier runs left its numbers (`past`, from the records), and
stops the others; a stopped campaign's calls up run on and their outcomes still count.
Campaigns handing their calls to one queue share its free agents
(`campaign_pacing.dial_shared`, by their ``weight``).
Records: the dialer's `Campaign*`, the outside calls' own, and call control's for each
connected call (offered to `dnis` ``campaign:NAME``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from appliance.eventlog import EventLog
from appliance.events import AgentState, AgentStateChanged, Record
from appliance.pbx.b2bua.anchor import MediaAnchor
from appliance.pbx.b2bua.callback import placeholder_offer
from appliance.pbx.b2bua.dialogs import Dialogs
from appliance.pbx.b2bua.internal import InternalCalls, NothingRung
from appliance.pbx.b2bua.outside import OutsideCall, OutsideCalls
from appliance.pbx.callcontrol import CallControl
from appliance.pbx.dialplan import route_through
from appliance.pbx.features.campaign import (
    BUSY,
    FAILED,
    NO_ANSWER,
    Attempt,
    Contact,
    Dialer,
    Past,
)
from appliance.pbx.features.campaign_pacing import dial_shared
from appliance.pbx.features.campaign_site import (
    answered_target,
    calling_hours,
    dialer_settings,
    new_dialer,
)
from appliance.pbx.legs import CustomerLeg, Leg
from appliance.pbx.routing import Kind

if TYPE_CHECKING:
    from appliance.clock import TimerHandle
    from appliance.config import Campaign, Site, TrunkGroup
    from appliance.wallclock import WallClock

# An outside call's causes the dialer knows by name; any other is "failed" with its cause.
_OUTCOMES = {"busy": BUSY, "no_answer": NO_ANSWER}


class CampaignRun:
    """One campaign the box has started: its dialer, and what it has up."""

    __slots__ = ("armed", "campaign", "dialer", "lines", "target", "timer")

    def __init__(self, campaign: Campaign, dialer: Dialer) -> None:
        self.campaign, self.dialer = campaign, dialer
        self.target = answered_target(campaign)
        self.lines = 0  # its answered calls up, handed to call control
        self.timer: TimerHandle | None = None
        self.armed = math.inf  # when `timer` wakes the dialer

    @property
    def purpose(self) -> str:
        return f"campaign:{self.campaign.name}"


class Placed:
    """A number being called: its attempt, and the call id reserved for it."""

    __slots__ = ("attempt", "call", "run")

    def __init__(self, run: CampaignRun, attempt: Attempt, call: int) -> None:
        self.run, self.attempt, self.call = run, attempt, call

    @property
    def number(self) -> str:
        return self.attempt.contact.number


class CampaignCalls(NothingRung):
    """The started campaigns by name, their calls ringing out and those answered."""

    def __init__(self, dialogs: Dialogs, outside: OutsideCalls, anchor: MediaAnchor | None,
                 cc: CallControl, internal: InternalCalls, log: EventLog,
                 wallclock: WallClock | None) -> None:
        self.dialogs, self.outside, self.anchor = dialogs, outside, anchor
        self.cc, self.internal, self.log, self.wallclock = cc, internal, log, wallclock
        self.legs, self.deadlines = dialogs.legs, dialogs.deadlines
        self.runs: dict[str, CampaignRun] = {}
        self.placed: dict[int, Placed] = {}  # by outside call id
        self.customers: dict[int, tuple[OutsideCall, CampaignRun]] = {}  # by call control's
        self.groups: dict[str, TrunkGroup] = {}
        self.past: Mapping[str, Mapping[str, Past]] = {}  # earlier runs' numbers, by campaign
        self._listening = False  # to agents becoming ready (once a campaign has started)

    # --- starting and stopping ---------------------------------------------------------------

    def run(self, site: Site, lists: Mapping[str, Sequence[Contact]], now: float,
            past: Mapping[str, Mapping[str, Past]] | None = None) -> None:
        """Dial the campaigns of `site` marked ``start`` (resumed where they stopped; a new
        one over its list in `lists`, as read now, its numbers where earlier runs left them:
        `past`, kept from the first call that gives it) and stop the others, those gone from
        the site included. A running campaign takes the site's settings and calling hours."""
        if past is not None:
            self.past = past
        self.groups = {group.name: group for group in site.trunk_groups}
        wanted = {c.name: c for c in site.campaigns if c.start}
        for name, run in self.runs.items():
            if name not in wanted:
                self._stop(run, now)
        for name, campaign in wanted.items():
            self._start(site, campaign, lists.get(name, ()), now)

    def stop_all(self, now: float) -> None:
        """Stop every campaign (the box shuts down)."""
        for run in self.runs.values():
            self._stop(run, now)

    def _start(self, site: Site, campaign: Campaign, contacts: Sequence[Contact],
               now: float) -> None:
        run = self.runs.get(campaign.name)
        wallclock = self.wallclock
        if not self._listening:  # a box without campaigns pays nothing per record
            self._listening = True
            self.log.subscribe(self._agent_changed, (AgentStateChanged,))
        if run is None:
            dialer = new_dialer(site, campaign, contacts, self.log, wallclock,
                                self.past.get(campaign.name))
            run = self.runs[campaign.name] = CampaignRun(campaign, dialer)
        else:
            run.campaign, run.target = campaign, answered_target(campaign)
            run.dialer.settings = dialer_settings(campaign)
            run.dialer.is_open = calling_hours(site, campaign, wallclock)
        run.dialer.start(now)
        self._poke(run, now)

    def _stop(self, run: CampaignRun, now: float) -> None:
        run.dialer.stop(now)
        if run.timer is not None:
            run.timer.cancel()
        run.timer, run.armed = None, math.inf

    # --- dialing -----------------------------------------------------------------------------

    def _free(self, run: CampaignRun) -> int:
        """Free agents of the queue, or free lines of an IVR-flow campaign."""
        if run.target.kind is Kind.QUEUE:
            return self.cc.free_agents(run.target.name)
        return max(0, run.campaign.lines - run.lines)

    def _poke(self, run: CampaignRun, now: float) -> None:
        """Dial what `run` and the campaigns sharing its queue may place now."""
        sharing = self._sharing(run)
        runs = {peer.dialer: peer for peer in sharing}
        for dialer, attempt in dial_shared(list(runs), self._free(run), now):
            self._place(runs[dialer], attempt, now)
        for peer in sharing:
            self._arm(peer, peer.dialer.next_deadline())

    def _sharing(self, run: CampaignRun) -> list[CampaignRun]:
        """The running campaigns whose calls go where `run`'s do, if that is a queue (its
        free agents are theirs together); an IVR flow's lines are its campaign's own."""
        if run.target.kind is not Kind.QUEUE:
            return [run]
        return [peer for peer in self.runs.values()
                if peer is run or (peer.target == run.target and peer.dialer.running)]

    def _arm(self, run: CampaignRun, at: float | None) -> None:
        """Wake `run`'s dialer at `at` (sooner than it is woken already)."""
        if at is None or at >= run.armed or not run.dialer.running:
            return
        if run.timer is not None:
            run.timer.cancel()
        run.armed = at
        run.timer = self.deadlines.schedule(at, self._wake, run)

    def _wake(self, now: float, run: CampaignRun) -> None:
        run.timer, run.armed = None, math.inf
        self._poke(run, now)

    def _agent_changed(self, record: Record) -> None:
        """An agent became ready: the queue's campaigns may dial (once call control is
        done with what made them ready)."""
        if record.state is AgentState.READY:  # type: ignore[union-attr]
            for run in self.runs.values():
                self._arm(run, record.t)  # type: ignore[union-attr]

    def _place(self, run: CampaignRun, attempt: Attempt, now: float) -> None:
        number = attempt.contact.number
        route = route_through(self.groups.get(run.campaign.trunk_group), number)
        if route is None:  # the site checks it has one: a reload may have taken it away
            run.dialer.not_reached(number, FAILED, now, "no_route")
            return
        placed = Placed(run, attempt, self.cc.reserve_call_id())
        if self.anchor is not None:
            self.anchor.open_callback(placed.call, now)
        outside_id = self.internal.open(self)
        self.placed[outside_id] = placed
        self.outside.place(outside_id, route, run.campaign.name, run.purpose, self._offer,
                           self, now, leg_type=CustomerLeg)

    def _offer(self, leg: Leg) -> bytes:
        if self.anchor is None:
            return placeholder_offer(self.dialogs, leg)
        return self.anchor.customer_offer(self.placed[leg.call].call, leg)

    # --- the outside call's outcome (`OutsideRequester`) ---------------------------------------

    def outside_answered(self, call: OutsideCall, now: float) -> bool:
        placed = self.placed.pop(call.id, None)
        self.internal.close(call.id)
        leg = call.leg
        if placed is None or leg is None:
            return False
        run = placed.run
        if self.anchor is not None and not self.anchor.customer_answered(placed.call, leg, now):
            run.dialer.not_reached(placed.number, FAILED, now, "no_media")
        elif run.dialer.answered(placed.number, self._free(run) > 0, now):
            self._connect(placed, call, leg, now)
            return True
        self._over(placed, now)  # hung up: abandoned, or no audio we offered
        return False

    def outside_failed(self, call: OutsideCall, now: float) -> None:
        placed = self.placed.pop(call.id, None)
        self.internal.close(call.id)
        if placed is None:
            return
        outcome = _OUTCOMES.get(call.cause, FAILED)
        cause = call.cause if outcome == FAILED else ""
        placed.run.dialer.not_reached(placed.number, outcome, now, cause)
        self._over(placed, now)

    def outside_ended(self, call: OutsideCall, now: float) -> None:
        """Not heard: the answered leg is handed over to the call at once (`take_leg`)."""

    def customer_ended(self, leg: Leg, now: float) -> None:
        """A connected customer's leg (the call's caller leg) has ended: so has its outside
        call, and the campaign has a line free."""
        found = self.customers.pop(leg.call, None)
        if found is None:
            return
        call, run = found
        cause = "far_hangup" if leg.call in self.cc.calls else "caller_hangup"
        self.outside.ended(call, cause, now)
        run.lines -= 1
        self._arm(run, now)

    def _connect(self, placed: Placed, call: OutsideCall, leg: Leg, now: float) -> None:
        """The customer's leg becomes the caller leg of call control's call."""
        run, contact = placed.run, placed.attempt.contact
        self.outside.take_leg(call)
        self.legs.rings.pop((leg.call, leg.agent), None)
        leg.call = placed.call
        self.legs.callers[placed.call] = leg
        self.customers[placed.call] = (call, run)
        run.lines += 1
        self.dialogs.start_session_timer(leg, now)
        self.cc.connect_outside(now, run.campaign.trunk_group, contact.number, run.purpose,
                                run.target, contact.fields, call_id=placed.call)
        if self.anchor is not None and run.target.kind is Kind.QUEUE:
            self.anchor.media.play_music(placed.call, now)  # until an agent answers

    def _over(self, placed: Placed, now: float) -> None:
        """The attempt ended without a call: its media let go, the dialer looks again."""
        if self.anchor is not None and placed.call in self.anchor.media.calls:
            self.anchor.media.close(placed.call, now)
        self._arm(placed.run, now)

    # --- the B2BUA's own call ids (`InternalParty`); only outside legs are placed on them ---

    def leg_ended(self, leg: Leg, now: float) -> None:
        """Nothing but the outside call is placed on it."""
