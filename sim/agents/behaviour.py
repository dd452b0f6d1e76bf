"""Agents: how long they take to answer, whether they miss a ring, talk, hold, transfer, wrap up.

Talk and hold times belong to the caller (drawn at arrival, learnt from the
channel's `Conversation` when the agent answers); what belongs to the agent -
answer delay, missed rings, how soon they finish after-call work - is drawn
from the agent's own streams, so adding an agent disturbs no one else. Agents
act through a `Channel` and hear through its subscriptions, never through the
callers' model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance.pbx.actions import Connect, HangUpAgent, RingAgent, StopRinging, WrapUp
from sim.distributions import Sampler, sampler

if TYPE_CHECKING:
    from appliance.config import AgentBehaviour
    from sim.channels import Channel
    from sim.clock import SimClock
    from sim.streams import Streams


class AgentModel:
    __slots__ = (
        "_away",
        "_away_after",
        "_streams",
        "answer_delay",
        "id",
        "miss_rng",
        "ring_token",
        "talk_token",
        "wrap_token",
        "wrap_up",
    )

    def __init__(self, agent_id: str, behaviour: AgentBehaviour, streams: Streams) -> None:
        self.id = agent_id
        self.answer_delay = sampler(behaviour.answer_delay, streams(f"agent/{agent_id}/answer"))
        self.miss_rng = streams(f"agent/{agent_id}/miss")
        self._streams = streams
        self._away_after = behaviour.away_after_missed_ring
        self._away: Sampler | None = None
        self.wrap_up = (
            sampler(behaviour.wrap_up, streams(f"agent/{agent_id}/wrap-up"))
            if behaviour.wrap_up
            else None
        )
        # Bumped when a ring, a talk or a wrap-up is over, so that its pending timers do nothing.
        self.ring_token = 0
        self.talk_token = 0
        self.wrap_token = 0

    def away(self) -> float:
        """How long the agent stays away after missing a ring (its stream made on first use)."""
        if self._away is None:
            self._away = sampler(self._away_after, self._streams(f"agent/{self.id}/away"))
        return self._away()


class Agents:
    def __init__(
        self,
        agent_ids: list[str],
        behaviour: AgentBehaviour,
        clock: SimClock,
        channel: Channel,
        streams: Streams,
    ) -> None:
        self.clock = clock
        self.channel = channel
        self.no_answer_probability = behaviour.no_answer_probability
        self.talk_factor = behaviour.talk_time_factor
        self.models = {a: AgentModel(a, behaviour, streams) for a in agent_ids}
        channel.on(RingAgent, self._on_ring)
        channel.on(StopRinging, self._on_stop_ringing)
        channel.on(Connect, self._on_connect)
        channel.on(HangUpAgent, self._on_hang_up)
        if behaviour.wrap_up:  # otherwise the ACD's automatic wrap-up timer decides alone
            channel.on(WrapUp, self._on_wrap_up)

    def _on_ring(self, action: RingAgent) -> None:
        model = self.models[action.agent]
        model.ring_token += 1
        if self.no_answer_probability and model.miss_rng.random() < self.no_answer_probability:
            return  # away from the desk: the ACD's ring timeout will fire
        token = model.ring_token
        call = action.call
        delay = model.answer_delay()
        self.channel.will_answer(call, self.clock.env.now + delay)

        def answer(_event: object) -> None:
            if model.ring_token == token:
                self.channel.answer(model.id, call)

        self.clock.after(delay, answer)

    def _on_stop_ringing(self, action: StopRinging) -> None:
        model = self.models[action.agent]
        model.ring_token += 1
        if self.channel.paused_for_missed_ring(model.id):
            self._come_back_later(model)

    def _come_back_later(self, model: AgentModel) -> None:
        """Paused for a missed ring: the agent notices after a while and goes ready."""

        def back(_event: object) -> None:
            if self.channel.paused_for_missed_ring(model.id):
                self.channel.ready(model.id)

        self.clock.after(model.away(), back)

    def _on_connect(self, action: Connect) -> None:
        model = self.models[action.agent]
        model.ring_token += 1
        model.talk_token += 1
        token = model.talk_token
        channel = self.channel
        call = action.call
        caller = channel.conversation(call)
        assert caller is not None  # the caller is on the line: the agent was connected to them
        transferring = bool(caller.transfer_to)
        talk = (caller.talk if transferring or not caller.transfer_talk else caller.transfer_talk)
        talk *= self.talk_factor
        clock = self.clock

        def end_of_talk(_event: object) -> None:
            if model.talk_token != token:
                return
            target = caller.transfer_to
            caller.transfer_to = ""
            caller.transferring = bool(target)  # first: the agent may leave at once
            if target and channel.transfer(model.id, target):
                return
            caller.transferring = False
            if caller.agent_hangs_up:
                channel.hang_up_agent(model.id)
            else:
                channel.say_goodbye(call)

        if caller.hold is not None and not transferring:
            into, held = caller.hold

            def hold(_event: object) -> None:
                if model.talk_token == token:
                    channel.hold(model.id)

            def resume(_event: object) -> None:
                if model.talk_token == token:
                    channel.resume(model.id)

            clock.after(into * self.talk_factor, hold)
            clock.after(into * self.talk_factor + held, resume)
            clock.after(talk + held, end_of_talk)
        else:
            clock.after(talk, end_of_talk)

    def _on_hang_up(self, action: HangUpAgent) -> None:
        self.models[action.agent].talk_token += 1

    def _on_wrap_up(self, action: WrapUp) -> None:
        model = self.models[action.agent]
        model.wrap_token += 1
        assert model.wrap_up is not None  # subscribed only when agents have a wrap-up time
        now = self.clock.env.now
        done = now + model.wrap_up()
        if done >= action.until:
            return
        token = model.wrap_token

        def ready(_event: object) -> None:
            if model.wrap_token == token and self.channel.wrapping_up(model.id):
                self.channel.ready(model.id)

        self.clock.after(done - now, ready)
