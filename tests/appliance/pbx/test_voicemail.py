"""Leaving a message in call control: routes, IVR exits and queue overflows that say voicemail
answer the caller, play the mailbox's greeting and a beep, record until "#", a hang-up or the
box's maximum length, and end the call VOICEMAIL; mailboxes are checked at load."""

from __future__ import annotations

import copy
import re
from random import Random
from typing import Any

import pytest
import yaml

from appliance.config import ConfigError, parse_site
from appliance.eventlog import EventLog
from appliance.events import CallEnded, EndCause
from appliance.media.prompts import BEEP
from appliance.pbx.actions import (
    AnswerCaller,
    HangUpCaller,
    PlayPrompts,
    RecordMessage,
    StopMessage,
)
from appliance.pbx.callcontrol import CallControl
from tests.factories import site_dict

BOXES = [{"name": "night", "number": "800", "pin": "1234", "greeting": "closed",
          "max_seconds": 30},
         {"name": "service-box", "number": "801", "pin": "4321", "queue": "service"}]


def site_data(**changes: Any) -> dict[str, Any]:
    data = site_dict(agents=1, trunks=2,
                     routes=[{"trunk_group": "pstn", "dnis": "999", "voicemail": "night"}],
                     **changes)
    data["voicemail"] = {"mailboxes": copy.deepcopy(BOXES)}
    return data


def control(data: dict[str, Any] | None = None) -> tuple[CallControl, EventLog]:
    log = EventLog()
    site = parse_site(yaml.safe_dump(data or site_data()), source="<test>")
    return CallControl(site, log, Random(1),
                       prompt_seconds=lambda names, language: 2.0 * len(names)), log


def test_a_route_to_a_mailbox_answers_greets_beeps_then_records() -> None:
    cc, _ = control()
    call = cc.offer_call(1.0, "pstn", "13800000000", "999")
    assert cc.take_actions() == [AnswerCaller(call),
                                 PlayPrompts(call, ("closed", BEEP), "en", False)]
    cc.on_deadline(3.5)  # the greeting (2 s) and the beep (0.5 s)
    assert cc.take_actions() == [RecordMessage(call, "night", 30)]


def test_hash_ends_the_message_and_the_call_ends_voicemail() -> None:
    cc, log = control()
    call = cc.offer_call(1.0, "pstn", "13800000000", "999")
    cc.on_deadline(3.5)
    cc.take_actions()
    cc.caller_digit(10.0, call, "#")
    assert cc.take_actions() == [StopMessage(call, "night"),
                                 HangUpCaller(call, EndCause.VOICEMAIL)]
    assert log.records[-1] == CallEnded(10.0, call, EndCause.VOICEMAIL)
    assert not cc.calls


def test_the_maximum_length_ends_the_message() -> None:
    cc, _ = control()
    call = cc.offer_call(1.0, "pstn", "13800000000", "999")
    cc.on_deadline(3.5)
    cc.take_actions()
    cc.on_deadline(33.5)
    assert cc.take_actions() == [StopMessage(call, "night"),
                                 HangUpCaller(call, EndCause.VOICEMAIL)]


def test_a_caller_who_hangs_up_while_recorded_leaves_the_message() -> None:
    cc, _ = control()
    call = cc.offer_call(1.0, "pstn", "13800000000", "999")
    cc.on_deadline(3.5)
    cc.take_actions()
    assert cc.caller_hangup(12.0, call)
    assert cc.take_actions() == [StopMessage(call, "night")]
    assert cc.next_deadline() is None


def test_a_caller_who_hangs_up_during_the_greeting_leaves_nothing() -> None:
    cc, log = control()
    call = cc.offer_call(1.0, "pstn", "13800000000", "999")
    cc.take_actions()
    cc.caller_digit(1.5, call, "#")  # keys during the greeting do nothing
    assert cc.take_actions() == []
    cc.caller_hangup(2.0, call)
    assert cc.take_actions() == []
    assert log.records[-1] == CallEnded(2.0, call, EndCause.VOICEMAIL)


def test_a_queue_overflowing_to_voicemail_uses_its_own_box() -> None:
    cc, _ = control(site_data(queue={"max_wait": 10, "on_max_wait": {"action": "voicemail"}}))
    call = cc.offer_call(1.0, "pstn", "13800000000", "100")
    cc.take_actions()
    cc.on_deadline(11.0)
    assert cc.take_actions()[-2:] == [AnswerCaller(call),
                                      PlayPrompts(call, ("voicemail", BEEP), "en", False)]
    cc.on_deadline(13.5)
    assert cc.take_actions() == [RecordMessage(call, "service-box", 120)]


def test_an_overflow_to_voicemail_without_a_box_ends_the_call_as_before() -> None:
    data = site_data(queue={"max_wait": 10, "on_max_wait": {"action": "voicemail"}})
    data["voicemail"]["mailboxes"] = BOXES[:1]
    cc, _ = control(data)
    call = cc.offer_call(1.0, "pstn", "13800000000", "100")
    cc.take_actions()
    cc.on_deadline(11.0)
    assert cc.take_actions()[-1] == HangUpCaller(call, EndCause.VOICEMAIL)


@pytest.mark.parametrize(("change", "where", "says"), [
    (lambda d: d["routes"][0].update(voicemail="nobody"), "routes[0].voicemail",
     "no mailbox named 'nobody'"),
    (lambda d: d["voicemail"]["mailboxes"][0].update(pin="12"), "voicemail.mailboxes[0].pin",
     "[0-9]{4,8}"),
    (lambda d: d["voicemail"]["mailboxes"][1].update(number="800"),
     "voicemail.mailboxes[0].number", "got '800' twice"),
    (lambda d: d["voicemail"]["mailboxes"][1].update(queue="sales"),
     "voicemail.mailboxes[1].queue", "no queue named 'sales'"),
    (lambda d: d["voicemail"]["mailboxes"][0].update(email="not-an-address"),
     "voicemail.mailboxes[0].email", "pattern"),
    (lambda d: d["voicemail"]["mailboxes"][0].update(max_seconds=1),
     "voicemail.mailboxes[0].max_seconds", "expected a number >= 5"),
])
def test_invalid_mailboxes_name_the_field_and_what_was_expected(change, where, says) -> None:
    data = site_data()
    change(data)
    with pytest.raises(ConfigError) as raised:
        parse_site(yaml.safe_dump(data), source="site.yaml")
    text = re.sub(r" \([^)]*\)", "", str(raised.value))  # without the items' names
    assert "site.yaml" in text and where in text and says in text


@pytest.mark.parametrize(("codes", "wrong"), [
    ({"own_box_code": "*98"}, "voicemail.any_box_code"),
    ({"own_box_code": "*41"}, "voicemail.own_box_code"),
])
def test_retrieval_codes_differ_from_each_other_and_the_feature_codes(
        codes: dict[str, str], wrong: str) -> None:
    data = site_data()
    data["voicemail"].update(codes)
    with pytest.raises(ConfigError, match=re.escape(wrong)):
        parse_site(yaml.safe_dump(data), source="<test>")
