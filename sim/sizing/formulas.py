"""The instant answers: the sources' rule, Erlang C and Erlang A for agents, Erlang B for trunks,
one interval at a time (a fraction of a millisecond each)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from appliance.analytic import (
    agents_for_erlang_a,
    agents_for_service_level,
    erlang_a,
    erlang_b,
    erlang_c_asa,
    erlang_c_service_level,
    trunks_for_blocking,
)
from sim.sizing.inputs import SizingInputs


@dataclass(frozen=True)
class FormulaAnswer:
    """Agents on the phones (before shrinkage) and trunks for one interval."""

    interval: str
    calls_per_hour: float
    load: float  # Erlangs offered to the agents
    rule_exact: float  # the rule's unrounded figure
    rule: int  # rounded to nearest, as the sources do
    erlang_c: int
    erlang_c_sl: float  # at erlang_c agents
    erlang_c_asa: float
    erlang_a: int | None  # None without patience (Erlang A is then Erlang C)
    erlang_a_sl: float | None
    erlang_a_abandon: float | None
    trunk_load: float  # Erlangs on the trunks: IVR time, waits and talk
    trunks: int  # Erlang B for the blocking target
    blocking: float | None  # Erlang B with the given trunks, if any

    def scheduled(self, agents: int, shrinkage: float) -> int:
        """Agents to schedule so that `agents` are on the phones after shrinkage."""
        return math.ceil(agents / (1.0 - shrinkage) - 1e-9)


def rule_agents(inputs: SizingInputs, calls_per_hour: float) -> float:
    """The sources' rule: carried load divided by the occupancy cap (no queueing at all)."""
    return calls_per_hour * (1.0 - inputs.ivr_share) * inputs.aht / (3600.0 * inputs.max_occupancy)


def answer_interval(inputs: SizingInputs, index: int, calls_per_hour: float) -> FormulaAnswer:
    rate = inputs.agent_rate(calls_per_hour)
    load = rate * inputs.aht
    threshold, target = inputs.sl_threshold, inputs.sl_target
    if load == 0:
        c_agents, c_sl, c_asa = 0, 1.0, 0.0
    else:
        c_agents = agents_for_service_level(load, inputs.aht, threshold, target)
        c_sl = erlang_c_service_level(c_agents, load, inputs.aht, threshold)
        c_asa = erlang_c_asa(c_agents, load, inputs.aht)
    a_agents = a_sl = a_abandon = None
    mean_wait = c_asa  # Erlang C's ASA is the mean wait over all calls
    if inputs.patience is not None and load > 0:
        a_agents = agents_for_erlang_a(rate, inputs.aht, inputs.patience, threshold, target)
        result = erlang_a(a_agents, rate, inputs.aht, inputs.patience, threshold)
        a_sl, a_abandon = result.service_level, result.p_abandon
        mean_wait = result.mean_wait
    # A trunk is held by every call: through the IVR, while queued and while talking.
    trunk_load = inputs.ivr_trunk_load(calls_per_hour) + rate * (mean_wait + inputs.aht)
    trunks = trunks_for_blocking(trunk_load, inputs.blocking_target) if trunk_load > 0 else 0
    blocking = None if inputs.trunks is None else erlang_b(inputs.trunks, trunk_load)
    exact = rule_agents(inputs, calls_per_hour)
    return FormulaAnswer(
        interval=inputs.interval_label(index), calls_per_hour=calls_per_hour, load=load,
        rule_exact=exact, rule=math.floor(exact + 0.5), erlang_c=c_agents, erlang_c_sl=c_sl,
        erlang_c_asa=c_asa, erlang_a=a_agents, erlang_a_sl=a_sl, erlang_a_abandon=a_abandon,
        trunk_load=trunk_load, trunks=trunks, blocking=blocking,
    )


def answer_all(inputs: SizingInputs) -> list[FormulaAnswer]:
    return [answer_interval(inputs, index, rate)
            for index, rate in enumerate(inputs.calls_per_hour)]
