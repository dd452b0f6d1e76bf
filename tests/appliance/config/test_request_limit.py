"""`sip.request_limit`: the per-source limit's settings and their checks."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from appliance.config.live import RequestLimit, Sip


def test_on_by_default_with_room_for_a_phone_booting() -> None:
    limit = Sip().request_limit
    assert limit.enabled and limit.rate == 100 and limit.burst == 400 and limit.exempt == []


@pytest.mark.parametrize("changes", [{"rate": 0}, {"rate": -1}, {"burst": 0},
                                     {"drop_after": 0}, {"max_tracked": 0},
                                     {"exempt": ["sbc.example.com"]}, {"exempt": ["10.0.0.1:0"]},
                                     {"burts": 10}])
def test_wrong_settings_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        RequestLimit(**changes)  # type: ignore[arg-type]


def test_exempt_takes_addresses_ports_and_networks() -> None:
    exempt = ["192.0.2.7", "192.0.2.8:5062", "10.1.0.0/24", "[2001:db8::1]:5060"]
    assert RequestLimit(exempt=exempt).exempt == exempt
