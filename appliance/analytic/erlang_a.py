"""Erlang A: the M/M/c+M queue, in which waiting callers hang up after an exponential patience.

Notation (Garnett, Mandelbaum & Reiman 2002; Zeltyn & Mandelbaum 2005): arrival rate
lambda, service rate mu = 1 / AHT, abandonment rate theta = 1 / mean patience. With time
measured in units of the mean patience, let x = c mu / theta and y = lambda / theta. Relative
to the probability of exactly c calls in the system, k waiting calls have weight

    w_k = prod_{j=1..k} y / (x + j),   A(x, y) = sum_k w_k = e**y y**-x Gamma(x + 1) P(x, y),

and the calls before c add 1 / B(c, A) - 1 = c / (A B(c-1, A)) with Erlang B. A call that finds
k others waiting reaches an agent after V_k, a sum of exponentials with rates x + j
(j = 0..k); its own patience is a unit exponential. Mixed over k, V has density
x exp(-x v + y (1 - e**-v)) on the waiting calls, which maps onto the Gamma(x + 1)
distribution through z = y e**-v: the answered calls among them that waited more than v have
mass proportional to P(x + 1, y e**-v). Everything below follows from those two facts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.integrate import quad
from scipy.special import expit, gammainc

from appliance.analytic import _checks
from appliance.analytic._gamma import log_between, log_lower, log_scale, queue_series
from appliance.analytic.erlang import _erlang_b, _erlang_c_from_b

# Doubling the agent count this many times without meeting a target means it cannot be met.
_MAX_DOUBLINGS = 40


@dataclass(frozen=True, slots=True)
class ErlangAResult:
    """Steady-state figures of one Erlang A queue (probabilities over all arriving calls).

    p_wait: P(an arriving call finds every agent busy and queues).
    p_abandon: P(an arriving call hangs up before an agent answers).
    service_level: P(the call is answered after a wait of at most the threshold); calls
        that abandon, even before the threshold, count as not within it.
    asa: mean wait in seconds of the answered calls (those answered at once count as 0).
    mean_wait: mean time in queue in seconds over all calls, until answer or abandonment.
    mean_queue_length: mean number of calls waiting (arrival rate x mean_wait).
    occupancy: carried load / agents, the fraction of agent time spent on calls.
    """

    p_wait: float
    p_abandon: float
    service_level: float
    asa: float
    mean_wait: float
    mean_queue_length: float
    occupancy: float


@dataclass(frozen=True, slots=True)
class _GivenWait:
    """Figures conditional on the call having to wait; times in units of the mean patience."""

    log_mass: float  # log A(x, y)
    abandon: float
    answered: float
    answered_in_time: float
    answered_wait: float  # E[wait; answered]


def _answered_wait_integral(a: float, y: float) -> float:
    """The integral over v >= 0 of P(a, y e**-v): E[wait; answered] up to a factor."""
    # The integrand falls from about 1 to 0 around v0, where y e**-v = a, over a width of
    # about 1 / sqrt(a); past it P(a, .) decays at least like exp(-a (v - v0)).
    v0 = math.log(y / a)
    width = 1.0 / math.sqrt(a)
    end = max(v0, 0.0) + math.sqrt(130.0 / a) + 70.0 / a
    points = [p for p in (v0 - 6.0 * width, v0, v0 + 6.0 * width) if 0.0 < p < end]
    value, _ = quad(
        lambda v: float(gammainc(a, y * math.exp(-v))),
        0.0,
        end,
        points=points or None,
        epsabs=0.0,
        epsrel=1e-12,
        limit=500,
    )
    return value


def _below_capacity(x: float, y: float, s: float) -> _GivenWait:
    # lambda < c mu: every w_k <= 1, so the sums are taken term by term. The closed forms
    # would subtract nearly equal numbers here (A (y - x) + x is a small difference).
    s1, m, e = queue_series(x, y)
    mass = 1.0 + s1
    answered = x * s1 / (y * mass)
    if s == 0.0:
        in_time = 0.0
    elif math.isinf(s):
        in_time = answered
    else:
        late_series, _, _ = queue_series(x, y * math.exp(-s), moments=False)
        late = x / (y * mass) * math.exp(-y * math.expm1(-s) - s * x) * late_series
        in_time = max(answered - late, 0.0)
    return _GivenWait(math.log1p(s1), m / (y * mass), answered, in_time, e / mass)


def _at_or_above_capacity(x: float, y: float, s: float) -> _GivenWait:
    # lambda >= c mu: P(x, y) and P(x + 1, y) are not small, and the abandonment formula
    # below adds positive terms only. Ratios of incomplete gammas keep A out of the figures.
    log_p0 = log_lower(x, y)
    log_mass = log_scale(x, y) + log_p0
    abandon = (y - x) / y + x / y * math.exp(-log_mass)
    answered = x / y * math.exp(log_lower(x + 1.0, y) - log_p0)
    if s == 0.0:
        in_time = 0.0
    elif math.isinf(s):
        in_time = answered
    else:
        in_time = x / y * math.exp(log_between(x + 1.0, y * math.exp(-s), y) - log_p0)
    wait = x / y * _answered_wait_integral(x + 1.0, y) / math.exp(log_p0)
    return _GivenWait(log_mass, abandon, answered, in_time, wait)


def _erlang_c_limit(
    agents: int, arrival_rate: float, aht: float, threshold: float, blocking_below: float
) -> ErlangAResult:
    load = arrival_rate * aht
    if load >= agents:
        # Infinitely patient callers and too few agents: the queue grows without bound.
        return ErlangAResult(1.0, 0.0, 0.0, math.inf, math.inf, math.inf, 1.0)
    carried = load * blocking_below
    waiting = _erlang_c_from_b(agents, load, carried / (agents + carried))
    level = 1.0 - waiting * math.exp(-(agents - load) * threshold / aht)
    wait = waiting * aht / (agents - load)
    return ErlangAResult(waiting, 0.0, level, wait, wait, arrival_rate * wait, load / agents)


def _clip(p: float) -> float:
    return min(max(p, 0.0), 1.0)


def _erlang_a(
    agents: int,
    arrival_rate: float,
    aht: float,
    mean_patience: float,
    threshold: float,
    blocking_below: float,
) -> ErlangAResult:
    """Erlang A for checked arguments; ``blocking_below`` is Erlang B for agents - 1."""
    if arrival_rate == 0.0:
        return ErlangAResult(0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0)
    if math.isinf(mean_patience):
        return _erlang_c_limit(agents, arrival_rate, aht, threshold, blocking_below)
    load = arrival_rate * aht
    x = agents * mean_patience / aht
    y = arrival_rate * mean_patience
    s = threshold / mean_patience
    given = _below_capacity(x, y, s) if y < x else _at_or_above_capacity(x, y, s)
    # Calls that find a free agent, relative to those finding exactly c in the system.
    if blocking_below == 0.0:
        log_free = math.inf
    else:
        log_free = math.log(agents / load) - math.log(blocking_below)
    p_wait = float(expit(given.log_mass - log_free))
    p_free = float(expit(log_free - given.log_mass))
    p_abandon = _clip(p_wait * given.abandon)
    p_answered = _clip(p_free + p_wait * given.answered)
    level = _clip(p_free + p_wait * given.answered_in_time)
    # Abandonment happens at rate theta per waiting call, so P(abandon) = theta E[wait].
    mean_wait = p_abandon * mean_patience
    asa = p_wait * given.answered_wait * mean_patience / p_answered if p_answered > 0 else math.inf
    return ErlangAResult(
        p_wait=_clip(p_wait),
        p_abandon=p_abandon,
        service_level=level,
        asa=asa,
        mean_wait=mean_wait,
        mean_queue_length=arrival_rate * mean_wait,
        occupancy=min(load * p_answered / agents, 1.0),
    )


def erlang_a(
    agents: int,
    arrival_rate: float,
    aht: float,
    mean_patience: float,
    threshold: float = 20.0,
) -> ErlangAResult:
    """Steady state of the M/M/c+M (Erlang A) queue.

    ``agents`` >= 1; ``arrival_rate`` in calls per second (>= 0); ``aht`` the mean handling
    time in seconds (> 0); ``mean_patience`` the mean time in seconds a caller is willing to
    wait (> 0; ``math.inf`` gives the Erlang C figures, and for a load at or above the agents
    the unbounded limit p_wait = 1, service_level = 0 and infinite waits); ``threshold`` the
    service-level time in seconds (>= 0, may be infinite). With finite patience the queue is
    stable at any load, including loads above the agent count. Every figure is accurate to
    1e-9 relative or better, tiny probabilities included, for thousands of agents (the cost
    is dominated by Erlang B, linear in ``agents``).
    """
    c = _checks.count("agents", agents, 1)
    rate = _checks.nonnegative("arrival_rate", arrival_rate)
    handling = _checks.positive("aht", aht)
    patience = _checks.positive("mean_patience", mean_patience, allow_inf=True)
    limit = _checks.nonnegative("threshold", threshold, allow_inf=True)
    return _erlang_a(c, rate, handling, patience, limit, _erlang_b(c - 1, rate * handling))


def agents_for_erlang_a(
    arrival_rate: float,
    aht: float,
    mean_patience: float,
    threshold: float,
    target: float,
    max_abandon: float | None = None,
) -> int:
    """Smallest number of agents whose Erlang A service level is at least ``target``.

    Units as in ``erlang_a``; ``target`` is a fraction in [0, 1). With ``max_abandon`` (a
    fraction in (0, 1]) the abandonment probability must also be at most that. The service
    level rises and abandonment falls as agents are added, so the answer is found by
    doubling and bisection. With infinite patience the queue must also be stable (agents
    more than the load). The answer is at least 1.
    """
    rate = _checks.nonnegative("arrival_rate", arrival_rate)
    handling = _checks.positive("aht", aht)
    patience = _checks.positive("mean_patience", mean_patience, allow_inf=True)
    limit = _checks.nonnegative("threshold", threshold, allow_inf=True)
    goal = _checks.fraction("target", target, high_open=True)
    abandon_cap = (
        None if max_abandon is None else _checks.fraction("max_abandon", max_abandon, low_open=True)
    )
    load = rate * handling

    def meets(agents: int) -> bool:
        if math.isinf(patience) and load >= agents:
            return False
        result = _erlang_a(agents, rate, handling, patience, limit, _erlang_b(agents - 1, load))
        if result.service_level < goal:
            return False
        return abandon_cap is None or result.p_abandon <= abandon_cap

    failing, passing = 0, max(1, math.ceil(load))
    for _ in range(_MAX_DOUBLINGS):
        if meets(passing):
            break
        failing, passing = passing, 2 * passing
    else:
        raise ValueError("the service-level or abandonment target cannot be met")
    while passing - failing > 1:
        middle = (failing + passing) // 2
        if meets(middle):
            passing = middle
        else:
            failing = middle
    return passing
