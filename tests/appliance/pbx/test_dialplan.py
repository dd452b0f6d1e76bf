"""Which route out a dialled number takes and whether a phone may dial it."""

import pytest

from appliance.config.live import DialPlan
from appliance.config.schema import TrunkGroup
from appliance.pbx.dialplan import may_dial, number_class, route_out

PLAN = DialPlan()


def group(name: str, **outbound) -> TrunkGroup:
    return TrunkGroup(name=name, kind="sip", channels=2,
                      outbound={"gateway": "192.0.2.9:5060", **outbound})


def test_the_longest_prefix_wins_and_strip_decides_what_is_sent() -> None:
    groups = [group("local", prefix="9"), group("mobile", prefix="80", strip=False),
              TrunkGroup(name="in", kind="e1", channels=30)]
    assert route_out("90301234", groups)[1:] == ("0301234", "0301234")
    mobile = route_out("80171555", groups)
    assert (mobile.group.name, mobile.number, mobile.sent) == ("mobile", "171555", "80171555")
    assert route_out("9", groups) is None  # nothing behind the prefix
    assert route_out("7123", groups) is None


@pytest.mark.parametrize(("number", "kind"), [
    ("112", "emergency"), ("0044123", "international"), ("+44123", "international"),
    ("0301234", "national"), ("5551234", "local"),
])
def test_numbers_are_classed_by_the_dial_plan(number, kind) -> None:
    assert number_class(number, PLAN) == kind


@pytest.mark.parametrize(("permission", "allowed"), [
    ("internal", {"emergency"}),
    ("local", {"emergency", "local"}),
    ("national", {"emergency", "local", "national"}),
    ("international", {"emergency", "local", "national", "international"}),
])
def test_each_permission_allows_the_classes_before_it(permission, allowed) -> None:
    numbers = {"emergency": "911", "local": "5551234", "national": "0301234",
               "international": "0044123"}
    assert {kind for kind, number in numbers.items()
            if may_dial(permission, number, PLAN)} == allowed
