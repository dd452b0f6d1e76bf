"""Voicemail through the B2BUA on the simulated network: a caller routed to a mailbox is
answered, hears the greeting and the beep, and what they send is recorded until "#" or a
hang-up; the message is logged (`VoicemailLeft`) and a phone subscribed to the mailbox's
message-summary hears of it in a NOTIFY. A message of silence is discarded."""

from __future__ import annotations

from random import Random
from typing import Any

import numpy as np

from appliance.clock import Deadlines
from appliance.events import CallEnded, EndCause, VoicemailLeft
from appliance.media.g711 import ulaw_encode
from appliance.media.plane import MediaPlane
from appliance.media.prompts import BEEP
from appliance.pbx.b2bua.mwi import summary
from appliance.records.cdr import call_details
from sim.sipua import UserAgent
from tests.appliance.pbx.b2bua.harness import APPLIANCE, MEDIA_PORTS, MUSIC, Lab, Sounds, live_site
from tests.appliance.pbx.b2bua.test_ivr import WITH_EVENTS
from tests.appliance.pbx.b2bua.test_media import CALLER_MEDIA, MemorySink, rtp

TONE = ulaw_encode((np.sin(np.arange(160) * 2 * np.pi * 400 / 8000) * 8000).astype(np.int16))
SILENCE = b"\xff" * 160  # mu-law zero


class MessageDesk:
    def __init__(self) -> None:
        self.sinks: dict[str, MemorySink] = {}
        self.done_with: list[tuple[str, bool, float]] = []

    def open(self, call: int, mailbox: str, caller: str, now: float):
        name = f"voicemail/{mailbox}/call{call}-{caller}.wav"
        self.sinks[name] = MemorySink()
        return self.sinks[name], name

    def done(self, name: str, kept: bool, seconds: float) -> None:
        self.done_with.append((name, kept, seconds))


def voicemail_lab(**voicemail: Any) -> tuple[Lab, MessageDesk]:
    desk = MessageDesk()

    def plane(deadlines: Deadlines) -> MediaPlane:
        return MediaPlane(APPLIANCE[0], MEDIA_PORTS, deadlines, Random(7), prompts=Sounds(),
                          music=MUSIC, messages=desk)

    boxes = [{"name": "night", "number": "800", "pin": "1234", "agent": "a1"},
             {"name": "spare", "number": "801", "pin": "4321"}]
    site = live_site(agents=1, routes=[{"trunk_group": "pstn", "dnis": "555",
                                        "voicemail": "night"}],
                     more={"voicemail": {"mailboxes": boxes, **voicemail}})
    lab = Lab(site, media_for=plane, prompt_seconds=lambda names, language: 0.2 * len(names))
    lab.register_all()
    return lab, desk


def speak(lab: Lab, seconds: float, payload: bytes, first: int = 1) -> None:
    for n in range(first, first + round(seconds * 50)):
        lab.box.receive_media(30000, rtp(n, payload=payload), CALLER_MEDIA, lab.net.now)
        lab.box.media_done(lab.net.now)
        lab.run(0.02)


def test_a_message_is_recorded_logged_and_notified_to_the_subscribed_phone() -> None:
    lab, desk = voicemail_lab()
    phone = lab.phones["a1"]
    lab.do(phone, "subscribe", "800")
    lab.run(0.5)
    assert [e.kind for e in phone.take_events()] == ["subscribed", "notified"]
    assert phone.notifies[-1].body == summary(0, 0)
    assert phone.notifies[-1].headers.get("Event") == "message-summary"
    call = lab.do(lab.gateway, "call", "555", WITH_EVENTS)
    lab.run(0.1)
    (box_call,) = lab.box.legs.callers
    assert lab.box.media.playing(box_call) in ("voicemail", BEEP)
    lab.run(0.6)  # greeting 0.2 s, beep 0.5 s
    speak(lab, 2.0, TONE)
    lab.do(lab.gateway, "press", call, "#")
    lab.run(0.5)
    assert "ended_by_peer" in [e.kind for e in lab.gateway.take_events()]
    (left,) = [r for r in lab.log if isinstance(r, VoicemailLeft)]
    assert (left.mailbox, left.caller, left.file) == ("night", "gw", desk.done_with[0][0])
    assert 1.9 <= left.seconds <= 2.5
    assert desk.done_with[0][1] is True
    recorded = np.concatenate(desk.sinks[left.file].chunks)
    assert np.abs(recorded).max() > 4000  # the caller's tone, not silence
    assert [r.cause for r in lab.log if isinstance(r, CallEnded)] == [EndCause.VOICEMAIL]
    (detail,) = call_details(lab.log)
    assert (detail.cause, detail.voicemail_box, detail.voicemail_file) == (
        EndCause.VOICEMAIL, "night", left.file)
    assert phone.notifies[-1].body == summary(1, 0)
    assert b"Messages-Waiting: yes" in phone.notifies[-1].body


def test_a_silent_message_is_discarded_and_changes_no_count() -> None:
    lab, desk = voicemail_lab()
    lab.do(lab.gateway, "call", "555", WITH_EVENTS)
    lab.run(0.8)
    speak(lab, 2.0, SILENCE)
    (call,) = lab.gateway.calls
    lab.do(lab.gateway, "hangup", call)
    lab.run(0.5)
    (left,) = [r for r in lab.log if isinstance(r, VoicemailLeft)]
    assert left.file == "" and desk.done_with[0][1] is False
    assert lab.box.waiting.counts.get("night", (0, 0)) == (0, 0)


def test_a_subscription_to_an_unknown_box_or_event_is_refused() -> None:
    lab, _ = voicemail_lab()
    phone = lab.phones["a1"]
    lab.do(phone, "subscribe", "999")
    lab.do(phone, "subscribe", "800", "presence")
    lab.run(0.5)
    assert sorted(e.status for e in phone.take_events()) == [404, 489]


def test_expires_zero_ends_the_subscription_with_a_last_notify() -> None:
    lab, _ = voicemail_lab()
    phone = lab.phones["a1"]
    lab.do(phone, "subscribe", "800", "message-summary", 0)
    lab.run(0.5)
    assert phone.notifies[-1].headers.get("Subscription-State").startswith("terminated")
    assert not lab.box.waiting.subscriptions


def subscribed_lab() -> tuple[Lab, UserAgent]:
    lab, _ = voicemail_lab()
    phone = lab.phones["a1"]
    lab.do(phone, "subscribe", "800")
    lab.run(0.5)
    assert [e.kind for e in phone.take_events()] == ["subscribed", "notified"]
    return lab, phone


def new_message(lab: Lab) -> None:
    lab.box.waiting.changed("night", (1, 0), lab.net.now)
    lab.net.poke(APPLIANCE)


def test_a_notify_answered_481_by_a_phone_that_forgot_the_subscription_removes_it() -> None:
    lab, phone = subscribed_lab()
    phone._subscriptions.clear()  # restarted: it answers 481
    new_message(lab)
    lab.run(1.0)
    assert not lab.box.waiting.subscriptions
    lab.net.trace = []
    lab.box.waiting.changed("night", (2, 0), lab.net.now)
    lab.net.poke(APPLIANCE)
    lab.run(1.0)
    assert not [data for *_, data in lab.net.trace if data.startswith(b"NOTIFY")]


def test_a_notify_never_answered_removes_the_subscription_after_timer_f() -> None:
    lab, phone = subscribed_lab()
    phone.ignore_all = True  # the phone is gone
    new_message(lab)
    lab.run(31.0)
    assert lab.box.waiting.subscriptions
    lab.run(2.0)  # 64 T1 after the NOTIFY
    assert not lab.box.waiting.subscriptions


def test_a_queued_caller_on_early_media_overflowing_to_voicemail_is_answered_then() -> None:
    desk = MessageDesk()

    def plane(deadlines: Deadlines) -> MediaPlane:
        return MediaPlane(APPLIANCE[0], MEDIA_PORTS, deadlines, Random(7), prompts=Sounds(),
                          music=MUSIC, messages=desk)

    site = live_site(agents=1, queue={"max_wait": 5, "on_max_wait": {"action": "voicemail"}},
                     more={"media": {"queued_callers": "early_media"},
                           "voicemail": {"mailboxes": [{"name": "service-box", "number": "801",
                                                        "pin": "1234", "queue": "service"}]}})
    lab = Lab(site, media_for=plane, prompt_seconds=lambda names, language: 0.2 * len(names))
    lab.register_all()
    lab.do(lab.phones["a1"], "register", 0)  # logged out: the caller waits
    lab.run(1)
    lab.do(lab.gateway, "call", "100", WITH_EVENTS)
    lab.run(1)
    assert "answered" not in [e.kind for e in lab.gateway.take_events()]
    lab.run(5)
    assert "answered" in [e.kind for e in lab.gateway.take_events()]
    speak(lab, 1.0, TONE)
    (call,) = lab.gateway.calls
    lab.do(lab.gateway, "hangup", call)
    lab.run(0.5)
    (left,) = [r for r in lab.log if isinstance(r, VoicemailLeft)]
    assert left.mailbox == "service-box" and left.file


def test_a_phone_may_subscribe_to_its_own_box_only_unless_the_site_says_any() -> None:
    lab, _ = voicemail_lab()
    phone = lab.phones["a1"]
    lab.do(phone, "subscribe", "801")
    lab.run(0.5)
    assert [e.status for e in phone.take_events()] == [403]
    lab, _ = voicemail_lab(subscribe_any=True)
    lab.do(lab.phones["a1"], "subscribe", "801")
    lab.run(0.5)
    assert [e.kind for e in lab.phones["a1"].take_events()] == ["subscribed", "notified"]


def test_a_phone_subscribing_to_its_own_address_watches_the_box_its_agent_owns() -> None:
    lab, _ = voicemail_lab()
    phone = lab.phones["a1"]
    lab.do(phone, "subscribe", "a1")
    lab.run(0.5)
    assert [e.kind for e in phone.take_events()] == ["subscribed", "notified"]
    assert [s.mailbox for s in lab.box.waiting.subscriptions.values()] == ["night"]
    lab.do(phone, "subscribe", "a2")  # another phone's address is no box of its own
    lab.run(0.5)
    assert [e.status for e in phone.take_events()] == [404]


def test_a_subscribe_without_credentials_is_challenged() -> None:
    lab, _ = voicemail_lab()
    phone = lab.phones["a1"]
    phone.password = ""  # answers no challenge
    lab.do(phone, "subscribe", "800")
    lab.run(0.5)
    assert [e.status for e in phone.take_events()] == [401]
