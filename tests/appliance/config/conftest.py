"""A small valid site, as plain data, for tests to break one field at a time."""

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

BASE_SITE: dict[str, Any] = {
    "site": "test",
    "trunk_groups": [
        {"name": "lines", "kind": "analog", "channels": 4},
        {"name": "carrier", "kind": "sip", "channels": 8},
    ],
    "queues": [
        {"name": "service"},
        {"name": "billing", "skill": "money"},
    ],
    "agents": [
        {
            "id": "1001-1004",
            "skills": {"service": 5},
            "shift": {"start": "08:00", "end": "17:00"},
            "breaks": [{"start": "12:00", "minutes": 60, "reason": "lunch"}],
        },
        {"id": "2001", "name": "Li Wei", "skills": {"money": 7, "service": 3}},
    ],
    "routes": [
        {"trunk_group": "lines", "queue": "service"},
        {"trunk_group": "carrier", "dnis": "8002", "queue": "billing"},
        {"trunk_group": "carrier", "queue": "service"},
    ],
    "traffic": {
        "calls_per_hour": 60,
        "call_types": [
            {"name": "analog", "trunk_group": "lines",
             "talk_time": {"dist": "exponential", "mean": 120}},
            {"name": "bills", "trunk_group": "carrier", "dnis": "8002",
             "talk_time": {"dist": "fixed", "value": 90}},
        ],
    },
}


@pytest.fixture(scope="session")
def base_site() -> dict[str, Any]:
    """BASE_SITE itself, for tests that copy it (hypothesis tests cannot take function-scoped
    fixtures). Do not change it."""
    return BASE_SITE


@pytest.fixture
def site_data() -> dict[str, Any]:
    """A fresh copy of BASE_SITE to edit."""
    return copy.deepcopy(BASE_SITE)


@pytest.fixture
def write_site(tmp_path: Path) -> Callable[[dict[str, Any] | str], Path]:
    """Writes site data (or raw text) to a YAML file and returns its path."""

    def write(content: dict[str, Any] | str) -> Path:
        path = tmp_path / "sites" / "broken.yaml"
        path.parent.mkdir(exist_ok=True)
        text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
        path.write_text(text, encoding="utf-8")
        return path

    return write
