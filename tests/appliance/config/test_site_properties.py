"""Property tests: valid distributions round-trip; junk never escapes as anything but
ConfigError."""

import copy
from typing import Any

import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from appliance.config import ConfigError, Distribution, Site, parse_site
from appliance.config.values import format_loc

DISTRIBUTIONS = TypeAdapter(Distribution)

seconds = st.floats(min_value=0, max_value=1e7, allow_nan=False, allow_infinity=False)
positive = seconds.filter(lambda x: x > 0)


@st.composite
def uniform(draw: st.DrawFn) -> dict[str, Any]:
    low = draw(seconds)
    high = low + draw(positive)
    assume(high > low)  # a tiny width can vanish when added to a large low
    return {"dist": "uniform", "low": low, "high": high}


distribution_dicts = st.one_of(
    st.builds(lambda m: {"dist": "exponential", "mean": m}, positive),
    st.builds(lambda v: {"dist": "fixed", "value": v}, seconds),
    st.builds(lambda m, s: {"dist": "lognormal", "mean": m, "sd": s}, positive, positive),
    uniform(),
    st.builds(lambda vs: {"dist": "empirical", "values": vs}, st.lists(seconds, min_size=1)),
)


@given(distribution_dicts)
def test_valid_distribution_round_trips(data: dict[str, Any]) -> None:
    model = DISTRIBUTIONS.validate_python(data)
    assert model.dist == data["dist"]
    assert type(model).model_validate(model.model_dump()) == model
    assert DISTRIBUTIONS.validate_json(DISTRIBUTIONS.dump_json(model)) == model
    assert 0 <= model.mean_value < float("inf")


@settings(deadline=None)
@given(data=distribution_dicts)
def test_valid_distribution_survives_a_site_file(base_site, data: dict[str, Any]) -> None:
    site = copy.deepcopy(base_site)
    site["traffic"]["call_types"][0]["talk_time"] = data
    parsed = parse_site(yaml.safe_dump(site))
    assert parsed.traffic.call_types[0].talk_time == DISTRIBUTIONS.validate_python(data)


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20),
    st.sampled_from(["08:00", "25:00", "1001-1016", "16-01", "0-99999999", "queue", "busy",
                     "exponential", "-1", ".inf", "ring_all", "service", "lines"]),
)
keys = st.sampled_from(["dist", "mean", "name", "action", "target", "start", "x"]) | st.text(
    max_size=5)
# Scalars and flat lists get their own branches: left to st.recursive alone, most examples
# would be nested containers.
junk = st.one_of(
    scalars,
    st.lists(scalars, max_size=4),
    st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
        max_leaves=12,
    ),
)

JUNK_PLACES: list[tuple[str | int, ...]] = [
    ("site",),
    ("trunk_groups",),
    ("trunk_groups", 0, "channels"),
    ("trunk_groups", 1, "kind"),
    ("queues", 0, "strategy"),
    ("queues", 0, "on_full"),
    ("queues", 1, "max_wait"),
    ("queues", 1, "announcements"),
    ("agents", 0, "id"),
    ("agents", 0, "skills"),
    ("agents", 0, "shift"),
    ("agents", 0, "shift", "start"),
    ("agents", 0, "breaks"),
    ("routes", 0, "dnis"),
    ("routes", 1),
    ("traffic", "start"),
    ("traffic", "calls_per_hour"),
    ("traffic", "interval_minutes"),
    ("traffic", "call_types", 0, "talk_time"),
    ("traffic", "call_types", 1, "retrial"),
    ("agent_behaviour",),
]


def planted(base: dict[str, Any], place: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    site = copy.deepcopy(base)
    node: Any = site
    for part in place[:-1]:
        node = node[part]
    node[place[-1]] = value
    return site


@pytest.mark.parametrize("place", JUNK_PLACES, ids=format_loc)
@settings(deadline=None, max_examples=60)
@given(value=junk)
def test_junk_in_a_field_gives_a_site_or_a_config_error(base_site, place, value) -> None:
    try:
        site = parse_site(yaml.safe_dump(planted(base_site, place, value)), "junk.yaml")
    except ConfigError as error:
        assert error.source == "junk.yaml"
        assert error.problems
        assert all(isinstance(where, str) and message for where, message in error.problems)
    else:
        assert isinstance(site, Site)


@settings(deadline=None)
@given(place=st.sampled_from(JUNK_PLACES[4:8]), text=st.text(max_size=30))
def test_raw_text_in_a_field_gives_a_site_or_a_config_error(base_site, place, text) -> None:
    # Text pasted straight into the file, so that it may also break the YAML itself.
    marker = "__JUNK__"
    document = yaml.safe_dump(planted(base_site, place, marker)).replace(marker, text)
    try:
        parse_site(document)
    except ConfigError as error:
        assert error.problems


@settings(deadline=None)
@given(st.text(max_size=200))
def test_any_text_gives_a_config_error(text: str) -> None:
    try:
        parse_site(text)
    except ConfigError:
        return
    raise AssertionError("random text parsed as a complete site")
