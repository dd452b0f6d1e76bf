"""Call control with an IVR exit to a conference room: the caller keys in the room's PIN if
the exit asks, then leaves call control (cause CONFERENCE) with a `JoinRoom` for the driver,
its trunk channel still held for the room to give back."""

from __future__ import annotations

from datetime import datetime
from random import Random
from typing import Any

import pytest
import yaml

from appliance.config import parse_site
from appliance.config.loader import ConfigError
from appliance.eventlog import EventLog
from appliance.events import CallEnded, EndCause, IvrExited, IvrExitKind
from appliance.pbx.actions import HangUpCaller, JoinRoom
from appliance.pbx.callcontrol import CallControl
from appliance.records import call_details
from appliance.wallclock import from_origin
from tests.factories import site_dict


def room_site(ask_pin: bool = True, pin: str | None = "4321", room: str = "800") -> Any:
    data = site_dict(agents=1)
    data["routes"] = [{"trunk_group": "pstn", "flow": "main"}]
    data["sip"] = {"conferences": [{"number": "800", "pin": pin}]}
    data["ivr"] = {"flows": [{"name": "main", "start": "room", "nodes": [
        {"name": "room", "kind": "to_conference", "room": room, "ask_pin": ask_pin}]}]}
    return parse_site(yaml.safe_dump(data), source="site.yaml")


def offered(**kwargs: Any) -> tuple[CallControl, EventLog, int]:
    log = EventLog()
    cc = CallControl(room_site(**kwargs), log, Random(1),
                     wallclock=from_origin(datetime(2026, 12, 7, 10, 0)))
    call = cc.offer_call(1.0, "pstn", "13800000000", "100")
    return cc, log, call


def ended(log: EventLog) -> EndCause:
    [end] = [r for r in log if isinstance(r, CallEnded)]
    return end.cause


def test_without_a_pin_asked_the_caller_joins_at_once_holding_the_trunk() -> None:
    cc, log, call = offered(ask_pin=False)
    assert cc.take_actions()[-1] == JoinRoom(call, "800", "pstn", "13800000000")
    assert ended(log) is EndCause.CONFERENCE and call not in cc.calls
    [exited] = [r for r in log if isinstance(r, IvrExited)]
    assert (exited.kind, exited.target) == (IvrExitKind.CONFERENCE, "800")
    assert cc.trunks.busy["pstn"] == 1  # the room's to give back
    cc.release_trunk("pstn")
    assert cc.trunks.busy["pstn"] == 0


def test_a_room_without_a_pin_asks_for_none() -> None:
    cc, _, _ = offered(pin=None)
    assert isinstance(cc.take_actions()[-1], JoinRoom)


@pytest.mark.parametrize("keys", ["4321", "12#4321", "9#8#4321#"])
def test_the_right_pin_within_three_tries_lets_the_caller_in(keys: str) -> None:
    cc, log, call = offered()
    assert not [a for a in cc.take_actions() if isinstance(a, JoinRoom)]
    for key in keys:
        cc.caller_digit(2.0, call, key)
    assert cc.take_actions() == [JoinRoom(call, "800", "pstn", "13800000000")]
    assert ended(log) is EndCause.CONFERENCE


def test_three_wrong_pins_and_the_ivr_hangs_up() -> None:
    cc, log, call = offered()
    for key in "1#2#3#":
        cc.caller_digit(2.0, call, key)
    assert cc.take_actions()[-1] == HangUpCaller(call, EndCause.IVR_HANG_UP)
    assert ended(log) is EndCause.IVR_HANG_UP and cc.trunks.busy["pstn"] == 0


def test_a_caller_who_hangs_up_at_the_door_abandons_in_the_ivr() -> None:
    cc, log, call = offered()
    cc.caller_digit(2.0, call, "4")
    assert cc.caller_hangup(3.0, call)
    assert ended(log) is EndCause.IVR_ABANDONED and cc.trunks.busy["pstn"] == 0


def test_the_records_do_not_count_a_call_sent_into_a_room_as_abandoned() -> None:
    _, log, _ = offered(ask_pin=False)
    [record] = call_details(list(log))
    assert (record.cause, record.abandoned) == (EndCause.CONFERENCE, False)


def test_a_flow_naming_no_room_of_the_site_is_refused_naming_file_and_field() -> None:
    with pytest.raises(ConfigError, match=r"site\.yaml(.|\n)*ivr\.flows\[0\] \(main\)\.nodes\[0\] "
                                          r"\(room\)\.room: no conference room numbered "
                                          r"'801' in sip\.conferences \(rooms: 800\)"):
        room_site(room="801")
