"""Where the answers disagree, and why: the sentences `ccbox size` prints under its table."""

from __future__ import annotations

from sim.sizing.formulas import FormulaAnswer
from sim.sizing.inputs import SizingInputs
from sim.sizing.simulate import SimulatedAnswer, SimulatedTrunks


def _agents(count: int) -> str:
    return f"{count} agent{'s' if count != 1 else ''}"


def explain(inputs: SizingInputs, formula: FormulaAnswer,
            simulated: SimulatedAnswer | None,
            trunks: SimulatedTrunks | None = None) -> list[str]:
    """Plain sentences on one interval's answers, the most telling first."""
    notes: list[str] = []
    analytic = formula.erlang_a if formula.erlang_a is not None else formula.erlang_c
    model = "Erlang A" if formula.erlang_a is not None else "Erlang C"
    gap = formula.rule - analytic
    occupancy = formula.load / analytic if analytic else 0.0
    if gap < 0:
        notes.append(
            f"The rule understaffs by {_agents(-gap)}: it keeps agents {inputs.max_occupancy:.0%} "
            f"busy whatever the queue does, but to answer {inputs.sl_target:.0%} of calls "
            f"within {inputs.sl_threshold:g} s this load ({formula.load:.1f} Erlangs) allows "
            f"only {occupancy:.0%} occupancy ({model}).")
    elif gap > 0:
        notes.append(
            f"The rule overstaffs by {_agents(gap)}: at {formula.load:.1f} Erlangs the queue "
            f"meets the target with agents {occupancy:.0%} busy, more than the rule's "
            f"{inputs.max_occupancy:.0%} ({model}); larger centers pool better.")
    if formula.erlang_a is not None and formula.erlang_a < formula.erlang_c:
        notes.append(
            f"Callers hang up after {inputs.patience:g} s on average: Erlang C, which assumes "
            f"they never do, asks for {_agents(formula.erlang_c - formula.erlang_a)} more than "
            f"Erlang A; with {_agents(formula.erlang_a)} about "
            f"{(formula.erlang_a_abandon or 0):.1%} of callers abandon.")
    if simulated is not None:
        notes += _simulation_notes(inputs, formula, simulated, analytic, model)
    if trunks is not None and trunks.trunks != formula.trunks:
        notes.append(_trunk_note(inputs, formula, trunks))
    if inputs.ivr_share:
        notes.append(
            f"{inputs.ivr_share:.0%} of calls end in the IVR: they need no agent but hold a "
            f"trunk for {inputs.ivr_seconds:g} s each.")
    if inputs.ivr_queue_seconds:
        before = inputs.agent_rate(formula.calls_per_hour) * inputs.ivr_queue_seconds
        notes.append(
            f"Calls that go on to agents spend {inputs.ivr_queue_seconds:g} s in the IVR first: "
            f"{before:.1f} Erlangs more on the trunks than if they were queued at once.")
    if formula.blocking is not None and formula.blocking > inputs.blocking_target:
        notes.append(
            f"{inputs.trunks} trunks block {formula.blocking:.1%} of calls (Erlang B); "
            f"{formula.trunks} are needed for {inputs.blocking_target:.1%}.")
    return notes


def _simulation_notes(inputs: SizingInputs, formula: FormulaAnswer, simulated: SimulatedAnswer,
                      analytic: int, model: str) -> list[str]:
    notes = []
    difference = simulated.agents - analytic
    chosen = simulated.candidate(simulated.agents)
    level = "" if chosen is None or chosen.service_level.mean is None else (
        f" (service level {chosen.service_level.mean:.1%}"
        f" ± {chosen.service_level.half_width or 0:.1%})")
    if difference == 0:
        notes.append(f"The simulation of the appliance's own call control agrees with {model}"
                     f"{level}.")
    else:
        why = []
        if inputs.retrial and inputs.patience is not None:
            why.append(f"{inputs.retrial:.0%} of callers who abandon call again, and each "
                       "retry is a new call the formulas do not see")
        if inputs.trunks is not None and (formula.blocking or 0) > 0.001:
            why.append("blocked calls never reach the queue")
        if not simulated.confident:
            why.append("the difference is within the simulation's 95 % interval")
        reason = "; ".join(why) if why else (
            "the formulas' steady state is not reached in every replication (waits build up "
            "and drain over the interval)")
        direction = "more" if difference > 0 else "fewer"
        notes.append(f"The simulation needs {_agents(abs(difference))} {direction} than "
                     f"{model}{level}: {reason}.")
    if not simulated.confident:
        notes.append(f"After {simulated.replications} replications the service levels of "
                     f"{simulated.agents - 1} and {simulated.agents} agents are not both clear "
                     "of the target: read the answer as one agent either way.")
    return notes


def _trunk_note(inputs: SizingInputs, formula: FormulaAnswer, trunks: SimulatedTrunks) -> str:
    difference = trunks.trunks - formula.trunks
    if difference > 0:
        why = ("a queued call holds its trunk while it waits, and waits are longest exactly "
               "when every trunk is busy; Erlang B takes holding times as independent of load")
    else:
        why = ("callers who give up free their trunk early, and blocked callers who retry "
               "come back when trunks are free")
    return (f"The simulation needs {abs(difference)} trunk{'s' if abs(difference) != 1 else ''} "
            f"{'more' if difference > 0 else 'fewer'} than Erlang B for "
            f"{inputs.blocking_target:.1%} blocking ({trunks.trunks} against "
            f"{formula.trunks}): {why}.")
