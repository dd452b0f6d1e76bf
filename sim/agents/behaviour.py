"""Agents: how long they take to answer, whether they miss a ring, talk, hold, transfer, wrap up.

Talk and hold times belong to the caller (drawn at arrival); what belongs to
the agent - answer delay, missed rings, how soon they finish after-call work -
is drawn from the agent's own streams, so adding an agent disturbs no one else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance.pbx.acd.agent import NOT_READY, WRAP_UP
from appliance.pbx.acd.core import REASON_NO_ANSWER
from appliance.pbx.actions import Connect, HangUpAgent, RingAgent, StopRinging, WrapUp
from sim.distributions import Sampler, sampler

if TYPE_CHECKING:
    from appliance.config import AgentBehaviour
    from appliance.pbx.callcontrol import CallControl
    from sim.clock import SimClock
    from sim.driver import CoreDriver
    from sim.streams import Streams
    from sim.traffic.callers import Callers


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
        # Bumped when a ring or a talk is withdrawn, so that its pending timers do nothing.
        self.ring_token = 0
        self.talk_token = 0

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
        core: CallControl,
        driver: CoreDriver,
        callers: Callers,
        streams: Streams,
    ) -> None:
        self.clock = clock
        self.core = core
        self.driver = driver
        self.callers = callers
        self.no_answer_probability = behaviour.no_answer_probability
        self.talk_factor = behaviour.talk_time_factor
        self.models = {a: AgentModel(a, behaviour, streams) for a in agent_ids}
        driver.on(RingAgent, self._on_ring)
        driver.on(StopRinging, self._on_stop_ringing)
        driver.on(Connect, self._on_connect)
        driver.on(HangUpAgent, self._on_hang_up)
        driver.on(WrapUp, self._on_wrap_up)

    def _on_ring(self, action: RingAgent) -> None:
        model = self.models[action.agent]
        model.ring_token += 1
        if self.no_answer_probability and model.miss_rng.random() < self.no_answer_probability:
            return  # away from the desk: the ACD's ring timeout will fire
        token = model.ring_token
        call = action.call
        delay = model.answer_delay()
        self.callers.will_answer(call, self.clock.env.now + delay)

        def answer(_event: object) -> None:
            if model.ring_token == token:
                self.core.agent_answer(self.clock.env.now, model.id, call)
                self.driver.settle()

        self.clock.after(delay, answer)

    def _on_stop_ringing(self, action: StopRinging) -> None:
        model = self.models[action.agent]
        model.ring_token += 1
        self.callers.ring_withdrawn(action.call)
        if self._paused_for_missed_ring(model.id):
            self._come_back_later(model)

    def _come_back_later(self, model: AgentModel) -> None:
        """Paused for a missed ring: the agent notices after a while and goes ready."""
        def back(_event: object) -> None:
            if self._paused_for_missed_ring(model.id):
                self.core.agent_ready(self.clock.env.now, model.id)
                self.driver.settle()

        self.clock.after(model.away(), back)

    def _paused_for_missed_ring(self, agent: str) -> bool:
        status = self.core.agent_status(agent)
        return status is not None and status.state is NOT_READY and (
            status.reason == REASON_NO_ANSWER)

    def _on_connect(self, action: Connect) -> None:
        self.callers.connected(action)
        model = self.models[action.agent]
        model.ring_token += 1
        model.talk_token += 1
        token = model.talk_token
        caller = self.callers.by_call[action.call]
        transferring = bool(caller.transfer_to)
        talk = (caller.talk if transferring or not caller.transfer_talk else caller.transfer_talk)
        talk *= self.talk_factor
        clock = self.clock
        core = self.core
        settle = self.driver.settle

        def end_of_talk(_event: object) -> None:
            if model.talk_token != token:
                return
            now = clock.env.now
            if caller.transfer_to:
                target = caller.transfer_to
                caller.transfer_to = ""
                core.agent_transfer(now, model.id, target)
            else:
                self.callers.forget(caller.call)
                core.caller_hangup(now, caller.call)
            settle()

        if caller.hold is not None and not transferring:
            into, held = caller.hold

            def hold(_event: object) -> None:
                if model.talk_token == token:
                    core.agent_hold(clock.env.now, model.id)
                    settle()

            def resume(_event: object) -> None:
                if model.talk_token == token:
                    core.agent_resume(clock.env.now, model.id)
                    settle()

            clock.after(into * self.talk_factor, hold)
            clock.after(into * self.talk_factor + held, resume)
            clock.after(talk + held, end_of_talk)
        else:
            clock.after(talk, end_of_talk)

    def _on_hang_up(self, action: HangUpAgent) -> None:
        self.models[action.agent].talk_token += 1

    def _on_wrap_up(self, action: WrapUp) -> None:
        model = self.models[action.agent]
        if model.wrap_up is None:
            return  # wait for the ACD's automatic wrap-up timer
        now = self.clock.env.now
        done = now + model.wrap_up()
        if done >= action.until:
            return
        call = action.call

        def ready(_event: object) -> None:
            status = self.core.agent_status(model.id)
            if status is not None and status.state is WRAP_UP and status.call == call:
                self.core.agent_ready(self.clock.env.now, model.id)
                self.driver.settle()

        self.clock.after(done - now, ready)
