"""A site's lookups by name: answers, failures logged once and turned into None, and the
start-up problems."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from appliance.config.ivr import Ivr
from appliance.lookups import SiteLookups
from appliance.state import StateFolder
from tests.appliance.lookups.test_sqlite import customers

FLOW = {"name": "main", "start": "bye",
        "nodes": [{"name": "bye", "kind": "hang_up", "prompts": "goodbye"}]}


def ivr(database: str) -> Ivr:
    return Ivr.model_validate({
        "lookups": {"crm": {"kind": "sqlite", "database": database, "table": "customers",
                            "key": "phone", "fields": ["name"]},
                    "web": {"kind": "http", "url": "http://127.0.0.1:9/c/${ANI}",
                            "timeout": 0.5, "fields": ["name"]}},
        "flows": [FLOW]})


def test_a_relative_database_is_under_the_state_folder(tmp_path: Path) -> None:
    customers(tmp_path / "crm.db")
    lookups = SiteLookups(ivr("crm.db"), StateFolder(tmp_path))
    assert lookups.problems() == []
    assert lookups.look_up("crm", "13800000000") == {"name": "Ada"}
    assert lookups.look_up("crm", "0") == {}


def test_a_failure_is_none_and_logged_once(tmp_path: Path,
                                            caplog: pytest.LogCaptureFixture) -> None:
    lookups = SiteLookups(ivr("crm.db"), StateFolder(tmp_path))
    with caplog.at_level(logging.WARNING, logger="appliance.lookups"):
        assert lookups.look_up("web", "1") is None
    assert len(caplog.records) == 1
    assert "lookup web of '1' failed" in caplog.records[0].getMessage()


def test_a_missing_database_is_a_problem_at_its_field(tmp_path: Path) -> None:
    [(where, message)] = SiteLookups(ivr("nowhere.db"), StateFolder(tmp_path)).problems()
    assert where == "ivr.lookups.crm"
    assert str(tmp_path / "nowhere.db") in message


def test_a_site_without_an_ivr_has_no_lookups(tmp_path: Path) -> None:
    assert SiteLookups(None, StateFolder(tmp_path)).look_up("crm", "1") is None
