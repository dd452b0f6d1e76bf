"""Callers sent to a mailbox in simulation: they leave a message with their call type's
probability and length (pressing "#"), or hang up after the greeting; both fidelities log
the same messages and the report counts them per mailbox."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from appliance.config import parse_site
from appliance.events import CallEnded, EndCause, VoicemailLeft
from appliance.kpi import compute_kpis
from sim.experiment import kpi_settings
from sim.sipfidelity import SipRunSpec, SipWorld
from sim.world import RunSpec, World
from tests.factories import site_dict

LENGTH = 20.0


def voicemail_site(leave: float = 0.7) -> Any:
    data = site_dict(agents=1, routes=[{"trunk_group": "pstn", "dnis": "999",
                                        "voicemail": "night"}],
                     traffic={"calls_per_hour": 120, "call_types": [{
                         "name": "after-hours", "trunk_group": "pstn", "dnis": "999",
                         "talk_time": {"dist": "fixed", "value": 60},
                         "voicemail": {"leave": leave,
                                       "length": {"dist": "fixed", "value": LENGTH}}}]})
    data["voicemail"] = {"mailboxes": [{"name": "night", "number": "800", "pin": "1234"}]}
    return parse_site(yaml.safe_dump(data), source="<test>")


def messages(records: list[Any]) -> tuple[int, list[VoicemailLeft]]:
    ended = [r for r in records if isinstance(r, CallEnded) and r.cause is EndCause.VOICEMAIL]
    return len(ended), [r for r in records if isinstance(r, VoicemailLeft) and r.kept]


def test_callers_leave_messages_with_the_call_types_probability_and_length() -> None:
    site = voicemail_site()
    world = World(site, RunSpec(1.0, 3))
    records = world.run().records
    calls, left = messages(records)
    assert calls > 80
    assert 0.55 <= len(left) / calls <= 0.85
    assert {round(m.seconds, 6) for m in left} == {LENGTH}
    assert all(m.mailbox == "night" and m.caller for m in left)
    report = compute_kpis(records, kpi_settings(site, 0.0, world.length))
    assert report.voicemail is not None
    night = report.voicemail.mailboxes["night"]
    assert (night.messages, night.mean_seconds) == (len(left), pytest.approx(LENGTH))
    assert report.to_dict()["voicemail"]["night"]["messages"] == len(left)


def test_callers_who_leave_none_hang_up_after_the_greeting() -> None:
    records = World(voicemail_site(leave=0.0), RunSpec(0.5, 3)).run().records
    calls, left = messages(records)
    assert calls > 0 and left == []
    assert all(not r.kept for r in records if isinstance(r, VoicemailLeft))


def test_call_and_sip_fidelity_log_the_same_messages() -> None:
    site = voicemail_site()
    call = World(site, RunSpec(0.5, 5)).run().records
    sip = SipWorld(site, SipRunSpec(0.5, 5)).run().records
    (call_calls, call_left), (sip_calls, sip_left) = messages(call), messages(sip)
    assert call_calls == sip_calls > 20
    assert len(call_left) == len(sip_left)
    assert [round(m.seconds, 1) for m in sip_left] == [LENGTH] * len(sip_left)
