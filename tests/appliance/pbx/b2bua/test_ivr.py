"""Callers routed to an IVR flow through the B2BUA: answered at once, prompted, walking the
flow with their keys (SIP INFO, RFC 4733), looked up, sent to a queue or ended by the flow.
Signalling runs on the simulated network; RTP is fed to and read from the media plane."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np

from appliance.events import CallEnded, CallQueued, DigitReceived, EndCause, IvrFlowEntered
from appliance.media import sdp
from appliance.media.dtmf import telephone_event_packets
from appliance.media.g711 import ulaw_decode
from appliance.media.rtp import RtpPacket
from appliance.media.rtp import parse as parse_rtp
from appliance.pbx.actions import LookUp
from appliance.wallclock import from_origin
from sim.sipua import offer_sdp
from tests.appliance.pbx.b2bua.harness import APPLIANCE, GATEWAY, Lab, live_site, media_plane
from tests.appliance.pbx.b2bua.test_durable_answers import SlowDisk
from tests.appliance.pbx.b2bua.test_races import CheckedLab

CALLER_MEDIA = (GATEWAY[0], 40000)
ANI = "gw"  # the gateway's From user
WITH_EVENTS = (b"v=0\r\no=gw 1 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\n"
               b"m=audio 40000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
               b"a=fmtp:101 0-15\r\n")
PROMPTS = {"menu": {"en": "For sales press 1, for your balance press 2.", "zh": "销售请按1。"},
           "bye": {"en": "Goodbye.", "zh": "再见。"}}
FLOW = {
    "name": "main", "start": "menu", "nodes": [
        {"name": "menu", "kind": "play_option", "prompts": "menu", "timeout": 5, "retries": 1,
         "options": {"1": "sales", "2": "find", "3": "closed"}, "default": "service"},
        {"name": "find", "kind": "access_db", "lookup": "crm", "key": "${ANI}",
         "into": {"balance": "balance"}, "found": "done", "not_found": "service",
         "failed": "service"},
        {"name": "done", "kind": "stop_flow", "prompts": "bye"},
        {"name": "closed", "kind": "hang_up", "prompts": "bye"},
        {"name": "sales", "kind": "to_queue", "queue": "sales", "priority": 7},
        {"name": "service", "kind": "to_queue", "queue": "service"},
    ],
}
PROMPT_SECONDS = 0.2  # as long as the harness's prompts


def ivr_section(language: str = "en") -> dict[str, Any]:
    return {"language": language, "variables": ["balance"], "prompts": PROMPTS,
            "lookups": {"crm": {"kind": "sqlite", "database": "crm.db", "table": "customers",
                                "key": "phone", "fields": ["balance"]}},
            "flows": [FLOW]}


def ivr_lab(media: bool = False, language: str = "en", prompts: Any = None,
            media_settings: dict[str, Any] | None = None) -> CheckedLab:
    more: dict[str, Any] = {"ivr": ivr_section(language)}
    if media_settings:
        more["media"] = media_settings
    site = live_site(agents=1, extra_queues=[{"name": "sales", "skill": "sales"}],
                     agent_skills={"service": 5, "sales": 5},
                     routes=[{"trunk_group": "pstn", "flow": "main"}], more=more)
    lab = CheckedLab(site, media_for=media_plane(prompts=prompts) if media else None,
                     wallclock=from_origin(datetime(2026, 12, 7, 10, 0)),
                     prompt_seconds=lambda names, language: PROMPT_SECONDS * len(names))
    lab.register_all()
    return lab


def kinds(lab: Lab, who: str = "gw") -> list[str]:
    ua = lab.gateway if who == "gw" else lab.phones[who]
    return [event.kind for event in ua.take_events()]


def ends(lab: Lab) -> list[EndCause]:
    return [record.cause for record in lab.log if isinstance(record, CallEnded)]


def answer_agent(lab: Lab) -> bytes:
    """The agent's phone answers the call ringing it; the answer's SDP."""
    phone = lab.phones["a1"]
    (incoming,) = [c for c in phone.calls.values() if c.state == "incoming"]
    body = offer_sdp(phone.local[0], 42000)
    lab.do(phone, "answer", incoming.id, body)
    lab.run(0.5)
    return body


def hang_up(lab: Lab) -> None:
    """The gateway's only call hangs up."""
    (call,) = lab.gateway.calls
    lab.do(lab.gateway, "hangup", call)


# --- signalling only -------------------------------------------------------------------------


def test_an_ivr_caller_is_answered_with_an_answer_of_our_own_that_receives_nothing() -> None:
    lab = ivr_lab()
    call = lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    assert kinds(lab) == ["answered"]
    stream = sdp.parse(lab.gateway.calls[call].remote_body)
    assert (stream.connection.address, stream.media[0].port) == (APPLIANCE[0], 9)
    assert stream.media[0].formats[0] == "0"
    lab.do(lab.gateway, "hangup", call)
    lab.settle()


def test_the_ivr_callers_200_waits_for_the_log_to_be_durable() -> None:
    lab = ivr_lab()
    disk = SlowDisk(lab)
    lab.log.durability = disk
    lab.do(lab.gateway, "call", "100")
    lab.run(0.4)  # less than T1: the 200 is not retransmitted yet
    assert kinds(lab) == []
    assert disk.covered and any(isinstance(r, IvrFlowEntered) for r in lab.log)
    lab.box.log_durable(len(disk.covered), lab.net.now)
    lab.net.poke(APPLIANCE)
    lab.run(0.2)
    assert kinds(lab) == ["answered"]
    lab.log.durability = None  # from here on, as in simulation
    hang_up(lab)
    lab.settle()


def test_keys_pressed_as_info_route_the_caller_and_the_agent_reaches_it_by_reinvite() -> None:
    lab = ivr_lab()
    call = lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    lab.do(lab.gateway, "press", call, "1")
    lab.run(0.5)
    assert [(r.party, r.digit, r.via) for r in lab.log if isinstance(r, DigitReceived)] == [
        ("caller", "1", "info")]
    assert [r.queue for r in lab.log if isinstance(r, CallQueued)] == ["sales"]
    assert kinds(lab, "a1") == ["incoming"]
    body = answer_agent(lab)
    assert kinds(lab) == ["answered", "reinvited"]
    assert lab.gateway.calls[call].remote_body == body
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    assert ends(lab) == [EndCause.CALLER_HANGUP]
    lab.settle()


def test_a_lookup_is_handed_to_the_driver_and_its_answer_walks_the_flow_on() -> None:
    lab = ivr_lab()
    call = lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    lab.do(lab.gateway, "press", call, "2")
    lab.run(0.5)
    (lookup,) = lab.box.take_lookups()
    assert lookup == LookUp(lookup.call, "crm", ANI)
    assert lab.box.take_lookups() == []
    lab.box.lookup_done(lookup.call, {"balance": "12.30"}, lab.net.now)
    lab.net.poke(APPLIANCE)
    lab.run(1)  # the goodbye, then the flow hangs up
    assert kinds(lab) == ["answered", "ended_by_peer"]
    assert ends(lab) == [EndCause.IVR_COMPLETED]
    lab.settle()


def test_a_flow_that_hangs_up_sends_the_caller_a_bye() -> None:
    lab = ivr_lab()
    call = lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    lab.do(lab.gateway, "press", call, "3")
    lab.run(1)
    assert kinds(lab) == ["answered", "ended_by_peer"]
    assert ends(lab) == [EndCause.IVR_HANG_UP]
    lab.settle()


def test_hanging_up_in_the_ivr_is_an_ivr_abandon() -> None:
    lab = ivr_lab()
    call = lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    assert ends(lab) == [EndCause.IVR_ABANDONED]
    assert kinds(lab) == ["answered", "ended"]
    lab.settle()


# --- with the media anchored ------------------------------------------------------------------


class Voice:
    """Prompts of 0.2 s, each sample `level`; remembers the prompts asked for."""

    def __init__(self, level: int) -> None:
        self.level = level
        self.asked: list[str] = []

    def samples(self, name: str) -> np.ndarray:
        self.asked.append(name)
        return np.full(1600, self.level, dtype=np.int16)


def press_rfc4733(lab: Lab, digits: str, start: int = 8000) -> None:
    seq = 0
    for index, digit in enumerate(digits):
        for event in telephone_event_packets(digit, 800):
            packet = RtpPacket(101, seq, start * (index + 1) + event.timestamp_offset, 0x1234,
                               bytes(event.payload), marker=event.marker)
            lab.box.receive_media(30000, bytes(packet), CALLER_MEDIA, lab.net.now)
            seq += 1
        lab.box.media_done(lab.net.now)
        lab.net.poke(APPLIANCE)
        lab.run(0.2)


def heard(lab: Lab) -> list[int]:
    """The caller's audio since the last look, as decoded sample levels."""
    levels: list[int] = []
    for port, data, to in lab.box.media.take_datagrams():
        if port % 2 == 0 and to == CALLER_MEDIA:
            levels += ulaw_decode(parse_rtp(data).payload).tolist()
    return levels


def call_in(lab: Lab, body: bytes = WITH_EVENTS) -> int:
    """A call into the flow, answered; the box's call id."""
    lab.do(lab.gateway, "call", "100", body)
    lab.run(0.1)
    assert kinds(lab) == ["answered"]
    (call,) = lab.box.legs.callers
    return call


def test_rfc4733_keys_drive_the_flow_and_the_queue_then_welcomes_with_music() -> None:
    lab = ivr_lab(media=True)
    call = call_in(lab)
    assert lab.box.media.playing(call) == "menu"  # no welcome, no music in the IVR
    press_rfc4733(lab, "1")
    assert [r.queue for r in lab.log if isinstance(r, CallQueued)] == ["sales"]
    assert [(r.digit, r.via) for r in lab.log if isinstance(r, DigitReceived)] == [
        ("1", "rfc4733")]
    assert lab.box.media.playing(call) == "welcome"
    lab.run(0.5)
    assert lab.box.media.playing(call) == "music"
    answer_agent(lab)
    assert lab.box.media.playing(call) is None
    assert kinds(lab) == []  # answered once, and the agent reached through the relay
    hang_up(lab)
    lab.settle()


def test_prompts_play_in_the_flows_language_and_queue_prompts_in_the_sites() -> None:
    english, mandarin = Voice(1000), Voice(-3000)
    lab = ivr_lab(media=True, language="zh", prompts={"en": english, "zh": mandarin})
    call = call_in(lab)
    lab.run(0.1)
    levels = heard(lab)
    assert levels and all(abs(level + 3000) < 100 for level in levels)
    assert (mandarin.asked, english.asked) == (["menu"], [])
    press_rfc4733(lab, "1")
    assert lab.box.cc.calls[call].language == "zh"
    assert mandarin.asked == ["menu", "welcome"]  # the caller stays in its language
    hang_up(lab)
    lab.settle()


def test_a_key_during_a_barge_in_prompt_silences_it() -> None:
    lab = ivr_lab(media=True)
    call = call_in(lab)
    lab.run(0.05)
    press_rfc4733(lab, "2")  # a lookup: nothing plays while it runs
    assert lab.box.media.playing(call) is None
    heard(lab)
    lab.run(0.5)
    assert heard(lab) == []
    (lookup,) = lab.box.take_lookups()
    lab.box.lookup_done(lookup.call, None, lab.net.now)  # failed: on to the service queue
    lab.net.poke(APPLIANCE)
    lab.run(0.1)
    assert [r.queue for r in lab.log if isinstance(r, CallQueued)] == ["service"]
    assert lab.box.media.playing(call) == "welcome"
    hang_up(lab)
    lab.settle()


def test_an_ivr_caller_is_answered_even_where_queued_callers_get_early_media() -> None:
    lab = ivr_lab(media=True, media_settings={"queued_callers": "early_media"})
    call = call_in(lab)
    assert lab.box.media.playing(call) == "menu"
    hang_up(lab)
    lab.run(1)
    assert ends(lab) == [EndCause.IVR_ABANDONED]
    lab.settle()


STRAIGHT_ON = {"name": "main", "start": "service", "nodes": [
    {"name": "service", "kind": "to_queue", "queue": "service"}]}


def straight_on_lab(media: bool, queued_callers: str = "answer") -> CheckedLab:
    """A flow that sends the caller on to a queue at once: the call leaves the IVR before
    the B2BUA has even answered it."""
    section = {**ivr_section(), "flows": [STRAIGHT_ON]}
    site = live_site(agents=1, routes=[{"trunk_group": "pstn", "flow": "main"}],
                     more={"ivr": section, "media": {"queued_callers": queued_callers}})
    lab = CheckedLab(site, media_for=media_plane() if media else None,
                     wallclock=from_origin(datetime(2026, 12, 7, 10, 0)),
                     prompt_seconds=lambda names, language: PROMPT_SECONDS * len(names))
    lab.register_all()
    return lab


def test_a_flow_that_queues_at_once_answers_once_and_without_ringing_first() -> None:
    for media, queued_callers in ((False, "answer"), (True, "answer"), (True, "early_media")):
        lab = straight_on_lab(media, queued_callers)
        lab.do(lab.gateway, "call", "100", WITH_EVENTS)
        lab.run(0.5)
        assert kinds(lab) == ["answered"], (media, queued_callers)
        assert [r.queue for r in lab.log if isinstance(r, CallQueued)] == ["service"]
        hang_up(lab)
        lab.run(1)
        lab.settle()
