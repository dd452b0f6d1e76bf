"""``compress``: a site K times faster (hypothesis over the built-in small site's settings)."""

from __future__ import annotations

import math
import typing
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from appliance.config import Site
from appliance.config.loader import builtin_site_path, load_site
from appliance.config.schema import Exponential
from sim.load.compress import (
    DISTRIBUTIONS,
    PARAMETERS,
    SECONDS,
    compress,
    compressed_interval,
    compressed_time,
)

SMALL = load_site(builtin_site_path("small"))
SPEEDUPS = (1, 2, 3, 5, 6, 7.5, 10, 15, 30)  # those that cut 30-minute intervals evenly
NOT_SCALED = {("traffic", "lookups", "*", "delay")}  # a lookup server's latency


def _seconds(low: float = 0.0) -> st.SearchStrategy[float]:
    return st.integers(min_value=int(low), max_value=3600).map(float)


def _positive() -> st.SearchStrategy[float]:
    return st.integers(min_value=1, max_value=3600).map(float)


DISTRIBUTION = st.one_of(
    st.builds(lambda m: {"dist": "exponential", "mean": m}, _positive()),
    st.builds(lambda v: {"dist": "fixed", "value": v}, _seconds()),
    st.builds(lambda m, s: {"dist": "lognormal", "mean": m, "sd": s}, _positive(), _positive()),
    st.builds(lambda lo, w: {"dist": "uniform", "low": lo, "high": lo + w}, _seconds(),
              _positive()),
    st.builds(lambda vs: {"dist": "empirical", "values": vs}, st.lists(_seconds(), min_size=1,
                                                                      max_size=4)),
)


@st.composite
def sites(draw: st.DrawFn) -> Site:
    """The small site with its timings, rates and first shift drawn."""
    data = SMALL.model_dump()
    call_type = data["traffic"]["call_types"][0]
    call_type.update(talk_time=draw(DISTRIBUTION), patience=draw(DISTRIBUTION),
                     hold={"probability": draw(st.floats(0, 1)), "duration": draw(DISTRIBUTION)})
    call_type["retrial"]["delay"] = draw(DISTRIBUTION)
    data["traffic"]["calls_per_hour"] = draw(st.lists(st.integers(0, 500).map(float),
                                                      min_size=1, max_size=48))
    data["agent_behaviour"].update(answer_delay=draw(DISTRIBUTION),
                                   wrap_up=draw(st.none() | DISTRIBUTION))
    data["queues"][0].update(wrap_up=draw(_seconds()), ring_timeout=draw(_positive()))
    start = draw(st.integers(0, 24 * 60 - 1)) * 60.0
    data["agents"][0].update(shift={"start": start, "end": (start + 9 * 3600) % 86400},
                             breaks=[{"start": (start + 3600) % 86400, "minutes": 15.0}])
    return Site.model_validate(data)


@given(sites())
@settings(max_examples=40, deadline=None)
def test_compressing_by_one_changes_nothing(site: Site) -> None:
    assert compress(site, 1) == site


def _offered_erlangs(site: Site) -> list[float]:
    """Per interval: calls per second x mean seconds an agent gives a call (talk, hold,
    wrap-up)."""
    traffic, behaviour = site.traffic, site.agent_behaviour
    assert traffic is not None
    shares = math.fsum(ct.share for ct in traffic.call_types)
    wrap = (behaviour.wrap_up.mean_value if behaviour.wrap_up is not None
            else site.queues[0].wrap_up)
    per_call = math.fsum(ct.share / shares * (
        ct.talk_time.mean_value + (ct.hold.probability * ct.hold.duration.mean_value
                                   if ct.hold else 0.0) + wrap) for ct in traffic.call_types)
    return [rate / 3600 * per_call for rate in traffic.profile]


@given(sites(), st.sampled_from(SPEEDUPS))
@settings(max_examples=60, deadline=None)
def test_offered_load_is_unchanged(site: Site, speedup: float) -> None:
    assert _offered_erlangs(compress(site, speedup)) == pytest.approx(_offered_erlangs(site))


def _values(node: Any, path: tuple[str, ...]) -> list[Any]:
    """Every value at ``path`` ("*": each item of a list), None where not configured."""
    if not path or node is None:
        return [node]
    key, rest = path[0], path[1:]
    children = node if key == "*" else [node[key]]
    return [value for child in children for value in _values(child, rest)]


def _divided(before: Any, after: Any, speedup: float) -> bool:
    if before is None or after is None:
        return before is after
    if isinstance(before, dict):
        return all(_divided(before[name], after[name], speedup)
                   for name in PARAMETERS[before["dist"]])
    if isinstance(before, list):
        return all(_divided(b, a, speedup) for b, a in zip(before, after, strict=True))
    return after == pytest.approx(before / speedup)


@given(sites(), st.sampled_from(SPEEDUPS))
@settings(max_examples=60, deadline=None)
def test_every_duration_is_divided(site: Site, speedup: float) -> None:
    before, after = site.model_dump(), compress(site, speedup).model_dump()
    for path in (*SECONDS, *DISTRIBUTIONS):
        for old, new in zip(_values(before, path), _values(after, path), strict=True):
            assert _divided(old, new, speedup), path
    assert after["traffic"]["interval_minutes"] * speedup == 30
    assert after["traffic"]["calls_per_hour"] == pytest.approx(
        [rate * speedup for rate in before["traffic"]["calls_per_hour"]])


@given(sites(), st.sampled_from(SPEEDUPS))
@settings(max_examples=60, deadline=None)
def test_shifts_and_breaks_shrink_around_the_start(site: Site, speedup: float) -> None:
    before, after = site.agents[0], compress(site, speedup).agents[0]
    assert before.shift is not None and after.shift is not None
    assert after.shift.duration == pytest.approx(before.shift.duration / speedup)
    assert after.shift.start == pytest.approx(
        compressed_time(before.shift.start, 8 * 3600, speedup))
    assert after.shift.offset(after.breaks[0].start) == pytest.approx(3600 / speedup)
    assert after.breaks[0].minutes == pytest.approx(15 / speedup)


def _distribution_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> set[tuple]:
    """Every field of the schema under ``model`` that holds a distribution."""
    found: set[tuple] = set()
    for name, field in model.model_fields.items():
        for kind, step in _inner(field.annotation):
            path = (*prefix, name, *step)
            if kind is Exponential:
                found.add(path)
            elif isinstance(kind, type) and issubclass(kind, BaseModel):
                found |= _distribution_paths(kind, path)
    return found


def _inner(annotation: Any) -> list[tuple[Any, tuple[str, ...]]]:
    """The types a field holds, with "*" for a list's or a dict's items."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (list, tuple):
        return [(kind, ("*", *step)) for kind, step in _inner(args[0])]
    if origin is dict:
        return [(kind, ("*", *step)) for kind, step in _inner(args[1])]
    if args:
        return [pair for arg in args for pair in _inner(arg)]
    return [(annotation, ())]


def test_every_distribution_in_the_schema_is_decided() -> None:
    # A new distribution in the schema must be scaled, or named as one that cannot be.
    assert _distribution_paths(Site) == set(DISTRIBUTIONS) | NOT_SCALED


def test_the_small_site_ten_times_faster() -> None:
    fast = compress(SMALL, 10)
    assert fast.traffic is not None and fast.traffic.interval_minutes == 3
    assert fast.traffic.profile[:3] == (250.0, 350.0, 450.0)
    assert fast.traffic.call_types[0].talk_time.model_dump() == {
        "dist": "lognormal", "mean": 15.0, "sd": 9.0}
    queue = fast.queue("service")
    assert (queue.wrap_up, queue.ring_timeout, queue.max_wait) == (1.5, 1.5, 18.0)
    assert queue.announcements is not None and queue.announcements.duration == 8.0
    assert fast.agents[0].shift is not None
    assert (fast.agents[0].shift.start, fast.agents[0].shift.end) == (8 * 3600, 8 * 3600 + 3240)


def test_a_speedup_that_does_not_cut_whole_minutes_is_refused() -> None:
    with pytest.raises(ValueError, match="whole speed-ups that do: 1, 2, 3, 5, 6, 10, 15, 30"):
        compressed_interval(30, 4)
    with pytest.raises(ValueError, match="expected a speed-up > 0"):
        compress(SMALL, 0)


def test_a_shift_before_the_start_begins_before_it() -> None:
    assert compressed_time(7 * 3600, 8 * 3600, 10) == 8 * 3600 - 360
