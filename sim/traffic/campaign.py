"""An outbound campaign in call fidelity: the appliance's own dialer core
(`appliance.pbx.features.campaign`) dials, and the called numbers answer, are busy or ring
unanswered as the campaign's `model` says, so that a campaign can be sized.

Each attempt takes a channel of the campaign's trunk group for as long as it rings (and, once
answered, until the call ends), as an outside call does on the box. An answered call is handed
to call control (`CallControl.connect_outside`): the queue's agents answer and talk as the
agents' model says, for the talk time the campaign's model draws; the called party hangs up
at the agent's goodbye. Campaigns handing their calls to one queue share its free agents as on
the box (`campaign_pacing.dial_shared`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from appliance.config.campaign import read_contacts
from appliance.events import AgentState, AgentStateChanged, CallEnded, Record
from appliance.pbx.features.campaign import BUSY, FAILED, NO_ANSWER, Attempt
from appliance.pbx.features.campaign_pacing import dial_shared
from appliance.pbx.features.campaign_site import answered_target, new_dialer
from appliance.pbx.routing import Kind
from sim.channels import Conversation
from sim.distributions import sampler

if TYPE_CHECKING:
    from appliance.config import Campaign, Site
    from appliance.pbx.callcontrol import CallControl
    from appliance.wallclock import WallClock
    from sim.channels.direct import DirectChannel
    from sim.clock import SimClock
    from sim.ports import SimPorts
    from sim.streams import Streams


class Callee(Conversation):
    """The answered party of a campaign's call: a conversation no queued caller's model
    owns (never waiting: nothing of a queue's patience applies)."""

    __slots__ = ("number", "waiting")

    def __init__(self, talk: float, number: str) -> None:
        super().__init__(talk)
        self.number = number
        self.waiting = False


class CampaignDialing:
    """One campaign of a site, dialing through `channel` from the start of the run."""

    def __init__(self, site: Site, campaign: Campaign, core: CallControl,
                 channel: DirectChannel, clock: SimClock, streams: Streams,
                 wallclock: WallClock, ports: SimPorts | None = None) -> None:
        self.campaign, self.core, self.channel, self.clock = campaign, core, channel, clock
        self.ports = ports  # the site's gateway ports: dialing out on them takes time
        self.dialer = new_dialer(site, campaign, read_contacts(Path(campaign.list)), core.log,
                                 wallclock)
        model, name = campaign.model, f"campaign/{campaign.name}"
        self.rng = streams(f"{name}/outcome")
        self.ring_time = sampler(model.ring_time, streams(f"{name}/ring"))
        self.talk_time = sampler(model.talk_time, streams(f"{name}/talk"))
        outbound = site.trunk_group(campaign.trunk_group).outbound
        assert outbound is not None  # checked at load
        self.ring_timeout = outbound.ring_timeout
        self.target = answered_target(campaign)
        self.calls: set[int] = set()  # answered calls up, handed to call control
        self.armed = float("inf")  # the dialer's next deadline a timer is set for
        self.sharing: list[CampaignDialing] = [self]  # the campaigns of its queue, itself too

    def start(self) -> None:
        log = self.core.log
        log.subscribe(self._agent_changed, (AgentStateChanged,))
        log.subscribe(self._call_ended, (CallEnded,))
        self.dialer.start(self.clock.env.now)
        self.poke()

    # --- dialing -------------------------------------------------------------------------

    def free(self) -> int:
        """Free agents of the queue, or free lines of an IVR-flow campaign."""
        if self.target.kind is Kind.QUEUE:
            return self.core.free_agents(self.target.name)
        return max(0, self.campaign.lines - len(self.calls))

    def poke(self, _event: object = None) -> None:
        """Dial what this campaign and those sharing its queue may place now."""
        now = self.clock.env.now
        peers = {peer.dialer: peer for peer in self.sharing}
        for dialer, attempt in dial_shared(list(peers), self.free(), now):
            peers[dialer]._place(attempt, now)
        for peer in self.sharing:
            peer._arm(now)

    def _arm(self, now: float) -> None:
        deadline = self.dialer.next_deadline()
        if deadline is not None and deadline < self.armed:
            self.armed = deadline
            self.clock.after(max(0.0, deadline - now), self._wake)

    def _wake(self, _event: object) -> None:
        self.armed = float("inf")
        self.poke()

    def _place(self, attempt: Attempt, now: float) -> None:
        number = attempt.contact.number
        if not self.core.seize_trunk(self.campaign.trunk_group):
            self.dialer.not_reached(number, FAILED, now, "no_channel")
            return
        model, draw = self.campaign.model, self.rng.random()
        # The far end rings once the number has gone out (digit by digit on analog).
        dial = 0.0 if self.ports is None else self.ports.dial_time(self.campaign.trunk_group,
                                                                   number)
        if draw < model.answer_probability:
            self._after(dial + self.ring_time(), lambda: self._answered(attempt))
        elif draw < model.answer_probability + model.busy_probability:
            self._after(dial + model.busy_after, lambda: self._not_reached(number, BUSY))
        else:
            self._after(dial + self.ring_timeout, lambda: self._not_reached(number, NO_ANSWER))

    def _after(self, delay: float, then: Callable[[], None]) -> None:
        self.clock.after(delay, lambda _event: then())

    # --- outcomes ------------------------------------------------------------------------

    def _not_reached(self, number: str, outcome: str) -> None:
        self.core.release_trunk(self.campaign.trunk_group)
        self.dialer.not_reached(number, outcome, self.clock.env.now)
        self.poke()

    def _answered(self, attempt: Attempt) -> None:
        now, contact = self.clock.env.now, attempt.contact
        if not self.dialer.answered(contact.number, self.free() > 0, now):
            self.core.release_trunk(self.campaign.trunk_group)  # abandoned on connect
            self.poke()
            return
        callee = Callee(self.talk_time(), contact.number)
        call = self.channel.connect_outside(callee, self.campaign.trunk_group, contact.number,
                                            f"campaign:{self.campaign.name}", self.target,
                                            contact.fields)
        self.calls.add(call)

    def _call_ended(self, record: Record) -> None:
        if record.call in self.calls:  # type: ignore[union-attr]
            self.calls.discard(record.call)  # type: ignore[union-attr]
            self.core.release_trunk(self.campaign.trunk_group)
            self.clock.after(0.0, self.poke)  # after call control has settled

    def _agent_changed(self, record: Record) -> None:
        if record.state is AgentState.READY:  # type: ignore[union-attr]
            self.clock.after(0.0, self.poke)


def campaigns_of(site: Site, core: CallControl, channel: DirectChannel, clock: SimClock,
                 streams: Streams, wallclock: WallClock,
                 ports: SimPorts | None = None) -> list[CampaignDialing]:
    dialing = [CampaignDialing(site, campaign, core, channel, clock, streams, wallclock, ports)
               for campaign in site.campaigns]
    for one in dialing:
        if one.target.kind is Kind.QUEUE:
            one.sharing = [peer for peer in dialing if peer.target == one.target]
    return dialing
