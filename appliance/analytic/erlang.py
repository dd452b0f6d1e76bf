"""Erlang B and Erlang C: blocking on trunks and waiting for agents, and the sizing rules on them.

Loads are offered traffic in Erlangs (arrival rate x mean holding time); times are seconds.
Everything is computed from the Erlang B recursion, which stays within [0, 1] at every step
and so never overflows, however many servers there are.
"""

from __future__ import annotations

import math

from appliance.analytic import _checks


def _erlang_b(servers: int, load: float) -> float:
    # B(0) = 1; B(n) = A B(n-1) / (n + A B(n-1)): every step is a ratio in [0, 1].
    blocking = 1.0
    for n in range(1, servers + 1):
        carried = load * blocking
        blocking = carried / (n + carried)
    return blocking


def _erlang_c_from_b(agents: int, load: float, blocking: float) -> float:
    # C = c B / (c - A (1 - B)), with the denominator regrouped so that c - A is formed exactly.
    return agents * blocking / ((agents - load) + load * blocking)


def erlang_b(servers: int, load: float) -> float:
    """Blocking probability of the M/M/N/N (Erlang loss) system.

    ``servers`` is the number of trunks or channels (an integer >= 0); ``load`` the offered
    traffic in Erlangs (>= 0). Returns the fraction of offered calls that find every server
    busy, in [0, 1]: 1.0 for zero servers, 0.0 for zero load with at least one server.
    Decreasing in ``servers``, increasing in ``load``; exact to a few ulps for any number of
    servers (the cost is linear in ``servers``).
    """
    n = _checks.count("servers", servers, 0)
    a = _checks.nonnegative("load", load)
    return _erlang_b(n, a)


def erlang_c(agents: int, load: float) -> float:
    """Probability that a call must wait in the M/M/c (Erlang C) queue.

    ``agents`` >= 1; ``load`` in Erlangs (>= 0). Returns P(wait > 0) in [0, 1], which is
    at least ``erlang_b(agents, load)``. When ``load >= agents`` the queue is unstable and
    every call eventually waits: the result is 1.0.
    """
    c = _checks.count("agents", agents, 1)
    a = _checks.nonnegative("load", load)
    if a >= c:
        return 1.0
    return _erlang_c_from_b(c, a, _erlang_b(c, a))


def _service_level(
    agents: int, load: float, blocking: float, aht: float, threshold: float
) -> float:
    if load >= agents:
        return 0.0
    waiting = _erlang_c_from_b(agents, load, blocking)
    # The wait of a call that queues is exponential with rate (c - A) / AHT.
    return 1.0 - waiting * math.exp(-(agents - load) * threshold / aht)


def erlang_c_service_level(agents: int, load: float, aht: float, threshold: float) -> float:
    """Fraction of calls answered within ``threshold`` seconds in the M/M/c queue.

    ``aht`` is the mean handling time in seconds (> 0), ``threshold`` the service-level time
    in seconds (>= 0, may be infinite). Calls that do not wait count as within the threshold,
    so the result is 1 - erlang_c at a threshold of 0. Returns 0.0 when ``load >= agents``.
    """
    c = _checks.count("agents", agents, 1)
    a = _checks.nonnegative("load", load)
    handling = _checks.positive("aht", aht)
    limit = _checks.nonnegative("threshold", threshold, allow_inf=True)
    if a >= c:
        return 0.0
    return _service_level(c, a, _erlang_b(c, a), handling, limit)


def erlang_c_asa(agents: int, load: float, aht: float) -> float:
    """Average speed of answer in seconds: the mean wait over all calls of the M/M/c queue.

    Calls answered at once count with a wait of zero. ``aht`` in seconds (> 0). Returns
    ``math.inf`` when ``load >= agents``.
    """
    c = _checks.count("agents", agents, 1)
    a = _checks.nonnegative("load", load)
    handling = _checks.positive("aht", aht)
    if a >= c:
        return math.inf
    return _erlang_c_from_b(c, a, _erlang_b(c, a)) * handling / (c - a)


def agents_for_service_level(load: float, aht: float, threshold: float, target: float) -> int:
    """Smallest number of agents whose Erlang C service level is at least ``target``.

    ``load`` in Erlangs, ``aht`` and ``threshold`` in seconds, ``target`` a fraction in
    [0, 1) (e.g. 0.8 for "80 % in 20 s"). The answer is always more than ``load`` (a stable
    queue) and at least 1.
    """
    a = _checks.nonnegative("load", load)
    handling = _checks.positive("aht", aht)
    limit = _checks.nonnegative("threshold", threshold, allow_inf=True)
    goal = _checks.fraction("target", target, high_open=True)
    agents = math.floor(a) + 1
    blocking = _erlang_b(agents, a)
    # The service level rises with every added agent, so walk up one recursion step at a time.
    while _service_level(agents, a, blocking, handling, limit) < goal:
        agents += 1
        carried = a * blocking
        blocking = carried / (agents + carried)
    return agents


def trunks_for_blocking(load: float, target_blocking: float) -> int:
    """Smallest number of trunks whose Erlang B blocking is at most ``target_blocking``.

    ``load`` in Erlangs (>= 0); ``target_blocking`` a fraction in (0, 1], e.g. 0.01 for a
    grade of service of 1 %. Returns 0 only when the target is 1.
    """
    a = _checks.nonnegative("load", load)
    goal = _checks.fraction("target_blocking", target_blocking, low_open=True)
    trunks = 0
    blocking = 1.0
    while blocking > goal:
        trunks += 1
        carried = a * blocking
        blocking = carried / (trunks + carried)
    return trunks


def rule_of_thumb_agents(
    population: int,
    call_rate: float,
    busy_hour_share: float,
    aht: float,
    max_occupancy: float,
) -> float:
    """The sizing one-liner of the proposals, unrounded.

    agents = population x call_rate x busy_hour_share x aht / (3600 x max_occupancy), where
    ``call_rate`` is the calls per person in the day (0.003 for 0.30 %), ``busy_hour_share``
    the fraction of the day's calls that fall in the busy hour, ``aht`` in seconds and
    ``max_occupancy`` in (0, 1]. It ignores queueing altogether: it is the carried load
    divided by the occupancy, and only ever a floor under the Erlang answers.
    """
    people = _checks.count("population", population, 0)
    rate = _checks.nonnegative("call_rate", call_rate)
    share = _checks.fraction("busy_hour_share", busy_hour_share)
    handling = _checks.nonnegative("aht", aht)
    occupancy = _checks.fraction("max_occupancy", max_occupancy, low_open=True)
    return people * rate * share * handling / (3600.0 * occupancy)
