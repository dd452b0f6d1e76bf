"""The SIP channel: callers on trunk gateways and agents on phones, over the simulated network.

Every act is SIP from one of the testbed's user agents (`sim.sipua`) to the appliance's
B2BUA, and what callers and agents hear is made from what their user agents receive, told
as soon as the datagram arrives (no polling):

- a caller's gateway INVITEs the appliance with the caller's number and CANCELs or BYEs to
  hang up; a final refusal is `HangUpCaller` (486: busy), its 200 is `Connect`, a BYE from
  the appliance is `HangUpCaller` (the agent hung up);
- a phone rings (180) on an INVITE (`RingAgent`), answers with 200, refuses with 603, hears
  a CANCEL (`StopRinging`) and a BYE (`HangUpAgent`, then `WrapUp` with no known end: the
  appliance's wrap-up timer is not signalled); hold and resume are re-INVITEs offering
  `a=sendonly` and `a=sendrecv`, which the B2BUA relays and reports to call control;
- log in, log out, ready and not ready are the site's feature codes dialled from the phone,
  once it has registered. A feature code carries no reason: a break shows as the not-ready
  reason "phone";
- a blind transfer is a REFER from the phone naming the target queue; the appliance releases
  the phone with a BYE, and the next agent's answer reaches the caller's gateway in a
  re-INVITE (`Connect`). A refused REFER leaves the agent to end the conversation, as a
  transfer call control refuses does in call fidelity;
- an agent who hangs up first BYEs from the phone; the caller's call may go on (a post-call
  survey, walked by keys) until the appliance's BYE, which is `HangUpCaller` as always.

The caller's conversation reaches the agent as the simulated media would: the gateway's
SDP offer, which the B2BUA passes through unchanged when it anchors no media, carries the
call's handle as its o= session id. Announcements and agent states, which SIP does not
carry, come from the appliance's event log (`LogView`).

A queue's callback is heard from the log (the offer, as `OfferCallback`) and over SIP: the
caller presses the key and 1, and the appliance's BYE after the goodbye ends their line but
not their conversation, which waits for the call back. The box calls the number through the
trunk group's gateway: its INVITE is `PlaceCallback` (matched to the caller by the number,
in the order the attempts were placed), the customer's answer is the gateway's 200 (and
`Connect` with the agent already on the line, agent first), a CANCEL or a BYE before the
call ends is `CancelCallback`. An agent rung for a callback before its customer answered is
offered no caller's SDP: the ring is matched to the call by the log's `AgentRung`. A call
the box places to any other number is answered by `called` (a campaign's numbers,
`sim.channels.sipcampaign`), and is then a caller's call as any other (`take_call`).

The appliance cannot tell a retrial from a first attempt over SIP (nothing in the INVITE
says so): its records show every call as attempt 1, and a retrial by its caller's number.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from appliance.events import (
    AgentRung,
    AgentState,
    CallAnnounced,
    CallbackOffered,
    CallbackPlaced,
    CallbackRequested,
    CallEnded,
    EndCause,
    Record,
    VoicemailRecording,
)
from appliance.pbx import actions
from appliance.pbx.b2bua.wire import user_of
from appliance.pbx.sip.message import Request
from appliance.pbx.sip.uri import parse_uri
from sim.channels import Conversation, Goodbye, IvrHeard
from sim.channels.logview import LogView
from sim.channels.subscribers import Subscribers
from sim.sipua import Address, UaEvent, UserAgent, offer_sdp, session_of

if TYPE_CHECKING:
    from appliance.config import Site
    from appliance.eventlog import EventLog
    from sim.clock import SimClock
    from sim.media import AnnouncementTiming
    from sim.sipnet import SimulatedNetwork

AnnouncementLength = Callable[[str, int, float | None], float]
# Answers a call the box places to a number not being called back: (channel, gateway, its
# call, the number).
CalledParty = Callable[["SipChannel", UserAgent, int, str], None]
REGISTRATION = 3600  # seconds a phone registers for
# What a gateway's caller makes of a final refusal (the B2BUA's wire mapping, backwards).
REFUSED = {486: EndCause.BUSY, 600: EndCause.BUSY, 404: EndCause.NO_ROUTE,
           480: EndCause.VOICEMAIL}


class SipChannel(Subscribers):
    """`sim.channels.Channel` over SIP user agents: `gateways` by trunk group, `phones` by
    agent, all attached to `net` already."""

    def __init__(self, clock: SimClock, net: SimulatedNetwork, site: Site, log: EventLog,
                 timing: AnnouncementTiming, gateways: dict[str, UserAgent],
                 phones: dict[str, UserAgent]) -> None:
        super().__init__()
        self.clock = clock
        self.net = net
        self.gateways = gateways
        self.phones = phones
        codes = site.sip.feature_codes
        self._codes = {"login": codes.login, "logout": codes.logout, "ready": codes.ready,
                       "not_ready": codes.not_ready}
        self._announcement = _announcement_length(site, timing)
        self._conversations: dict[int, Conversation] = {}
        self._lines: dict[int, tuple[UserAgent, int]] = {}  # handle -> gateway, its call
        self._numbers: dict[int, str] = {}  # handle -> the number its line shows
        self._handles: dict[tuple[Address, int], int] = {}  # (user agent, its call) -> handle
        self._rings: dict[tuple[str, int], int] = {}  # (agent, handle) -> the phone's call
        self._answered_by: dict[int, str] = {}
        self._talking: dict[str, int] = {}  # agent -> the phone's call
        self._unregistered: dict[str, list[str]] = {agent: [] for agent in phones}
        self.skipped: Counter[str] = Counter()  # acts this channel cannot carry out
        self._keys = {q.name: q.callback.key for q in site.queues if q.callback}
        self._prefixes = [g.outbound.prefix for g in site.trunk_groups
                          if g.outbound is not None and not g.outbound.strip]
        self._offers: dict[int, actions.OfferCallback] = {}  # heard once the box answers
        self._booked: set[int] = set()  # callbacks waiting for their call back, by handle
        self._dialled: dict[str, deque[int]] = {}  # number -> handles being called back
        self._rung: dict[str, int] = {}  # agent -> the call the log last rang them for
        # Who answers the box's calls out to other numbers (`sipcampaign`); else refused.
        self.called: CalledParty | None = None
        # False where the box anchors media (the live appliance): it offers a phone its own
        # SDP, so a ring is matched to its caller by number, and one for a caller who has
        # hung up meanwhile only rings until the box withdraws it.
        self.offers_name_callers = True
        # False where the box anchors media: a caller already answered (by the IVR) is
        # bridged to the agent in the media alone, without a re-INVITE, so the box's ACK of
        # the agent's 200 is what tells the caller they are connected.
        self.reinvites_answered_callers = True
        # Reads the appliance's newest records into `log` at once, where they are read some
        # time after they are written (the running appliance's: `sim.load.boxlog`); None
        # where the log is the simulated appliance's own.
        self.read_records: Callable[[], object] | None = None
        followed = bool(self._keys or site.campaigns)
        self.view = LogView(self._announced, self._recording,
                            self._callback_heard if followed else None)
        log.subscribe(self.view)
        self._next_handle = 0
        for gateway in gateways.values():
            gateway.listener = self._gateway_heard
        for phone in phones.values():
            phone.listener = self._phone_heard

    def start(self, _event: object = None) -> None:
        """Register every phone, as phones do: for an hour, again at half time. Feature
        codes dialled before a phone's first registration wait for it."""
        for phone in self.phones.values():
            phone.register(self.net.now, REGISTRATION)
            self._send(phone)
        self.clock.after(REGISTRATION / 2, self.start)

    def _send(self, ua: UserAgent) -> None:
        """Put on the network what `ua` has to send, and tell what it heard meanwhile."""
        self.net.poke(ua.local)
        ua.tell_listener()

    send = _send

    @property
    def now(self) -> float:
        return self.net.now

    def take_call(self, gateway: UserAgent, ua_call: int, party: Conversation) -> int:
        """`gateway` answers the box's call `ua_call` for `party` (a campaign's called
        number): from now on it is a caller's call like any other; returns its handle."""
        self._next_handle += 1
        handle = self._next_handle
        self._conversations[handle] = party
        self._lines[handle] = (gateway, ua_call)
        self._handles[(gateway.local, ua_call)] = handle
        number = parse_uri(gateway.calls[ua_call].invite.uri).user or ""
        self.view.placed(number, handle)
        gateway.answer(self.net.now, ua_call, offer_sdp(gateway.local[0], 40000, session=handle))
        self._send(gateway)
        return handle

    # --- callers ---------------------------------------------------------------------

    def offer(self, conversation: Conversation, trunk_group: str, ani: str, dnis: str,
              attempt: int) -> int:
        self._next_handle += 1
        handle = self._next_handle
        gateway = self.gateways[trunk_group]
        body = offer_sdp(gateway.local[0], 40000, session=handle)
        call = gateway.call(self.net.now, dnis or "100", body, caller=ani)
        self._conversations[handle] = conversation
        self._lines[handle] = (gateway, call)
        self._handles[(gateway.local, call)] = handle
        self.view.placed(ani, handle)
        self._send(gateway)
        return handle

    def conversation(self, call: int) -> Conversation | None:
        return self._conversations.get(call)

    def hang_up(self, call: int) -> None:
        gateway, ua_call = self._forget_line(call)
        gateway.hangup(self.net.now, ua_call)
        self._send(gateway)

    def answer_callback(self, call: int) -> None:
        gateway, ua_call = self._lines[call]
        gateway.answer(self.net.now, ua_call, offer_sdp(gateway.local[0], 40000, session=call))
        self._send(gateway)
        agent = self._answered_by.pop(call, None)
        if agent is not None:  # agent first: they are on the line already
            self.publish(actions.Connect(call, agent))

    def press(self, call: int, digit: str) -> None:
        gateway, ua_call = self._lines[call]
        gateway.press(self.net.now, ua_call, digit)
        self._send(gateway)

    def follow_ivr(self, heard: IvrHeard) -> None:
        self.view.follow_ivr(heard)

    def hear_latest(self) -> None:
        if self.read_records is not None:
            self.read_records()

    def _forget_line(self, call: int) -> tuple[UserAgent, int]:
        del self._conversations[call]
        self._answered_by.pop(call, None)  # an answer crossing the caller's CANCEL
        self._booked.discard(call)
        self._offers.pop(call, None)
        return self._drop_line(call)

    def _drop_line(self, call: int) -> tuple[UserAgent, int]:
        gateway, ua_call = self._lines.pop(call)
        self._numbers.pop(call, None)
        del self._handles[(gateway.local, ua_call)]
        return gateway, ua_call

    def _gateway_heard(self, gateway: UserAgent, event: UaEvent) -> None:
        handle = self._handles.get((gateway.local, event.call))
        kind = event.kind
        if handle is None:
            if kind == "incoming":
                self._called_back(gateway, event.call)
            return  # else the caller has hung up already
        if handle in self._booked and kind in ("ended_by_peer", "cancelled"):
            # The goodbye's BYE, or an attempt given up: the caller waits to be called back.
            self._drop_line(handle)
            self.publish(actions.CancelCallback(handle))
        elif handle in self._answered_by and (kind == "answered" or kind == "reinvited"):
            # The first agent's answer, or a later one's after a transfer or the IVR (its
            # SDP in a re-INVITE).
            self.publish(actions.Connect(handle, self._answered_by.pop(handle)))
        elif kind == "answered" and handle in self._offers:
            self.publish(self._offers.pop(handle))  # answered to hear the callback offer
        elif kind == "answered":
            self.publish(actions.AnswerCaller(handle))  # by the IVR, before any agent
        elif kind == "failed" or kind == "ended_by_peer":
            cause = REFUSED.get(event.status, EndCause.NO_ROUTE) if kind == "failed" else (
                EndCause.AGENT_HANGUP)
            self.publish(actions.HangUpCaller(handle, cause))
            self._forget_line(handle)

    def _recording(self, call: int, record: VoicemailRecording) -> None:
        self.publish(actions.RecordMessage(call, record.mailbox, 0.0))

    def _announced(self, call: int, record: CallAnnounced) -> None:
        length = self._announcement(record.queue, record.position, record.expected_wait)
        self.publish(actions.Announce(call, record.queue, record.position, record.expected_wait,
                              length))

    # --- callbacks -------------------------------------------------------------------

    def _callback_heard(self, handle: int, record: Record) -> None:
        kind = type(record)
        if kind is CallbackOffered:
            queue = record.queue  # type: ignore[union-attr]
            self._offers[handle] = actions.OfferCallback(handle, queue, self._keys[queue])
            line = self._lines.get(handle)
            if line is not None and line[0].calls[line[1]].dialog is not None:
                self.publish(self._offers.pop(handle))  # answered already (after the IVR)
        elif kind is CallbackRequested:
            self._booked.add(handle)
        elif kind is AgentRung:
            self._rung[record.agent] = handle  # type: ignore[union-attr]
        elif handle not in self._booked:
            return
        elif kind is CallbackPlaced:
            number = record.number  # type: ignore[union-attr]
            self._dialled.setdefault(number, deque()).append(handle)
        elif kind is CallEnded:
            self._booked.discard(handle)
            if handle not in self._lines:  # given up: nobody was on the line
                self._conversations.pop(handle, None)

    def _called_back(self, gateway: UserAgent, ua_call: int) -> None:
        """The box calls a number through `gateway`: the customer of a callback booked."""
        number = self._called_number(parse_uri(gateway.calls[ua_call].invite.uri).user or "")
        waiting = self._dialled.get(number)
        if not waiting:
            if self.called is not None:
                self.called(self, gateway, ua_call, number)
            else:
                gateway.reject(self.net.now, ua_call, 404, "Not Found")  # nobody of ours
                self._send(gateway)
            return
        handle = waiting.popleft()
        if not waiting:
            del self._dialled[number]
        self._lines[handle] = (gateway, ua_call)
        self._handles[(gateway.local, ua_call)] = handle
        gateway.ring(self.net.now, ua_call)
        self._send(gateway)
        self.publish(actions.PlaceCallback(handle, number, "", ""))

    def _called_number(self, sent: str) -> str:
        """The number a route out was asked to call, from the one it sent (a route that keeps
        its prefix sends it first)."""
        for prefix in self._prefixes:
            if sent.startswith(prefix) and sent[len(prefix):] in self._dialled:
                return sent[len(prefix):]
        return sent

    # --- agents ----------------------------------------------------------------------

    def _phone_heard(self, phone: UserAgent, event: UaEvent) -> None:
        agent = phone.user
        kind = event.kind
        if kind == "registered":
            self._registered(agent)
            return
        if kind == "incoming":
            self._ringing(phone, event.call)
            return
        if kind == "refer_failed":
            self._transfer_refused(phone, event.call)
        if kind == "confirmed" and not self.reinvites_answered_callers:
            self._agent_taken(agent, self._handles.get((phone.local, event.call)))
        if kind != "cancelled" and kind != "ended_by_peer":
            return  # a REFER's progress, a session refresh
        handle = self._handles.pop((phone.local, event.call), None)
        if handle is None:
            return  # a feature code's call, or a ring the agent refused
        if kind == "cancelled":
            del self._rings[(agent, handle)]
            self.publish(actions.StopRinging(handle, agent))
        elif kind == "ended_by_peer":
            self._talking.pop(agent, None)
            if self._answered_by.get(handle) == agent:  # a callback's customer not reached
                del self._answered_by[handle]
            self.publish(actions.HangUpAgent(handle, agent))
            self.publish(actions.WrapUp(agent, handle, math.inf))

    def _agent_taken(self, agent: str, handle: int | None) -> None:
        """The box took `agent`'s answer: a caller it answered before (the IVR) is connected
        now; one it has not answered yet hears its 200 (`_gateway_heard`)."""
        line = self._lines.get(handle) if handle is not None else None
        if line is None or self._answered_by.get(handle) != agent:
            return
        gateway, ua_call = line
        call = gateway.calls.get(ua_call)
        if call is not None and call.state == "answered":
            del self._answered_by[handle]
            self.publish(actions.Connect(handle, agent))

    def _ringing(self, phone: UserAgent, ua_call: int) -> None:
        handle = session_of(phone.calls[ua_call].remote_body)
        if handle is None or handle > self._next_handle:  # the box's own offer (a callback)
            handle = self._rung.pop(phone.user, None)
        if handle is None and not self.offers_name_callers:
            handle = self._line_calling(phone.calls[ua_call].invite)
        if handle is None and self.offers_name_callers:
            raise ValueError(f"a call to {phone.user}'s phone without a caller's offer")
        if handle is None:  # a caller gone as the box rang: it withdraws the ring
            phone.ring(self.net.now, ua_call)
            self._send(phone)
            return
        self._rings[(phone.user, handle)] = ua_call
        self._handles[(phone.local, ua_call)] = handle
        phone.ring(self.net.now, ua_call)
        self._send(phone)
        self.publish(actions.RingAgent(handle, phone.user, ""))

    def _line_calling(self, invite: Request) -> int | None:
        """The oldest caller's line from the number the box's INVITE to a phone shows: a box
        that anchors media (the live appliance) offers the phone its own SDP, which names no
        caller. Two callers with one number at once may be taken for each other."""
        number = user_of(invite.headers.get("From"))
        for handle in self._lines:
            if self._number_on(handle) == number:
                return handle
        return None

    def _number_on(self, handle: int) -> str:
        """The number caller's line `handle` shows, parsed from its INVITE once: every ring
        of a phone looks through every line up (hundreds, under a live load)."""
        number = self._numbers.get(handle)
        if number is None:
            gateway, ua_call = self._lines[handle]
            number = user_of(gateway.calls[ua_call].invite.headers.get("From"))
            self._numbers[handle] = number
        return number

    def will_answer(self, call: int, at: float) -> None:
        pass  # a caller hears ringing, not when the agent will pick up

    def answer(self, agent: str, call: int) -> None:
        ua_call = self._rings.pop((agent, call), None)
        if ua_call is None:
            return  # the ring was withdrawn meanwhile
        phone = self.phones[agent]
        self._answered_by[call] = agent
        self._talking[agent] = ua_call
        phone.answer(self.net.now, ua_call)
        self._send(phone)

    def decline(self, agent: str, call: int) -> None:
        ua_call = self._rings.pop((agent, call), None)
        if ua_call is None:
            return
        phone = self.phones[agent]
        del self._handles[(phone.local, ua_call)]
        phone.reject(self.net.now, ua_call, 603, "Decline")
        self._send(phone)

    def hold(self, agent: str) -> None:
        self._reoffer(agent, "sendonly")

    def resume(self, agent: str) -> None:
        self._reoffer(agent, "sendrecv")

    def _reoffer(self, agent: str, direction: str) -> None:
        ua_call = self._talking.get(agent)
        if ua_call is None:
            return
        phone = self.phones[agent]
        phone.reinvite(self.net.now, ua_call, offer_sdp(phone.local[0], 42000, direction))
        self._send(phone)

    def transfer(self, agent: str, queue: str) -> bool:
        ua_call = self._talking.get(agent)
        if ua_call is None:
            return False
        phone = self.phones[agent]
        phone.refer(self.net.now, ua_call, queue)
        self._send(phone)
        return True

    def _transfer_refused(self, phone: UserAgent, ua_call: int) -> None:
        handle = self._handles.get((phone.local, ua_call))
        if handle is not None:
            self.skipped["transfer"] += 1
            self.say_goodbye(handle)

    def say_goodbye(self, call: int) -> None:
        self.publish(Goodbye(call))

    def hang_up_agent(self, agent: str) -> None:
        """The phone BYEs its call. The caller's dialog may go on (a post-call survey):
        the gateway hears of its end by the appliance's BYE, as after any agent's."""
        ua_call = self._talking.pop(agent, None)
        if ua_call is None:
            return
        phone = self.phones[agent]
        handle = self._handles.pop((phone.local, ua_call), None)
        phone.hangup(self.net.now, ua_call)
        self._send(phone)
        if handle is not None:
            self.publish(actions.WrapUp(agent, handle, math.inf))

    def log_in(self, agent: str) -> None:
        self._dial(agent, self._codes["login"])

    def log_out(self, agent: str) -> None:
        self._dial(agent, self._codes["logout"])

    def ready(self, agent: str) -> None:
        self._dial(agent, self._codes["ready"])

    def not_ready(self, agent: str, reason: str) -> None:
        self._dial(agent, self._codes["not_ready"])

    def _dial(self, agent: str, code: str) -> None:
        waiting = self._unregistered.get(agent)
        if waiting is not None:
            waiting.append(code)  # dialled once the phone has registered
            return
        phone = self.phones[agent]
        phone.call(self.net.now, code)
        self._send(phone)

    def _registered(self, agent: str) -> None:
        for code in self._unregistered.pop(agent, []):
            self._dial(agent, code)

    def wrapping_up(self, agent: str) -> bool:
        return self.view.agent_state(agent) is AgentState.WRAP_UP

    def paused_for_missed_ring(self, agent: str) -> bool:
        return self.view.paused_for_missed_ring(agent)


def _announcement_length(site: Site, timing: AnnouncementTiming) -> AnnouncementLength:
    """How long the appliance plays an announcement (as its ACD reckons it)."""
    configured = {q.name: q.announcements.duration for q in site.queues if q.announcements}
    seconds = timing.seconds

    def length(queue: str, position: int, expected: float | None) -> float:
        return configured[queue] if seconds is None else seconds(position, expected)

    return length
