"""The callers' and the agents' models each work alone over a channel: neither calls into
the other; all they know of each other comes through the channel."""

from __future__ import annotations

import simpy

from appliance.config import AgentBehaviour
from appliance.events import EndCause
from appliance.pbx.actions import Connect, HangUpCaller, RingAgent, WrapUp
from sim.agents.behaviour import Agents
from sim.channels import Conversation, Goodbye
from sim.channels.subscribers import Subscribers
from sim.clock import SimClock
from sim.streams import Streams
from sim.traffic.callers import Callers
from tests.factories import build_site


class Recorder(Subscribers):
    """A channel that writes down every act, with its time, and carries out none."""

    def __init__(self, env: simpy.Environment) -> None:
        super().__init__()
        self.env = env
        self.acts: list[tuple[float, str, tuple]] = []
        self.conversations: dict[int, Conversation] = {}

    def __getattr__(self, name: str):  # every other act of the Channel protocol
        return lambda *args: self.acts.append((self.env.now, name, args))

    def offer(self, conversation: Conversation, *args: object) -> int:
        call = len(self.conversations) + 1
        self.conversations[call] = conversation
        self.acts.append((self.env.now, "offer", args))
        return call

    def conversation(self, call: int) -> Conversation | None:
        return self.conversations.get(call)

    def wrapping_up(self, agent: str) -> bool:
        return True

    def paused_for_missed_ring(self, agent: str) -> bool:
        return False

    def named(self, name: str) -> list[tuple[float, tuple]]:
        return [(t, args) for t, act, args in self.acts if act == name]


def test_an_agent_answers_talks_and_says_goodbye_without_a_callers_model() -> None:
    env = simpy.Environment()
    channel = Recorder(env)
    behaviour = AgentBehaviour.model_validate(
        {"answer_delay": {"dist": "fixed", "value": 4}, "talk_time_factor": 1.5,
         "wrap_up": {"dist": "fixed", "value": 10}})
    Agents(["a1"], behaviour, SimClock(env), channel, Streams(1))
    conversation = Conversation(talk=60)
    conversation.hold = (30, 20)
    channel.conversations[9] = conversation
    channel.publish(RingAgent(9, "a1", "service"))
    env.run(until=4.5)
    assert channel.named("will_answer") == [(0, (9, 4))]
    assert channel.named("answer") == [(4, ("a1", 9))]
    connected = env.now
    channel.publish(Connect(9, "a1"))
    env.run(until=200)
    # Hold at half the (slowed) talk, resume after the hold, goodbye after talk and hold.
    assert channel.named("hold") == [(connected + 45, ("a1",))]
    assert channel.named("resume") == [(connected + 45 + 20, ("a1",))]
    assert channel.named("say_goodbye") == [(connected + 90 + 20, (9,))]
    channel.publish(WrapUp("a1", 9, float("inf")))
    env.run(until=300)
    assert channel.named("ready") == [(200 + 10, ("a1",))]


def test_an_agent_whose_channel_cannot_transfer_ends_the_conversation() -> None:
    env = simpy.Environment()
    channel = Recorder(env)
    channel.transfer = lambda agent, queue: False  # call control refused it
    Agents(["a1"], AgentBehaviour(), SimClock(env), channel, Streams(1))
    conversation = Conversation(talk=30)
    conversation.transfer_to, conversation.transfer_talk = "billing", 50
    channel.conversations[3] = conversation
    channel.publish(Connect(3, "a1"))
    env.run(until=100)
    assert channel.named("say_goodbye") == [(30, (3,))]
    assert conversation.transfer_to == ""


def test_a_caller_retries_after_busy_and_hangs_up_on_goodbye_without_an_agents_model() -> None:
    site = build_site(traffic={"calls_per_hour": 1, "call_types": [{
        "name": "general", "trunk_group": "pstn",
        "talk_time": {"dist": "fixed", "value": 60},
        "retrial": {"after_busy": 1.0, "delay": {"dist": "fixed", "value": 30},
                    "max_attempts": 2}}]})
    env = simpy.Environment()
    channel = Recorder(env)
    callers = Callers(site.traffic, SimClock(env), channel, Streams(1))
    callers.start()
    while not channel.acts:
        env.step()
    first = channel.named("offer")[0]
    channel.publish(HangUpCaller(1, EndCause.BUSY))
    env.run(until=first[0] + 31)
    # (trunk group, calling number, called number, attempt)
    retrials = [(t, args) for t, args in channel.named("offer") if args[3] == 2]
    assert retrials == [(first[0] + 30, (*first[1][:3], 2))]
    retrial = len(channel.conversations)
    channel.publish(Connect(retrial, "a1"))
    channel.publish(Goodbye(retrial))
    assert channel.named("hang_up") == [(env.now, (retrial,))]
