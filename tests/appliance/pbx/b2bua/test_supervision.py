"""Supervision through the B2BUA over a simulated network: a supervisor's phone listens to,
whispers to, barges into and forces off an agent's call. Signalling runs on the simulated
network; RTP is fed to and read from the media plane directly, each party sending one
constant level so that what each hears is the sum of the levels it hears."""

from __future__ import annotations

import numpy as np

from appliance.events import (
    CallEnded,
    CallForcedOff,
    DigitReceived,
    SupervisionChanged,
    SupervisionEnded,
    SupervisionStarted,
)
from appliance.media import sdp
from appliance.media.g711 import ulaw_decode, ulaw_encode
from appliance.media.rtp import RtpPacket
from appliance.media.rtp import parse as parse_rtp
from appliance.records.cdr import call_details
from tests.appliance.pbx.b2bua.harness import GATEWAY, Lab, live_site, media_plane

CALLER_MEDIA = (GATEWAY[0], 40000)
AGENT_MEDIA = ("10.0.1.1", 40000)
BOSS_MEDIA = ("10.0.1.2", 40000)
LEVELS = {"caller": 1000, "agent": 4000, "boss": 16000}


def kinds(events):
    return [event.kind for event in events]


def supervised_site():
    site = live_site(agents=2)
    phones = [phone.model_copy(update={"supervisor": phone.user == "a2"})
              for phone in site.sip.phones]
    return site.model_copy(update={"sip": site.sip.model_copy(update={"phones": phones})})


def lab_with_a_call() -> Lab:
    """a1 talks with a caller; a2, a supervisor, is logged out (never rung)."""
    lab = Lab(supervised_site(), media_for=media_plane())
    lab.register_all()
    lab.do(lab.phones["a2"], "call", "*42")
    lab.run(1)
    lab.phones["a2"].take_events()
    lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    phone = lab.phones["a1"]
    incoming = next(c for c in phone.calls.values() if c.state == "incoming")
    lab.do(phone, "answer", incoming.id)
    lab.run(0.5)
    return lab


def supervise(lab: Lab, code: str, agent: str = "a1", user: str = "a2") -> int:
    call = lab.do(lab.phones[user], "call", f"{code}{agent}")
    lab.run(1)
    return call


def ports(lab: Lab) -> dict[str, int]:
    """Each party's relay port: the call's two sides, the supervisor's caller side."""
    sessions = lab.box.media.relay.sessions
    call = max(sessions)
    found = {"caller": sessions[call].sides[0].local_port,
             "agent": sessions[call].sides[1].local_port}
    others = [c for c in sessions if c < 0]
    if others:
        found["boss"] = sessions[others[0]].sides[0].local_port
    return found


def heard(lab: Lab, seconds: float = 1.0) -> dict[tuple[str, int], int]:
    """Every party sends its level for `seconds`; the median level each address heard."""
    sources = {"caller": CALLER_MEDIA, "agent": AGENT_MEDIA, "boss": BOSS_MEDIA}
    where = ports(lab)
    lab.box.media.take_datagrams()
    received: dict[tuple[str, int], list[int]] = {}
    for seq in range(int(seconds / 0.02)):
        for party, port in where.items():
            payload = ulaw_encode(np.full(160, LEVELS[party], dtype=np.int16))
            packet = bytes(RtpPacket(0, seq, seq * 160, 0x100 + port, payload))
            lab.box.receive_media(port, packet, sources[party], lab.net.now)
        lab.run(0.02)
        for port, data, to in lab.box.media.take_datagrams():
            if port % 2 == 0:
                received.setdefault(to, []).append(int(ulaw_decode(parse_rtp(data).payload)[0]))
    return {to: int(np.median(levels)) for to, levels in received.items()}


def near(level: int, *parties: str) -> bool:
    expected = sum(LEVELS[p] for p in parties)
    return abs(level - expected) <= expected * 0.05 + 10


def test_whisper_the_agent_hears_caller_and_supervisor_the_caller_only_the_agent():
    lab = lab_with_a_call()
    boss = supervise(lab, "*82")
    assert kinds(lab.phones["a2"].take_events()) == ["answered"]
    (started,) = [r for r in lab.log if isinstance(r, SupervisionStarted)]
    assert (started.supervisor, started.agent, started.mode) == ("a2", "a1", "whisper")
    levels = heard(lab)
    assert near(levels[AGENT_MEDIA], "caller", "boss")
    assert near(levels[CALLER_MEDIA], "agent")
    assert near(levels[BOSS_MEDIA], "caller", "agent")
    lab.do(lab.phones["a2"], "hangup", boss)
    lab.run(1)
    (ended,) = [r for r in lab.log if isinstance(r, SupervisionEnded)]
    assert ended.cause == "supervisor_hangup"
    assert lab.box.media.mixes == {}
    assert not lab.box.media.relay.sessions[started.call].parted  # relayed directly again


def test_listen_nobody_hears_the_supervisor_and_digits_switch_modes():
    lab = lab_with_a_call()
    boss = supervise(lab, "*81")
    levels = heard(lab)
    assert near(levels[AGENT_MEDIA], "caller")
    assert near(levels[CALLER_MEDIA], "agent")
    assert near(levels[BOSS_MEDIA], "caller", "agent")
    lab.do(lab.phones["a2"], "press", boss, "6")  # barge: all three hear each other
    lab.run(0.5)
    levels = heard(lab)
    assert near(levels[AGENT_MEDIA], "caller", "boss")
    assert near(levels[CALLER_MEDIA], "agent", "boss")
    assert [r.mode for r in lab.log if isinstance(r, SupervisionChanged)] == ["barge"]
    assert not [r for r in lab.log if isinstance(r, DigitReceived)]  # not a caller's digit


def test_the_supervisor_is_hung_up_when_the_call_ends_and_the_call_records_are_unchanged():
    lab = lab_with_a_call()
    boss = supervise(lab, "*83")
    heard(lab, 0.2)
    lab.do(lab.gateway, "hangup", next(iter(lab.gateway.calls)))
    lab.run(1)
    assert "ended_by_peer" in kinds(lab.phones["a2"].take_events())
    assert lab.phones["a2"].calls[boss].state == "ended"
    assert [r.cause for r in lab.log if isinstance(r, SupervisionEnded)] == ["call_ended"]
    (detail,) = call_details(lab.log)
    assert detail.agent == "a1"
    assert lab.box.legs.empty and lab.box.media.relay.sessions == {}


def test_only_supervisors_may_and_only_an_agent_on_a_call():
    lab = lab_with_a_call()
    call = supervise(lab, "*81", agent="a2", user="a1")
    assert lab.phones["a1"].calls[call].status == 403
    call = supervise(lab, "*81", agent="a9")
    assert lab.phones["a2"].calls[call].status == 480
    supervise(lab, "*81")
    call = supervise(lab, "*82")  # one supervisor per call
    assert lab.phones["a2"].calls[call].status == 486


def test_force_off_ends_both_legs_of_the_agents_call():
    lab = lab_with_a_call()
    supervise(lab, "*84")
    assert "ended_by_peer" in kinds(lab.gateway.take_events())
    assert "ended_by_peer" in kinds(lab.phones["a1"].take_events())
    (forced,) = [r for r in lab.log if isinstance(r, CallForcedOff)]
    assert (forced.agent, forced.supervisor) == ("a1", "a2")
    assert [r.call for r in lab.log if isinstance(r, CallEnded)] == [forced.call]
    lab.run(40)  # the feature leg's BYE and the transactions' timers
    assert lab.box.legs.empty


def test_the_supervisors_answer_is_on_a_relay_port_of_its_own():
    lab = lab_with_a_call()
    boss = supervise(lab, "*81")
    body = lab.phones["a2"].calls[boss].remote_body
    port = sdp.parse(body).media[0].port
    assert port == ports(lab)["boss"]


def test_a_supervisor_who_is_an_agent_is_paused_while_supervising():
    lab = Lab(supervised_site(), media_for=media_plane())
    lab.register_all()
    lab.box.cc.agent_not_ready(lab.net.now, "a2", "coaching")
    lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    incoming = next(c for c in lab.phones["a1"].calls.values() if c.state == "incoming")
    lab.do(lab.phones["a1"], "answer", incoming.id)
    lab.run(0.5)
    lab.box.cc.agent_end_pause(lab.net.now, "a2", "coaching")
    boss = supervise(lab, "*81")
    status = lab.box.cc.agent_status("a2")
    assert (status.state.value, status.reason) == ("not_ready", "internal_call")
    lab.do(lab.phones["a2"], "hangup", boss)
    lab.run(1)
    assert lab.box.cc.agent_status("a2").state.value == "ready"
