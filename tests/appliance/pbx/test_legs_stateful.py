"""A trunk caller and two agents' phones against the real B2BUA over a lossy simulated network,
in whatever order hypothesis thinks of: calls offered (to the queue or to an IVR flow whose
menu the caller answers with keys sent as INFO), CANCELled and hung up, rung, answered,
declined or left ringing, put on hold and back, transferred, phones unregistering and coming
back, time passing by small and large steps. Whatever the parties do and the network loses, once the
callers have hung up and every RFC 3261 timer has had its time, no call, leg, transaction or
agent may be left stuck.

Only the B2BUA's public face is used (datagrams, deadlines, `is_idle`, `active_calls`, the
event log) and its own invariants, so that the test holds whatever its inside looks like."""

from __future__ import annotations

from datetime import datetime
from random import Random
from typing import TypeVar

import yaml
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from appliance.config import Site, parse_site
from appliance.eventlog import EventLog
from appliance.events import AgentState, AgentStateChanged, CallEnded, CallOffered
from appliance.pbx.b2bua import B2bua
from appliance.pbx.b2bua.invariants import broken_invariants
from appliance.pbx.sip.digest import ha1
from appliance.pbx.sip.transaction import T1
from appliance.wallclock import from_origin
from sim.sipnet import LinkQuality, SimulatedNetwork
from sim.sipua import UaCall, UserAgent, offer_sdp
from tests.factories import site_dict

APPLIANCE = ("10.0.0.1", 5060)
GATEWAY = ("10.0.0.2", 5060)
REALM = "legs.ccbox"
AGENTS = ("a1", "a2")
RING_TIMEOUT = 8.0
WRAP_UP = 2.0
PAUSED_FOR = 20.0  # an agent paused for a ring they did not take is ready again after this
# A caller whose gateway gave up unheard (every answer to its INVITE lost) is still in the
# queue: the queue ends it after this wait, as it would with no agent logged in.
MAX_WAIT = 60.0
# The longest wait, then every RFC 3261 timer (B, F, H, J and a 2xx's retransmissions last
# 64*T1), then a ring timeout, a wrap-up and a pause on top.
SETTLE = MAX_WAIT + 64 * T1 + RING_TIMEOUT + WRAP_UP + PAUSED_FOR + 5.0
AT_REST = frozenset({AgentState.READY, AgentState.LOGGED_OUT})
DECLINES = [(486, "Busy Here"), (603, "Decline"), (480, "Temporarily Unavailable")]
Chosen = TypeVar("Chosen")
STEPS = [0.001, 0.01, 0.1, 0.5, 1.0, 2.0, 5.0, RING_TIMEOUT, 35.0]


def password(user: str) -> str:
    return f"pw-{user}"


IVR_NUMBER = "200"
IVR = {
    "prompts": {"menu": {"en": "For service press 1; to hang up press 2."}},
    "flows": [{"name": "main", "start": "menu", "nodes": [
        {"name": "menu", "kind": "play_option", "prompts": "menu", "timeout": 3, "retries": 1,
         "options": {"1": "service", "2": "bye"}, "default": "service"},
        {"name": "bye", "kind": "hang_up", "prompts": "goodbye"},
        {"name": "service", "kind": "to_queue", "queue": "service"},
    ]}],
}


def legs_site() -> Site:
    """One queue, two agents logged in by registering; an agent who lets a ring go
    unanswered is paused for PAUSED_FOR seconds; no caller waits longer than MAX_WAIT.
    Calls to IVR_NUMBER go through a menu first."""
    data = site_dict(agents=len(AGENTS), wrap_up=WRAP_UP, ring_timeout=RING_TIMEOUT,
                     queue={"autopause": "on_no_answer", "autopause_ready_after": PAUSED_FOR,
                            "max_wait": MAX_WAIT},
                     routes=[{"trunk_group": "pstn", "dnis": IVR_NUMBER, "flow": "main"}])
    data["ivr"] = IVR
    data["trunk_groups"][0]["peers"] = [GATEWAY[0]]
    data["sip"] = {"realm": REALM, "agent_login": "register", "probe_interval": 0,
                   "phones": [{"user": agent, "ha1_md5": ha1(agent, REALM, password(agent), "MD5")}
                              for agent in AGENTS]}
    return parse_site(yaml.safe_dump(data), source="<test>")


def calls_in(ua: UserAgent, *states: str) -> list[UaCall]:
    return [call for call in ua.calls.values() if call.state in states]


def up_to_the_caller(gateway: UserAgent, again: bool = False) -> list[UaCall]:
    """The gateway's calls its caller can still hang up: not those it cancelled already
    (its CANCEL is under way) unless `again`."""
    return [call for call in calls_in(gateway, "calling", "ringing", "answered")
            if again or not call.cancelled]


def pick(calls: list[Chosen], index: int) -> Chosen:
    return calls[index % len(calls)]


class Legs(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.log = EventLog()
        self.net = SimulatedNetwork(Random("net"))
        self.net.trace = []  # what reached its destination: to tell who heard whom
        self.box = B2bua(legs_site(), self.log, Random("box"), b"legs-secret", APPLIANCE,
                         wallclock=from_origin(datetime(2026, 12, 7, 10, 0)))
        self.net.attach(APPLIANCE, self.box)
        self.gateway = UserAgent("gw", "", GATEWAY, APPLIANCE, Random("gw"))
        self.net.attach(GATEWAY, self.gateway)
        self.phones = {agent: UserAgent(agent, password(agent), (f"10.0.1.{n}", 5060),
                                        APPLIANCE, Random(agent))
                       for n, agent in enumerate(AGENTS, start=1)}
        for phone in self.phones.values():
            self.net.attach(phone.local, phone)
            self.do(phone, "register")
        self.net.run(1.0)  # on a perfect network: every agent starts logged in

    def do(self, ua: UserAgent, method: str, *args: object) -> None:
        getattr(ua, method)(self.net.now, *args)
        self.net.poke(ua.local)

    def run(self, seconds: float) -> None:
        self.net.run(self.net.now + seconds)

    @initialize(loss=st.sampled_from([0.0, 0.05, 0.2]), jitter=st.sampled_from([0.0, 0.03]),
                seed=st.integers(0, 2**16))
    def network(self, loss: float, jitter: float, seed: int) -> None:
        """From here on datagrams are lost at `loss` and overtake each other by `jitter`."""
        self.net.rng = Random(seed)
        self.net.quality = LinkQuality(latency=0.005, jitter=jitter, loss=loss)

    # --- the caller ---------------------------------------------------------------------------

    @rule(number=st.sampled_from(["100", IVR_NUMBER]))
    def caller_offers_a_call(self, number: str = "100") -> None:
        self.do(self.gateway, "call", number)

    @precondition(lambda self: calls_in(self.gateway, "answered"))
    @rule(index=st.integers(0, 7), digit=st.sampled_from("129#"))
    def caller_presses_a_key(self, index: int, digit: str) -> None:
        """An INFO: the IVR's menu takes it; a caller queued or talking only has it logged."""
        call = pick(calls_in(self.gateway, "answered"), index)
        self.do(self.gateway, "press", call.id, digit)

    @precondition(lambda self: up_to_the_caller(self.gateway))
    @rule(index=st.integers(0, 7))
    def caller_hangs_up(self, index: int) -> None:
        """CANCEL before the answer, BYE after it."""
        call = pick(up_to_the_caller(self.gateway), index)
        self.do(self.gateway, "hangup", call.id)

    # --- the agents ---------------------------------------------------------------------------

    def at_phones(self, state: str) -> list[tuple[UserAgent, UaCall]]:
        return [(phone, call) for phone in self.phones.values() for call in calls_in(phone, state)]

    def act_on(self, state: str, index: int, method: str, *args: object) -> None:
        phone, call = pick(self.at_phones(state), index)
        self.do(phone, method, call.id, *args)

    @precondition(lambda self: self.at_phones("incoming"))
    @rule(index=st.integers(0, 7))
    def agents_phone_rings(self, index: int) -> None:
        """The phone says it is ringing (180); a phone that says nothing rings all the same."""
        self.act_on("incoming", index, "ring")

    @precondition(lambda self: self.at_phones("incoming"))
    @rule(index=st.integers(0, 7))
    def agent_answers(self, index: int) -> None:
        self.act_on("incoming", index, "answer")

    @precondition(lambda self: self.at_phones("incoming"))
    @rule(index=st.integers(0, 7), decline=st.sampled_from(DECLINES))
    def agent_declines(self, index: int, decline: tuple[int, str]) -> None:
        self.act_on("incoming", index, "reject", *decline)

    @precondition(lambda self: self.at_phones("answered"))
    @rule(index=st.integers(0, 7))
    def agent_hangs_up(self, index: int) -> None:
        self.act_on("answered", index, "hangup")

    @precondition(lambda self: self.at_phones("answered"))
    @rule(index=st.integers(0, 7), queue=st.sampled_from(["service", "999"]))
    def agent_transfers(self, index: int, queue: str) -> None:
        """A blind transfer by REFER, back to the queue (or to no queue: refused), which may
        cross the caller's BYE, a re-INVITE or the next ring."""
        self.act_on("answered", index, "refer", queue)

    def talking(self) -> list[tuple[UserAgent, UaCall]]:
        parties = (self.gateway, *self.phones.values())
        return [(ua, call) for ua in parties for call in calls_in(ua, "answered")]

    @precondition(lambda self: self.talking())
    @rule(index=st.integers(0, 7), direction=st.sampled_from(["sendonly", "sendrecv"]))
    def a_party_holds_or_resumes(self, index: int, direction: str) -> None:
        """A re-INVITE from the caller or the agent, which may cross a BYE or another."""
        ua, call = pick(self.talking(), index)
        self.do(ua, "reinvite", call.id, offer_sdp(ua.local[0], 40000, direction))

    @rule(agent=st.sampled_from(AGENTS), expires=st.sampled_from([0, 3600]))
    def phone_registers(self, agent: str, expires: int) -> None:
        """Unregistering logs the agent out; registering again logs them back in."""
        self.do(self.phones[agent], "register", expires)

    # --- time ---------------------------------------------------------------------------------

    @rule(seconds=st.sampled_from(STEPS))
    def time_passes(self, seconds: float) -> None:
        self.run(seconds)

    # --- what must hold -----------------------------------------------------------------------

    @invariant()
    def the_b2buas_own_invariants_hold(self) -> None:
        assert broken_invariants(self.box) == []

    @invariant()
    def every_call_up_is_one_the_log_has_not_ended(self) -> None:
        assert self.box.active_calls == len(self.calls_not_ended())

    def teardown(self) -> None:
        self.everyone_hangs_up()
        sent = self.net.sent
        self.run(SETTLE)
        assert self.net.sent == sent, "datagrams still flow after every call ended"
        assert self.box.is_idle()
        assert self.box.active_calls == 0
        assert broken_invariants(self.box) == []
        assert self.calls_not_ended() == set()
        assert self.agents_not_at_rest() == {}
        assert calls_in(self.gateway, "calling", "ringing", "answered") == []
        for phone in self.phones.values():
            assert calls_in(phone, "calling", "ringing", "answered") == [], phone.user
            assert [call for call in calls_in(phone, "incoming")
                    if self.appliance_heard(phone, call)] == [], phone.user

    def everyone_hangs_up(self) -> None:
        """The callers hang up what they still have, twice: a CANCEL that overtook its INVITE
        cancels nothing, and the caller cancels again once its first CANCEL is over."""
        for again in (False, True):
            for call in up_to_the_caller(self.gateway, again):
                self.do(self.gateway, "hangup", call.id)
            self.run(SETTLE)

    def appliance_heard(self, phone: UserAgent, call: UaCall) -> bool:
        """Whether any answer of `phone` to `call` reached the appliance. One that did not
        (every 100 lost) cannot be CANCELled (RFC 3261 9.1): the phone rings until its
        user gives up, as a real one would."""
        call_id = (call.invite.headers.get("Call-ID") or "").encode()
        return any(source == phone.local and data.startswith(b"SIP/2.0 ") and call_id in data
                   for _, source, _, data in self.net.trace or ())

    def calls_not_ended(self) -> set[int]:
        offered = {record.call for record in self.log if type(record) is CallOffered}
        return offered - {record.call for record in self.log if type(record) is CallEnded}

    def agents_not_at_rest(self) -> dict[str, AgentState]:
        last = {record.agent: record.state for record in self.log
                if type(record) is AgentStateChanged}
        return {agent: state for agent, state in last.items() if state not in AT_REST}


Legs.TestCase.settings = settings(max_examples=100, stateful_step_count=40)
test_legs_never_stick = Legs.TestCase


class AnswersReinvitesIntoTheVoid(UserAgent):
    """A gateway whose answers to the appliance's re-INVITEs never arrive but the 100: the
    200 is lost, and (unlike a phone that keeps sending it until its ACK) never sent again."""

    def take_datagrams(self) -> list[tuple[bytes, tuple[str, int]]]:
        return [(data, to) for data, to in super().take_datagrams()
                if not (data.startswith(b"SIP/2.0 200") and b" INVITE\r\n" in data)]


def test_a_reinvite_relayed_to_a_caller_who_never_answers_it_ends_with_the_call() -> None:
    legs = Legs()
    legs.gateway = AnswersReinvitesIntoTheVoid("gw", "", GATEWAY, APPLIANCE, Random("gw"))
    legs.net.attach(GATEWAY, legs.gateway)
    legs.caller_offers_a_call()
    legs.time_passes(1.0)
    legs.agent_answers(index=0)
    legs.time_passes(1.0)
    legs.a_party_holds_or_resumes(index=1, direction="sendonly")  # the agent's phone
    legs.time_passes(1.0)
    legs.agent_hangs_up(index=0)
    legs.teardown()
