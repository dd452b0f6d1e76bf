"""`preflight`: what stops `ccbox serve` before a call."""

from __future__ import annotations

from pathlib import Path

import yaml

from appliance.config import parse_site
from appliance.live.preflight import preflight
from appliance.state import StateFolder
from tests.factories import site_dict


def _callback_site(outbound: bool):
    data = site_dict()
    data["trunk_groups"][0]["peers"] = ["127.0.0.1:5070"]
    if outbound:
        data["trunk_groups"][0]["outbound"] = {"gateway": "127.0.0.1:5070", "prefix": "9"}
    data["queues"][0]["callback"] = {"key": "1"}
    return parse_site(yaml.safe_dump(data), source="site.yaml")


def test_a_callback_without_a_route_out_is_a_problem_naming_the_trunk_group(
        tmp_path: Path) -> None:
    problems = preflight(_callback_site(False), StateFolder(tmp_path / "state")).problems
    assert [(path, "pstn" in message) for path, message in problems
            if "callback" in path] == [("queues.0.callback.trunk_group", True)]


def test_a_callback_through_a_route_out_is_no_problem(tmp_path: Path) -> None:
    problems = preflight(_callback_site(True), StateFolder(tmp_path / "state")).problems
    assert not [path for path, _ in problems if "callback" in path]
