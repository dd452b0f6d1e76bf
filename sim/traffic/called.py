"""The far end of an outbound campaign's calls, as its `model` says: whether an attempt is
answered, busy or rings unanswered, how long it rings before the answer and how long the
answered party talks. Each quantity has its own stream, named as in call fidelity
(`sim.traffic.campaign`), so that both fidelities draw alike."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.distributions import sampler

if TYPE_CHECKING:
    from appliance.config import Campaign
    from sim.streams import Streams

ANSWER, BUSY, NO_ANSWER = "answer", "busy", "no_answer"


class CalledNumbers:
    """The numbers one campaign calls."""

    def __init__(self, campaign: Campaign, streams: Streams) -> None:
        model, name = campaign.model, f"campaign/{campaign.name}"
        self.model = model
        self.rng = streams(f"{name}/outcome")
        self.ring_time = sampler(model.ring_time, streams(f"{name}/ring"))
        self.talk_time = sampler(model.talk_time, streams(f"{name}/talk"))

    def outcome(self) -> str:
        """How the attempt ringing now turns out: ANSWER, BUSY or NO_ANSWER."""
        draw, model = self.rng.random(), self.model
        if draw < model.answer_probability:
            return ANSWER
        return BUSY if draw < model.answer_probability + model.busy_probability else NO_ANSWER
