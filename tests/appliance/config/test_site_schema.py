"""The site models on their own: value types, agent expansion, lookups and helpers."""

from typing import Any

import pytest
import yaml
from pydantic import TypeAdapter, ValidationError

from appliance.config import (
    Agent,
    AgentSpec,
    ConfigError,
    Distribution,
    Overflow,
    Queue,
    Shift,
    Site,
    Traffic,
    TrunkGroup,
    expand_id_range,
    format_time_of_day,
    parse_site,
    parse_time_of_day,
)
from tests.factories import site_dict

DISTRIBUTIONS = TypeAdapter(Distribution)


def parse(data: dict[str, Any]) -> Site:
    return parse_site(yaml.safe_dump(data, sort_keys=False))


# --- agent id ranges ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("1001", ("1001",)),
        ("agent-7", ("agent-7",)),
        ("01-03", ("01", "02", "03")),
        ("08-11", ("08", "09", "10", "11")),
        ("098-101", ("098", "099", "100", "101")),
        ("9-11", ("9", "10", "11")),
        ("1001-1001", ("1001",)),
        ("0-2", ("0", "1", "2")),
    ],
)
def test_id_range_expands_inclusively_keeping_zero_padding(text: str, ids: tuple) -> None:
    assert expand_id_range(text) == ids


@pytest.mark.parametrize("text", ["1016-1001", "10 01", "", "1001-", "1-99999"])
def test_bad_id_or_range_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="got"):
        expand_id_range(text)


def test_site_expands_agent_entries_in_file_order(site_data) -> None:
    site_data["agents"][0]["id"] = "007-009"
    site_data["agents"][0]["name"] = "Night"
    agents = parse(site_data).expanded_agents()
    assert [(a.id, a.name) for a in agents] == [
        ("007", "Night 007"), ("008", "Night 008"), ("009", "Night 009"), ("2001", "Li Wei")]
    assert agents[0].shift == Shift(start="08:00", end="17:00")
    assert agents[0].breaks[0].duration == 3600
    assert agents[3].shift is None


def test_agent_name_defaults_to_its_id() -> None:
    (agent,) = AgentSpec(id="1001", skills={"a": 1}).expand()
    assert agent.name == "1001"


def test_expanded_agents_are_cached_and_frozen(site_data) -> None:
    site = parse(site_data)
    first = site.expanded_agents()
    assert site.expanded_agents() is first
    agent = first[-1]
    assert agent.level("money") == 7 and agent.level("nothing") == 0
    with pytest.raises(TypeError):
        agent.skills["money"] = 1  # type: ignore[index]
    with pytest.raises(ValidationError):
        agent.name = "other"  # type: ignore[misc]
    assert {agent: 1}[agent] == 1


def test_agent_round_trips_through_its_dump() -> None:
    agent = AgentSpec(id="5", skills={"a": 2}, shift={"start": "22:00", "end": "06:00"}).expand()[0]
    assert Agent.model_validate(agent.model_dump()) == agent


# --- times of day ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("00:00", 0), ("08:00", 28800), ("8:30", 30600), ("23:59:59", 86399), (" 12:00 ", 43200)],
)
def test_time_of_day_parses_to_seconds(text: str, seconds: int) -> None:
    assert parse_time_of_day(text) == seconds


@pytest.mark.parametrize("text", ["25:00", "24:00", "12:60", "12:00:60", "8h", "0800", "8:5", ""])
def test_bad_time_of_day_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="expected a time of day written 'HH:MM'"):
        parse_time_of_day(text)


def test_time_of_day_formats_back_and_wraps_past_midnight() -> None:
    assert format_time_of_day(30600) == "08:30"
    assert format_time_of_day(30645.9, with_seconds=True) == "08:30:45"
    assert format_time_of_day(86400 + 3600) == "01:00"


def test_python_callers_may_give_times_as_seconds() -> None:
    assert Shift(start=8 * 3600, end=17 * 3600) == Shift(start="08:00", end="17:00")


def test_overnight_shift() -> None:
    shift = Shift(start="22:00", end="06:00")
    assert shift.duration == 8 * 3600
    assert shift.covers(parse_time_of_day("23:30")) and shift.covers(parse_time_of_day("05:59"))
    assert not shift.covers(parse_time_of_day("06:00"))
    assert not shift.covers(parse_time_of_day("12:00"))


def test_breaks_may_cross_midnight_inside_an_overnight_shift() -> None:
    spec = AgentSpec(id="1", skills={"a": 1}, shift={"start": "22:00", "end": "06:00"},
                     breaks=[{"start": "23:30", "minutes": 60}])
    assert spec.breaks[0].start == parse_time_of_day("23:30")


def test_overlapping_breaks_are_refused() -> None:
    with pytest.raises(ValidationError, match="overlaps the break before it"):
        AgentSpec(id="1", skills={"a": 1}, shift={"start": "08:00", "end": "17:00"},
                  breaks=[{"start": "12:00", "minutes": 60}, {"start": "12:30", "minutes": 15}])


# --- trunks, overflow, distributions --------------------------------------------------------


def test_e1_channels_scale_with_spans() -> None:
    assert TrunkGroup(name="pri", kind="e1", channels=60, spans=2).channels == 60
    with pytest.raises(ValidationError, match="at most 60 channels"):
        TrunkGroup(name="pri", kind="e1", channels=61, spans=2)


def test_only_digital_trunks_carry_dnis() -> None:
    kinds = {kind: TrunkGroup(name="t", kind=kind, channels=1).carries_dnis
             for kind in ("analog", "e1", "sip")}
    assert kinds == {"analog": False, "e1": True, "sip": True}


def test_queue_defaults_and_required_skill() -> None:
    queue = Queue(name="service")
    assert queue.required_skill == "service"
    assert queue.strategy == "longest_idle"
    assert queue.on_full == Overflow(action="busy") == queue.on_max_wait
    assert (queue.service_level.threshold, queue.service_level.target) == (20, 0.8)
    assert Queue(name="vip", skill="senior").required_skill == "senior"


@pytest.mark.parametrize(
    ("data", "mean"),
    [
        ({"dist": "exponential", "mean": 300}, 300),
        ({"dist": "fixed", "value": 7}, 7),
        ({"dist": "lognormal", "mean": 150, "sd": 90}, 150),
        ({"dist": "uniform", "low": 5, "high": 15}, 10),
        ({"dist": "empirical", "values": [1, 2, 6]}, 3),
    ],
)
def test_distribution_mean_value(data: dict[str, Any], mean: float) -> None:
    assert DISTRIBUTIONS.validate_python(data).mean_value == pytest.approx(mean)


def test_models_are_frozen() -> None:
    queue = Queue(name="service")
    with pytest.raises(ValidationError):
        queue.priority = 3  # type: ignore[misc]


# --- the site -------------------------------------------------------------------------------


def test_lookups_by_name(site_data) -> None:
    site = parse(site_data)
    assert site.queue("billing").skill == "money"
    assert site.trunk_group("lines").kind == "analog"
    with pytest.raises(KeyError, match="no queue named 'sales'"):
        site.queue("sales")
    with pytest.raises(KeyError):
        site.trunk_group("e1")


def test_on_full_cycle_of_three_is_named_once(site_data) -> None:
    site_data["queues"].append({"name": "extra"})
    site_data["agents"][0]["skills"]["extra"] = 1
    targets = {"service": "billing", "billing": "extra", "extra": "service"}
    for queue in site_data["queues"]:
        queue["on_full"] = {"action": "queue", "target": targets[queue["name"]]}
    with pytest.raises(ConfigError) as caught:
        parse(site_data)
    assert caught.value.problems == [(
        "queues[0] (service).on_full.target",
        "on_full overflows form a cycle service -> billing -> extra -> service: with all of "
        "them full a call would overflow round it forever",
    )]


def test_on_full_chain_without_cycle_and_max_wait_cycles_are_allowed(site_data) -> None:
    site_data["queues"][0]["on_full"] = {"action": "queue", "target": "billing"}
    # Waiting takes time, so queues may pass calls back and forth on max_wait.
    site_data["queues"][0].update(max_wait=60, on_max_wait={"action": "queue",
                                                             "target": "billing"})
    site_data["queues"][1].update(max_wait=60, on_max_wait={"action": "queue",
                                                             "target": "service"})
    site = parse(site_data)
    assert site.queue("service").on_full.target == "billing"


def test_numbers_written_without_quotes_stay_exact(site_data) -> None:
    text = yaml.safe_dump(site_data, sort_keys=False)
    text = text.replace("dnis: '8002'", "dnis: 08002").replace("id: '2001'", "id: 2001")
    site = parse_site(text.replace("id: '1001-1004'", "id: 1001-1004"))
    assert site.routes[1].dnis == "08002"
    assert site.expanded_agents()[-1].id == "2001"


def test_unquoted_clock_times_are_times_not_base_60_numbers(site_data) -> None:
    text = yaml.safe_dump(site_data, sort_keys=False).replace("end: '17:00'", "end: 17:00")
    assert "end: 17:00\n" in text
    assert parse_site(text).agents[0].shift.end == 17 * 3600


def test_a_daily_profile_is_quiet_after_it_ends_and_repeats_the_next_day() -> None:
    traffic = Traffic(interval_minutes=60, calls_per_hour=[10, 20, 30],
                      call_types=[{"name": "a", "trunk_group": "t",
                                   "talk_time": {"dist": "fixed", "value": 1}}])
    assert [traffic.rate_at(h * 3600 + 1) for h in range(5)] == [10, 20, 30, 0, 0]
    assert [traffic.rate_at(86400 + h * 3600 + 1) for h in range(4)] == [10, 20, 30, 0]
    constant = traffic.model_copy(update={"calls_per_hour": 42.0})
    assert constant.rate_at(99_999) == 42.0


def test_a_profile_longer_than_a_day_is_refused() -> None:
    text = yaml.safe_dump(
        {"site": "x", "trunk_groups": [{"name": "t", "kind": "sip", "channels": 1}],
         "queues": [{"name": "q"}], "agents": [{"id": "1", "skills": {"q": 1}}],
         "routes": [{"trunk_group": "t", "queue": "q"}],
         "traffic": {"interval_minutes": 60, "calls_per_hour": [1.0] * 25,
                     "call_types": [{"name": "a", "trunk_group": "t",
                                     "talk_time": {"dist": "fixed", "value": 1}}]}}
    )
    with pytest.raises(ConfigError) as error:
        parse_site(text)
    assert "at most 24 values" in str(error.value)


def test_direct_validation_reports_cross_field_problems_as_validation_error(site_data) -> None:
    site_data["routes"][0]["queue"] = "sales"
    with pytest.raises(ValidationError, match=r"routes\[0\].queue: no queue named 'sales'"):
        Site.model_validate(site_data)


def test_a_bare_no_is_the_autopause_policy_no() -> None:
    text = yaml.safe_dump(site_dict(queue={"autopause": "no"})).replace("'no'", "no")
    assert "autopause: no\n" in text
    assert parse_site(text, source="<test>").queue("service").autopause == "no"
