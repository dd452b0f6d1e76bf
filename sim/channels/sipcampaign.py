"""The called numbers of the site's campaigns, at the lab's gateways (SIP fidelity).

The box dials a campaign's numbers through the trunk group's route out, the lab's gateway
user agent (`sim.sipfidelity.lab_site`). Each INVITE to a listed number rings (180) and turns
out as the campaign's `model` says (`sim.traffic.called`): answered after its ring time (a
`Callee` with the model's talk time, handed to the channel, which talks with the agent and
hangs up at the goodbye), refused 486 after `busy_after`, or left ringing until the box gives
up (its route's ring timeout, a CANCEL). A number no campaign lists is refused 404.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from appliance.config.campaign import read_contacts
from sim.traffic.called import ANSWER, BUSY, CalledNumbers
from sim.traffic.campaign import Callee

if TYPE_CHECKING:
    from appliance.config import Site
    from sim.channels import Conversation
    from sim.clock import SimClock
    from sim.sipua import UserAgent
    from sim.streams import Streams


class Answering(Protocol):
    """The channel's side: calls a gateway answers become callers' calls."""

    def take_call(self, gateway: UserAgent, ua_call: int, party: Conversation) -> int: ...

    def send(self, ua: UserAgent) -> None: ...

    @property
    def now(self) -> float: ...


class CampaignNumbers:
    """Answers the box's INVITEs to the numbers of `site`'s campaigns (see the module)."""

    def __init__(self, site: Site, clock: SimClock, streams: Streams) -> None:
        self.clock = clock
        self.numbers: dict[str, CalledNumbers] = {}
        for campaign in site.campaigns:
            called = CalledNumbers(campaign, streams)
            for contact in read_contacts(Path(campaign.list)):
                self.numbers[contact.number] = called

    def __call__(self, channel: Answering, gateway: UserAgent, ua_call: int,
                 number: str) -> None:
        called = self.numbers.get(number)
        if called is None:
            gateway.reject(channel.now, ua_call, 404, "Not Found")
        else:
            gateway.ring(channel.now, ua_call)
            self._turn_out(called, channel, gateway, ua_call, number)
        channel.send(gateway)

    def _turn_out(self, called: CalledNumbers, channel: Answering, gateway: UserAgent,
                  ua_call: int, number: str) -> None:
        outcome = called.outcome()
        call = gateway.calls[ua_call]

        def answer(_event: object) -> None:
            if call.state == "incoming":  # not given up meanwhile
                channel.take_call(gateway, ua_call, Callee(called.talk_time(), number))

        def busy(_event: object) -> None:
            if call.state == "incoming":
                gateway.reject(channel.now, ua_call, 486, "Busy Here")
                channel.send(gateway)

        if outcome == ANSWER:
            self.clock.after(called.ring_time(), answer)
        elif outcome == BUSY:
            self.clock.after(called.model.busy_after, busy)
