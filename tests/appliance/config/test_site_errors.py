"""A broken site file fails with one ConfigError that names the file and the offending field."""

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from appliance.config import ConfigError, load_site, parse_site

Edit = Callable[[dict[str, Any]], None]


def put(*loc: str | int, value: Any) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        node: Any = data
        for part in loc[:-1]:
            node = node[part]
        node[loc[-1]] = value

    return edit


def drop(*loc: str | int) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        node: Any = data
        for part in loc[:-1]:
            node = node[part]
        del node[loc[-1]]

    return edit


def both(*edits: Edit) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        for one in edits:
            one(data)

    return edit


# (edit, field path, words the message must contain)
CASES: dict[str, tuple[Edit, str, list[str]]] = {
    "wrong enum value": (
        put("queues", 0, "strategy", value="fifo"),
        "queues[0] (service).strategy",
        ["expected one of 'ring_all', 'linear'", "'skills'", "got 'fifo'"],
    ),
    "unknown pause policy": (
        put("queues", 0, "autopause", value="always"),
        "queues[0] (service).autopause",
        ["expected one of 'no', 'on_no_answer', 'on_any_failure'", "got 'always'"],
    ),
    "pause that ends at once": (
        put("queues", 0, "autopause_ready_after", value=0),
        "queues[0] (service).autopause_ready_after",
        ["expected a number > 0", "got 0"],
    ),
    "negative number": (
        put("queues", 1, "wrap_up", value=-5),
        "queues[1] (billing).wrap_up",
        ["expected a number >= 0", "got -5"],
    ),
    "zero where positive": (
        put("queues", 0, "ring_timeout", value=0),
        "queues[0] (service).ring_timeout",
        ["expected a number > 0", "got 0"],
    ),
    "boolean for a number": (
        put("trunk_groups", 0, "channels", value=True),
        "trunk_groups[0] (lines).channels",
        ["expected a number", "got True"],
    ),
    "text for a number": (
        put("queues", 0, "max_wait", value="three minutes"),
        "queues[0] (service).max_wait",
        ["expected a number", "got 'three minutes'"],
    ),
    "unknown field": (
        put("queues", 0, "stratgy", value="linear"),
        "queues[0] (service).stratgy",
        ["unknown field 'stratgy'", "did you mean 'strategy'?", "ring_timeout"],
    ),
    "unknown top-level field": (
        put("agent_behavior", value={}),
        "agent_behavior",
        ["did you mean 'agent_behaviour'?"],
    ),
    "unknown field in a distribution": (
        put("traffic", "call_types", 0, "talk_time", value={"dist": "exponential",
                                                             "mean": 100, "sd": 20}),
        "traffic.call_types[0] (analog).talk_time.sd",
        ["unknown field 'sd'", "dist, mean"],
    ),
    "missing required field": (
        drop("trunk_groups", 1, "kind"),
        "trunk_groups[1] (carrier).kind",
        ["required field is missing"],
    ),
    "missing top-level list": (
        drop("routes"),
        "routes",
        ["required field is missing"],
    ),
    "empty list": (
        put("queues", value=[]),
        "queues",
        ["at least 1"],
    ),
    "unknown queue in a route": (
        put("routes", 1, "queue", value="sales"),
        "routes[1].queue",
        ["no queue named 'sales' (queues: service, billing)"],
    ),
    "unknown trunk group in a route": (
        put("routes", 1, "trunk_group", value="e1"),
        "routes[1].trunk_group",
        ["no trunk group named 'e1' (trunk groups: lines, carrier)"],
    ),
    "dnis on an analog route": (
        put("routes", 0, "dnis", value="8001"),
        "routes[0].dnis",
        ["analog", "no called number", "got '8001'"],
    ),
    "dnis on an analog call type": (
        put("traffic", "call_types", 0, "dnis", value="8001"),
        "traffic.call_types[0] (analog).dnis",
        ["analog", "no called number"],
    ),
    "on_full cycle": (
        both(put("queues", 0, "on_full", value={"action": "queue", "target": "billing"}),
             put("queues", 1, "on_full", value={"action": "queue", "target": "service"})),
        "queues[0] (service).on_full.target",
        ["cycle service -> billing -> service"],
    ),
    "overflow to itself": (
        put("queues", 1, "on_full", value={"action": "queue", "target": "billing"}),
        "queues[1] (billing).on_full.target",
        ["another queue", "'billing'"],
    ),
    "overflow target missing": (
        put("queues", 0, "on_max_wait", value={"action": "queue"}),
        "queues[0] (service).on_max_wait.target",
        ["required when action is 'queue'"],
    ),
    "overflow target where none belongs": (
        put("queues", 0, "on_max_wait", value={"action": "busy", "target": "billing"}),
        "queues[0] (service).on_max_wait.target",
        ["only allowed when action is 'queue'", "'busy'"],
    ),
    "overflow to an unknown queue": (
        put("queues", 0, "on_max_wait", value={"action": "queue", "target": "sales"}),
        "queues[0] (service).on_max_wait.target",
        ["no queue named 'sales'"],
    ),
    "bad time 25:00": (
        put("agents", 0, "shift", "start", value="25:00"),
        "agents[0] (1001-1004).shift.start",
        ["'HH:MM'", "got '25:00'"],
    ),
    "bad time 8h": (
        put("traffic", "start", value="8h"),
        "traffic.start",
        ["'HH:MM'", "got '8h'"],
    ),
    "bare number for a time": (
        put("agents", 0, "shift", "end", value=17),
        "agents[0] (1001-1004).shift.end",
        ["'HH:MM'", "got 17"],
    ),
    "empty shift": (
        put("agents", 0, "shift", "end", value="08:00"),
        "agents[0] (1001-1004).shift.end",
        ["08:00 for both"],
    ),
    "break outside the shift": (
        put("agents", 0, "breaks", 0, "start", value="16:30"),
        "agents[0] (1001-1004).breaks[0].start",
        ["inside the shift 08:00-17:00"],
    ),
    "duplicate agent ids from overlapping ranges": (
        put("agents", 1, "id", value="1003-1006"),
        "agents[1] (1003-1006).id",
        ["'1003' and 1 more", "agents[0] ('1001-1004')"],
    ),
    "reversed range": (
        put("agents", 1, "id", value="2010-2001"),
        "agents[1] (2010-2001).id",
        ["end is not below its start"],
    ),
    "skill that no queue needs": (
        put("agents", 0, "skills", value={"service": 5, "sevrice": 2}),
        "agents[0] (1001-1004).skills.sevrice",
        ["no queue needs skill 'sevrice'", "money, service"],
    ),
    "skill level out of range": (
        put("agents", 0, "skills", value={"service": 11}),
        "agents[0] (1001-1004).skills.service",
        ["<= 10", "got 11"],
    ),
    "queue that no agent can serve": (
        put("agents", 1, "skills", value={"service": 3}),
        "queues[1] (billing).skill",
        ["no agent has skill 'money'"],
    ),
    "duplicate queue name": (
        put("queues", 1, "name", value="service"),
        "queues[1] (service).name",
        ["duplicate queue name 'service'", "queues[0]"],
    ),
    "name with a space": (
        put("trunk_groups", 1, "name", value="the carrier"),
        "trunk_groups[1] (the carrier).name",
        ["letters, digits", "got 'the carrier'"],
    ),
    "too many e1 channels": (
        put("trunk_groups", 1, value={"name": "carrier", "kind": "e1", "channels": 31}),
        "trunk_groups[1] (carrier).channels",
        ["at most 30 channels", "got 31"],
    ),
    "spans on a sip group": (
        put("trunk_groups", 1, "spans", value=2),
        "trunk_groups[1] (carrier).spans",
        ["e1 only"],
    ),
    "interval that does not divide a day": (
        put("traffic", "interval_minutes", value=7),
        "traffic.interval_minutes",
        ["divides a day", "got 7"],
    ),
    "negative rate in a profile": (
        put("traffic", "calls_per_hour", value=[10, 20, -3]),
        "traffic.calls_per_hour",
        ["got -3 at position 2"],
    ),
    "unknown distribution": (
        put("traffic", "call_types", 1, "talk_time", value={"dist": "gamma", "mean": 3}),
        "traffic.call_types[1] (bills).talk_time.dist",
        ["expected one of 'exponential'", "got 'gamma'"],
    ),
    "distribution without dist": (
        put("traffic", "call_types", 1, "patience", value={"mean": 60}),
        "traffic.call_types[1] (bills).patience.dist",
        ["required field is missing", "'lognormal'"],
    ),
    "uniform with high below low": (
        put("agent_behaviour", value={"answer_delay": {"dist": "uniform", "low": 5, "high": 2}}),
        "agent_behaviour.answer_delay.high",
        ["> low"],
    ),
    "probability above one": (
        put("traffic", "call_types", 0, "retrial", value={"after_busy": 1.5}),
        "traffic.call_types[0] (analog).retrial.after_busy",
        ["<= 1", "got 1.5"],
    ),
    "call type on an unknown trunk group": (
        put("traffic", "call_types", 0, "trunk_group", value="e1"),
        "traffic.call_types[0] (analog).trunk_group",
        ["no trunk group named 'e1'"],
    ),
    "call type that no route matches": (
        both(drop("routes", 2), put("traffic", "call_types", 1, "dnis", value="9999")),
        "traffic.call_types[1] (bills).dnis",
        ["no route on trunk group 'carrier' matches dnis '9999'"],
    ),
    "trunk group in traffic without any route": (
        put("routes", value=[{"trunk_group": "lines", "queue": "service"}]),
        "traffic.call_types[1] (bills).trunk_group",
        ["no route matches calls on trunk group 'carrier'"],
    ),
    "transfer to an unknown queue": (
        put("traffic", "call_types", 0, "transfer", value={"probability": 0.1, "target": "x"}),
        "traffic.call_types[0] (analog).transfer.target",
        ["no queue named 'x'"],
    ),
    "duplicate call type name": (
        put("traffic", "call_types", 1, "name", value="analog"),
        "traffic.call_types[1] (analog).name",
        ["duplicate call type name 'analog'"],
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_invalid_field_is_reported_at_its_path(case: str, site_data, write_site) -> None:
    edit, path, words = CASES[case]
    edit(site_data)
    file = write_site(site_data)
    with pytest.raises(ConfigError) as caught:
        load_site(file)
    error = caught.value
    assert error.source == str(file)
    assert str(error).startswith(f"{file}: invalid site configuration (")
    messages = [message for where, message in error.problems if where == path]
    assert messages, f"no problem at {path!r}; got {error.problems}"
    assert all(word in messages[0] for word in words), messages[0]
    assert f"\n  {path}: {messages[0]}" in str(error)


def test_every_field_problem_is_listed(site_data) -> None:
    put("queues", 0, "strategy", value="fifo")(site_data)
    put("queues", 1, "wrap_up", value=-1)(site_data)
    with pytest.raises(ConfigError) as caught:
        parse_site(yaml.safe_dump(site_data))
    assert [where for where, _ in caught.value.problems] == [
        "queues[0] (service).strategy", "queues[1] (billing).wrap_up"]
    assert str(caught.value).startswith("<string>: invalid site configuration (2 problems)\n")


def test_yaml_syntax_error_gives_line_and_column(write_site) -> None:
    file = write_site("site: x\nqueues:\n  - name: a\n   strategy: [linear\n")
    with pytest.raises(ConfigError) as caught:
        load_site(file)
    (where, message), = caught.value.problems
    assert where.startswith("line 4, column ")
    assert "YAML syntax error" in message
    assert str(caught.value).startswith(f"{file}: cannot parse YAML")


def test_duplicate_key_is_an_error_not_a_silent_override(write_site) -> None:
    file = write_site("site: x\nsite: y\n")
    with pytest.raises(ConfigError) as caught:
        load_site(file)
    (where, message), = caught.value.problems
    assert where == "line 2, column 1"
    assert "'site' twice" in message


@pytest.mark.parametrize("text", ["", "\n# only a comment\n", "---\n"])
def test_empty_file_is_an_error(text: str, write_site) -> None:
    file = write_site(text)
    with pytest.raises(ConfigError) as caught:
        load_site(file)
    assert str(file) in str(caught.value)
    assert "empty" in str(caught.value)


@pytest.mark.parametrize("text", ["- site: x\n", "just words\n", "42\n"])
def test_top_level_must_be_a_mapping(text: str, write_site) -> None:
    with pytest.raises(ConfigError) as caught:
        load_site(write_site(text))
    assert "expected a mapping of settings at the top level" in str(caught.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "gone.yaml"
    with pytest.raises(ConfigError) as caught:
        load_site(missing)
    assert caught.value.source == str(missing)
    assert str(caught.value) == f"{missing}: cannot read site configuration (1 problem)\n" \
                                "  no such file"


def test_a_directory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_site(tmp_path)
    assert caught.value.source == str(tmp_path)


def test_file_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    file = tmp_path / "gbk.yaml"
    file.write_bytes("site: 小型\n".encode("gbk"))
    with pytest.raises(ConfigError) as caught:
        load_site(file)
    assert "not UTF-8" in str(caught.value)


def test_config_error_survives_pickling() -> None:
    error = ConfigError("x.yaml", [("queues", "bad")])
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.source, copy.problems, str(copy)) == (error.source, error.problems, str(error))


@pytest.mark.parametrize(
    "text",
    [
        "site: " + "[" * 3000 + "]" * 3000,
        "site: " + "9" * 5000,
        "site: x\nqueues: *nowhere\n",
        "site: !!python/object/apply:os.getcwd []\n",
    ],
    ids=["nested deep", "huge number", "undefined alias", "python tag"],
)
def test_hostile_yaml_is_a_config_error(text: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_site(text)
    assert str(caught.value).startswith("<string>: cannot parse YAML (1 problem)")


def test_byte_order_mark_is_accepted(write_site, site_data) -> None:
    file = write_site(site_data)
    file.write_bytes(b"\xef\xbb\xbf" + file.read_bytes())
    assert load_site(file).site == "test"
