"""Voicemail retrieval through the B2BUA: a phone dials *97, keys its PIN, hears the count
and its messages played from the store, deletes or saves them, and the box's subscribers are
told the new counts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from appliance.events import DigitReceived
from appliance.pbx.b2bua.mwi import summary
from tests.appliance.pbx.b2bua.test_ivr import WITH_EVENTS
from tests.appliance.pbx.b2bua.test_voicemail import voicemail_lab

TONE = (np.sin(np.arange(8000) * 2 * np.pi * 400 / 8000) * 8000).astype(np.int16)  # 1 s


@dataclass
class Stored:
    file: str
    status: str
    seconds: float = 1.0


class Store:
    def __init__(self, *statuses: str) -> None:
        self.held = [Stored(f"m{n}.wav", status) for n, status in enumerate(statuses)]
        self.changes: list[tuple[str, str]] = []

    def messages(self, mailbox: str) -> list[Stored]:
        return sorted(self.held, key=lambda m: m.status != "new") if mailbox == "night" else []

    def samples(self, file: str) -> np.ndarray:
        return TONE

    def set_status(self, file: str, status: str) -> None:
        self.changes.append((file, status))
        found = next(m for m in self.held if m.file == file)
        if status == "deleted":
            self.held.remove(found)
        else:
            found.status = status


def retrieving(*statuses: str, code: str = "*97", **voicemail):
    lab, _ = voicemail_lab(**voicemail)
    store = lab.box.retrieval.store = Store(*statuses)
    phone = lab.phones["a1"]
    lab.do(phone, "subscribe", "800")
    call = lab.do(phone, "call", code, WITH_EVENTS)
    lab.run(0.1)
    assert "answered" in [e.kind for e in phone.take_events()]
    (box_call,) = [c for c in lab.box.legs.callers if c < 0]
    return lab, store, phone, call, box_call


def keys(lab, phone, call: int, pressed: str) -> None:
    for digit in pressed:
        lab.do(phone, "press", call, digit)
        lab.run(0.1)


def test_own_box_pin_count_message_then_delete_updates_the_counts() -> None:
    lab, store, phone, call, box_call = retrieving("new", "old")
    assert lab.box.media.playing(box_call) == "vm-enter-pin"
    keys(lab, phone, call, "1234#")
    lab.run(0.6)  # "you have", "one", "new messages": 0.2 s each
    assert lab.box.media.playing(box_call) == "m0.wav"
    lab.run(1.0)
    assert lab.box.media.playing(box_call) == "vm-menu"
    keys(lab, phone, call, "7")
    assert store.changes == [("m0.wav", "deleted")]
    assert phone.notifies[-1].body == summary(0, 1)
    keys(lab, phone, call, "9")
    assert store.changes[-1] == ("m1.wav", "old")
    lab.run(2.0)  # no more messages, goodbye, BYE
    assert "ended_by_peer" in [e.kind for e in phone.take_events()]
    assert not lab.box.retrieval.calls and box_call not in lab.box.media.calls
    assert not [r for r in lab.log if isinstance(r, DigitReceived)]  # the PIN is not logged


def test_three_wrong_pins_end_the_call() -> None:
    lab, store, phone, call, _ = retrieving("new")
    keys(lab, phone, call, "1#2#3#")
    lab.run(2.0)
    assert "ended_by_peer" in [e.kind for e in phone.take_events()]
    assert store.changes == []


def test_the_any_box_code_asks_for_the_number_first() -> None:
    lab, _, phone, call, box_call = retrieving("new", code="*98")
    assert lab.box.media.playing(box_call) == "vm-enter-box"
    keys(lab, phone, call, "800#")
    assert lab.box.media.playing(box_call) == "vm-enter-pin"


def test_a_call_past_the_retrieval_limit_is_told_and_ended() -> None:
    lab, store, phone, call, box_call = retrieving("new", retrieval_limit=30)
    up = lab.net.now
    keys(lab, phone, call, "1234#")
    while lab.net.now < up + 27.0:  # busy in the menu, never silent for long
        keys(lab, phone, call, "1")
        lab.run(2.0)
    lab.run(up + 30.05 - lab.net.now)
    assert lab.box.media.playing(box_call) == "vm-time-up"
    lab.run(1.0)  # "time is up", goodbye, BYE
    assert "ended_by_peer" in [e.kind for e in phone.take_events()]
    assert not lab.box.retrieval.calls and box_call not in lab.box.media.calls
    assert store.changes == []


def test_a_retrieval_ended_early_leaves_no_limit_behind() -> None:
    lab, _, phone, call, _ = retrieving("new", retrieval_limit=30)
    lab.do(phone, "hangup", call)
    lab.run(40.0)
    assert not lab.box.retrieval.calls and not phone.take_events()[1:]


def test_hanging_up_ends_the_retrieval() -> None:
    lab, _, phone, call, box_call = retrieving("new")
    lab.do(phone, "hangup", call)
    lab.run(0.5)
    assert not lab.box.retrieval.calls and box_call not in lab.box.media.calls


def test_a_phone_whose_agent_has_no_box_gets_404_for_its_own_box() -> None:
    lab, _ = voicemail_lab()
    lab.box.retrieval.store = Store()
    lab.box.site.voicemail.mailboxes[0].__dict__["agent"] = None  # a box of no one's
    phone = lab.phones["a1"]
    lab.do(phone, "call", "*97", WITH_EVENTS)
    lab.run(0.5)
    assert [e.status for e in phone.take_events() if e.kind == "failed"] == [404]
