"""A site K times faster: the same traffic and the same people, every clock of theirs run K
times as fast, so that a live load of M minutes plays M x K minutes of the site's day.

``compress(site, K)`` returns a valid ``Site``; the box and the simulator both run that one,
so whatever it says they agree on. What it changes:

* rates are multiplied by K: ``traffic.calls_per_hour`` (every interval),
  ``traffic.faults``' failures per day, a campaign's ``max_rate``;
* the interval profile is K times shorter: ``traffic.interval_minutes`` / K, which must come
  out in whole minutes that divide a day (else ValueError naming the speed-ups that do);
* the seconds people take are divided by K, a distribution's parameters with it (mean, sd,
  value, low, high, values): a call type's talk time, patience, hold, retrial delay, its IVR
  callers' key delay, digit gap and patience, its voicemail message length and callback ring
  delay; the agents' answer delay, wrap-up and time away after a missed ring; a campaign's
  called parties' ring and talk times, its busy tone delay and its retry intervals; the
  faults' repair times;
* the queue timers that stand for people or bound what people do, divided by K:
  ``wrap_up`` (the agent's after-call work), ``ring_timeout`` (it bounds the answer delay),
  ``max_wait`` (it races the callers' patience), ``service_level.threshold`` and
  ``short_abandon`` (a wait is judged against the same share of a call), ``expected_aht``,
  ``autopause_ready_after``, ``retry``, ``sticky``'s memory and wait, ``callback``'s offer,
  retry and ring timers, and when ``announcements`` play (``first_after``, ``every``);
* shifts and breaks: a time of day t becomes ``start + (t - start) / K`` around the traffic's
  ``start`` (the moment both runs begin), shift and break lengths divided by K.

What it cannot change, because the box takes it from the world and not from the site file -
these are the known sources of a live-versus-simulation difference, and they weigh K times
more in a compressed run:

* prompt lengths: the IVR's prompts, the ACD's announcements' ``duration``, voicemail
  greetings and beeps are recordings of their own length; the IVR flow's own timeouts stay;
* SIP and network timing: RFC 3261 timers, signalling latency, the phones' ring and answer
  round trips, gateway ring cadences and caller-number delays, ``traffic.lookups``' delays
  (a lookup server's latency);
* the calendar: ``traffic.start`` and ``start_date``, schedules, holidays and working days
  stay as they are, so a run meant to cross a closing time should not be compressed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from appliance.config import Site
from appliance.config.values import DAY

Data = dict[str, Any]
Path = tuple[str, ...]

_DEFAULT_ORIGIN = 8 * 3600.0  # a site without traffic has nothing to start from

RATES: tuple[Path, ...] = (
    ("traffic", "calls_per_hour"),
    ("traffic", "faults", "line_failures_per_day"),
    ("traffic", "faults", "gateway_failures_per_day"),
    ("traffic", "faults", "span_failures_per_day"),
    ("campaigns", "*", "max_rate"),
)
"""Numbers per unit of time: multiplied by the speed-up."""

SECONDS: tuple[Path, ...] = (
    ("traffic", "call_types", "*", "ivr", "digit_gap"),
    ("campaigns", "*", "model", "busy_after"),
    *(("campaigns", "*", "retry", outcome)
      for outcome in ("no_answer", "busy", "failed", "abandoned")),
    *(("queues", "*", name) for name in (
        "max_wait", "wrap_up", "ring_timeout", "short_abandon", "expected_aht",
        "autopause_ready_after", "retry")),
    ("queues", "*", "service_level", "threshold"),
    ("queues", "*", "announcements", "first_after"),
    ("queues", "*", "announcements", "every"),
    ("queues", "*", "sticky", "remember_hours"),
    ("queues", "*", "sticky", "wait"),
    ("queues", "*", "callback", "offer_after"),
    ("queues", "*", "callback", "retry_after"),
    ("queues", "*", "callback", "ring_timeout"),
)
"""Durations (``remember_hours`` in hours): divided by the speed-up."""

DISTRIBUTIONS: tuple[Path, ...] = (
    *(("traffic", "call_types", "*", name) for name in ("talk_time", "patience")),
    ("traffic", "call_types", "*", "hold", "duration"),
    ("traffic", "call_types", "*", "retrial", "delay"),
    ("traffic", "call_types", "*", "ivr", "key_delay"),
    ("traffic", "call_types", "*", "ivr", "patience"),
    ("traffic", "call_types", "*", "voicemail", "length"),
    ("traffic", "call_types", "*", "callback", "ring_delay"),
    ("traffic", "faults", "repair"),
    ("traffic", "faults", "span_repair"),
    *(("agent_behaviour", name) for name in ("answer_delay", "wrap_up",
                                             "away_after_missed_ring")),
    ("campaigns", "*", "model", "ring_time"),
    ("campaigns", "*", "model", "talk_time"),
)
"""Distributions of seconds: their parameters divided by the speed-up."""

PARAMETERS = {"exponential": ("mean",), "fixed": ("value",), "lognormal": ("mean", "sd"),
              "uniform": ("low", "high"), "empirical": ("values",)}
"""The parameters of each kind of distribution that are seconds."""


def compress(site: Site, speedup: float) -> Site:
    """``site`` ``speedup`` times faster, as the module docstring says; its name unchanged.
    ``compress(site, 1)`` equals ``site``. Raises ValueError for a speed-up that is not
    positive or that does not cut the profile's intervals into whole minutes dividing a day."""
    if not speedup > 0:
        raise ValueError(f"expected a speed-up > 0; got {speedup!r}")
    data = site.model_dump()
    for path in RATES:
        _apply(data, path, lambda value: _each(value, lambda v: v * speedup))
    for path in SECONDS:
        _apply(data, path, lambda value: value / speedup)
    for path in DISTRIBUTIONS:
        _apply(data, path, lambda dist: faster_distribution(dist, speedup))
    origin = _DEFAULT_ORIGIN if site.traffic is None else site.traffic.start
    data["agents"] = [_agent(spec, origin, speedup) for spec in data["agents"]]
    if site.traffic is not None:
        data["traffic"]["interval_minutes"] = compressed_interval(
            site.traffic.interval_minutes, speedup)
    return Site.model_validate(data)


def faster_distribution(dist: Data, speedup: float) -> Data:
    """A distribution (as ``model_dump`` gives it) with its seconds divided by ``speedup``."""
    return {**dist, **{name: _each(dist[name], lambda v: v / speedup)
                       for name in PARAMETERS[dist["dist"]]}}


def compressed_interval(minutes: int, speedup: float) -> int:
    """``minutes`` / ``speedup``: ValueError unless whole minutes that divide a day."""
    shorter = minutes / speedup
    whole = round(shorter)
    if whole >= 1 and abs(shorter - whole) < 1e-9 and DAY % (whole * 60) == 0:
        return whole
    working = ", ".join(f"{minutes // d:g}" for d in range(minutes, 0, -1) if minutes % d == 0)
    raise ValueError(f"a speed-up of {speedup:g} makes the profile's {minutes}-minute intervals "
                     f"{shorter:g} minutes; expected whole minutes that divide a day "
                     f"(whole speed-ups that do: {working})")


def compressed_time(time_of_day: float, origin: float, speedup: float) -> float:
    """The time of day ``origin + (time_of_day - origin) / speedup``, the difference taken
    the short way round the clock (a shift at 07:00 begins before a run at 08:00)."""
    offset = (time_of_day - origin + DAY / 2) % DAY - DAY / 2
    return (origin + offset / speedup) % DAY


def _agent(spec: Data, origin: float, speedup: float) -> Data:
    """An agents entry with its shift and breaks compressed around ``origin``; breaks keep
    their place in the shift."""
    shift = spec["shift"]
    if shift is None:
        breaks = [_break(b, compressed_time(b["start"], origin, speedup), speedup)
                  for b in spec["breaks"]]
        return {**spec, "breaks": breaks}
    start = compressed_time(shift["start"], origin, speedup)
    length = (shift["end"] - shift["start"]) % DAY / speedup
    breaks = [_break(b, _later(start, (b["start"] - shift["start"]) % DAY / speedup), speedup)
              for b in spec["breaks"]]
    return {**spec, "shift": {"start": start, "end": _later(start, length)}, "breaks": breaks}


def _break(entry: Data, start: float, speedup: float) -> Data:
    return {**entry, "start": start, "minutes": entry["minutes"] / speedup}


def _later(time_of_day: float, seconds: float) -> float:
    return (time_of_day + seconds) % DAY


def _each(value: Any, change: Callable[[float], float]) -> Any:
    """``change`` applied to a number, or to each number of a list."""
    if isinstance(value, list | tuple):
        return [change(v) for v in value]
    return change(value)


def _apply(node: Any, path: Path, change: Callable[[Any], Any]) -> None:
    """Replace the value at ``path`` under ``node`` by ``change(value)``; ``"*"`` stands for
    every item of a list. A part that is None (not configured) is left alone."""
    if node is None:
        return
    key, rest = path[0], path[1:]
    for child in range(len(node)) if key == "*" else (key,):
        if rest:
            _apply(node[child], rest, change)
        elif node[child] is not None:
            node[child] = change(node[child])
