"""Calls whose media the B2BUA anchors: answered when queued, music and prompts, the relay
between the parties, recording, digits and media timeouts. Signalling runs on the simulated
network; RTP is fed to and read from the media plane directly."""

from __future__ import annotations

from itertools import pairwise
from random import Random

import numpy as np

from appliance.events import (
    Alarm,
    CallAbandoned,
    CallEnded,
    DigitReceived,
    EndCause,
    MediaQuality,
    MediaTimedOut,
    RecordingStarted,
)
from appliance.media import sdp
from appliance.media.callrecorder import CallRecorder
from appliance.media.diskguard import DiskGuard
from appliance.media.dtmf import telephone_event_packets
from appliance.media.plane import MediaPlane
from appliance.media.rtp import RtpPacket
from appliance.media.rtp import parse as parse_rtp
from appliance.records.cdr import call_details
from tests.appliance.pbx.b2bua.harness import (
    APPLIANCE,
    GATEWAY,
    MEDIA_PORTS,
    MUSIC,
    Lab,
    Sounds,
    live_site,
    media_plane,
)

CALLER_MEDIA = (GATEWAY[0], 40000)  # where the testbed's gateway says it receives
PHONE_MEDIA = ("10.0.1.1", 42000)
PORTS = MEDIA_PORTS


class MemorySink:
    def __init__(self) -> None:
        self.chunks: list[np.ndarray] = []
        self.closed = False

    def write(self, samples: np.ndarray) -> None:
        self.chunks.append(samples.copy())

    def close(self) -> None:
        self.closed = True

    @property
    def seconds(self) -> float:
        return sum(len(chunk) for chunk in self.chunks) / 8000


class MemoryDesk:
    def __init__(self) -> None:
        self.sinks: dict[int, MemorySink] = {}
        self.free = 10**12
        self.guard = DiskGuard(stop_below=500_000_000, resume_above=1_000_000_000)

    def open(self, call: int, now: float) -> tuple[CallRecorder, str] | None:
        if not self.guard.recording_allowed:
            return None
        sink = self.sinks[call] = MemorySink()
        return CallRecorder(sink, now), f"recordings/call{call}.wav"

    def check(self, now: float):
        return self.guard.update(self.free, now)


def media_lab(desk: MemoryDesk | None = None, timeout: float = 30.0, **site: object) -> Lab:
    lab = Lab(live_site(agents=1, **site), media_for=media_plane(timeout, desk))
    lab.register_all()
    return lab


def kinds(events):
    return [event.kind for event in events]


def audio_of(body: bytes) -> tuple[str, int, tuple[str, ...]]:
    description = sdp.parse(body)
    stream = description.media[0]
    connection = stream.connection or description.connection
    return connection.address, stream.port, stream.formats


def rtp(seq: int, payload_type: int = 0, ssrc: int = 0x1234, payload: bytes = b"\xff" * 160):
    return bytes(RtpPacket(payload_type, seq, seq * 160, ssrc, payload))


def sent(lab: Lab) -> list[tuple[int, RtpPacket, tuple[str, int]]]:
    """The RTP the appliance sent since the last look (RTCP, from the odd ports, left out)."""
    return [(port, parse_rtp(data), to) for port, data, to in lab.box.media.take_datagrams()
            if port % 2 == 0]


def logged_out_lab(**kwargs) -> Lab:
    """The only agent logged out, so that a call waits in the queue."""
    lab = media_lab(**kwargs)
    lab.do(lab.phones["a1"], "register", 0)
    lab.run(1)
    return lab


def test_a_queued_caller_is_answered_at_once_on_a_relay_port_and_hears_music():
    lab = logged_out_lab()
    call = lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    assert kinds(lab.gateway.take_events()) == ["answered"]
    host, port, formats = audio_of(lab.gateway.calls[call].remote_body)
    assert (host, port) == (APPLIANCE[0], 30000)
    assert formats[0] == "0"
    lab.run(2.0)
    datagrams = lab.box.media.take_datagrams()
    packets = [(port, parse_rtp(data), to) for port, data, to in datagrams if port % 2 == 0]
    assert {(port, to) for port, _, to in packets} == {(30000, CALLER_MEDIA)}
    # 2.5 s at 50 packets a second: the welcome prompt, then music, as one RTP stream.
    assert 120 <= len(packets) <= 130
    sequences = [packet.sequence for _, packet, _ in packets]
    assert all((b - a) % 65536 == 1 for a, b in pairwise(sequences))
    assert len({packet.ssrc for _, packet, _ in packets}) == 1
    # Our own RTCP goes to the port above the caller's RTP (RFC 3550 6.2: the first within
    # 1.25-3.75 s); only the caller's side has a party yet.
    reports = [(port, to) for port, _, to in datagrams if port % 2 == 1]
    assert reports in ([], [(30001, (CALLER_MEDIA[0], CALLER_MEDIA[1] + 1))])


def test_the_agent_is_offered_the_agent_side_port_with_the_callers_codec():
    lab = media_lab()
    lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    incoming = next(iter(lab.phones["a1"].calls.values()))
    host, port, formats = audio_of(incoming.invite.body)
    assert (host, port) == (APPLIANCE[0], 30002)
    assert formats[0] == "0"


def answered(lab: Lab) -> int:
    call = lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    phone = lab.phones["a1"]
    incoming = [c for c in phone.calls.values() if c.state == "incoming"][-1]
    lab.do(phone, "answer", incoming.id)
    lab.run(0.5)
    return call


def test_once_bridged_rtp_flows_both_ways_through_the_relay_and_the_music_stops():
    lab = media_lab()
    answered(lab)
    music = sent(lab)  # the music so far
    box = lab.box
    box.receive_media(30000, rtp(1), CALLER_MEDIA, lab.net.now)
    box.receive_media(30002, rtp(7, ssrc=0x99), PHONE_MEDIA, lab.net.now)
    lab.run(0.2)
    packets = sent(lab)
    assert [(port, to) for port, _, to in packets] == [(30002, PHONE_MEDIA),
                                                      (30000, CALLER_MEDIA)]
    # The caller hears the agent as the stream the music came in: same SSRC, the next
    # sequence number, the marker where the source changed.
    last_music = music[-1][1]
    to_caller = packets[1][1]
    assert to_caller.ssrc == last_music.ssrc != 0x99
    assert (to_caller.sequence - last_music.sequence) % 65536 == 1 and to_caller.marker
    assert to_caller.payload == rtp(7, ssrc=0x99)[12:]


def test_bye_while_queued_is_an_abandon_and_frees_the_ports():
    lab = logged_out_lab()
    call = lab.do(lab.gateway, "call", "100")
    lab.run(5)
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    assert [r.cause for r in lab.log if isinstance(r, CallEnded)] == [EndCause.ABANDONED]
    assert len([r for r in lab.log if isinstance(r, CallAbandoned)]) == 1
    assert lab.box.media.relay.sessions == {}
    assert lab.box.media.relay.calls_free == len(PORTS) // 4  # an RTP and an RTCP port per side


def test_a_silent_caller_is_taken_as_gone_and_the_call_ended():
    lab = logged_out_lab(timeout=5.0)
    lab.do(lab.gateway, "call", "100")
    lab.run(2)
    for seq in range(3):  # it sends a little, then its gateway vanishes
        lab.box.receive_media(30000, rtp(seq), CALLER_MEDIA, lab.net.now)
    lab.run(10)
    timed_out = [r for r in lab.log if isinstance(r, MediaTimedOut)]
    assert [(r.party, r.silent_for >= 5.0) for r in timed_out] == [("caller", True)]
    assert [r.cause for r in lab.log if isinstance(r, CallEnded)] == [EndCause.ABANDONED]
    assert "ended_by_peer" in kinds(lab.gateway.take_events())


def test_a_call_whose_port_cannot_be_listened_on_is_ended_with_an_alarm_and_the_port_dropped():
    lab = logged_out_lab()
    lab.do(lab.gateway, "call", "100")
    lab.run(2)
    relay = lab.box.media.relay
    (session,) = relay.sessions.values()
    port = session.sides[0].local_port
    free_before = relay.calls_free
    lab.box.media.port_failed(port + 1)  # its RTCP port, say: another program holds it
    lab.box.media_done(lab.net.now)
    lab.run(2)
    (alarm,) = [r for r in lab.log if isinstance(r, Alarm)]
    assert (alarm.name, alarm.raised) == ("media_port_taken", True)
    assert f"media port {port + 1}" in alarm.detail
    assert [r.cause for r in lab.log if isinstance(r, CallEnded)] == [EndCause.ABANDONED]
    assert "ended_by_peer" in kinds(lab.gateway.take_events())
    assert relay.sessions == {}
    # The call's other side goes back to the pool, the port that failed does not.
    assert relay.calls_free == free_before
    lab.do(lab.gateway, "call", "100")
    lab.run(1)
    (session,) = relay.sessions.values()
    assert port not in {side.local_port for side in session.sides}


def test_a_held_call_is_not_timed_out():
    lab = media_lab(timeout=5.0)
    answered(lab)
    phone = lab.phones["a1"]
    held = sdp.parse(phone.calls[next(iter(phone.calls))].invite.body)
    hold_offer = (
        f"v=0\r\no=a1 1 2 IN IP4 {PHONE_MEDIA[0]}\r\ns=-\r\nc=IN IP4 {PHONE_MEDIA[0]}\r\n"
        f"t=0 0\r\nm=audio {PHONE_MEDIA[1]} RTP/AVP 0\r\na=sendonly\r\n").encode()
    assert held is not None
    lab.do(phone, "reinvite", next(iter(phone.calls)), hold_offer)
    lab.run(1)
    relayed = lab.gateway.calls[next(iter(lab.gateway.calls))].remote_body
    host, port, _ = audio_of(relayed)
    assert (host, port) == (APPLIANCE[0], 30000)  # the caller still sees only the relay
    assert b"a=sendonly" in relayed
    lab.run(20)  # silence on both sides while held
    assert not [r for r in lab.log if isinstance(r, MediaTimedOut)]
    assert not [r for r in lab.log if isinstance(r, CallEnded)]


WITH_EVENTS = (b"v=0\r\no=gw 1 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\n"
               b"m=audio 40000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
               b"a=fmtp:101 0-15\r\n")


def test_rfc4733_digits_from_the_caller_are_logged_once_each():
    lab = logged_out_lab()
    lab.do(lab.gateway, "call", "100", WITH_EVENTS)
    lab.run(1)
    seq = 0
    for index, digit in enumerate("12#"):
        start = 8000 * (index + 1)
        for event in telephone_event_packets(digit, 800):
            packet = RtpPacket(101, seq, start + event.timestamp_offset, 0x1234,
                               bytes(event.payload), marker=event.marker)
            lab.box.receive_media(30000, bytes(packet), CALLER_MEDIA, lab.net.now)
            seq += 1
        lab.box.media_done(lab.net.now)
        lab.run(0.2)
    digits = [(r.party, r.digit, r.via) for r in lab.log if isinstance(r, DigitReceived)]
    assert digits == [("caller", "1", "rfc4733"), ("caller", "2", "rfc4733"),
                      ("caller", "#", "rfc4733")]


def test_an_answered_call_is_recorded_for_its_talk_time_and_indexed_in_its_detail_record():
    desk = MemoryDesk()
    lab = media_lab(desk)
    call = answered(lab)
    started = [r for r in lab.log if isinstance(r, RecordingStarted)]
    assert [r.file for r in started] == ["recordings/call1.wav"]
    lab.run(12.3)
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    (detail,) = call_details(lab.log)
    assert detail.recording == "recordings/call1.wav"
    assert detail.recording_status == "recorded"
    sink = desk.sinks[1]
    assert sink.closed
    assert abs(sink.seconds - detail.talk) < 0.1


def talk(lab: Lab, seconds: float, skip_from_caller: int = 0) -> None:
    """Both parties send 20 ms packets for `seconds`; the caller's every `skip_from_caller`th
    is lost on the way."""
    for n in range(1, int(seconds * 50) + 1):
        if not skip_from_caller or n % skip_from_caller:
            lab.box.receive_media(30000, rtp(n), CALLER_MEDIA, lab.net.now)
        lab.box.receive_media(30002, rtp(n, ssrc=0x99), PHONE_MEDIA, lab.net.now)
        lab.box.media_done(lab.net.now)
        lab.run(0.02)


def test_each_partys_media_figures_are_logged_before_the_end_and_kept_in_the_detail_record():
    lab = media_lab()
    call = answered(lab)
    talk(lab, 3.0, skip_from_caller=10)
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    kinds_logged = [type(r) for r in lab.log if isinstance(r, MediaQuality | CallEnded)]
    assert kinds_logged == [MediaQuality, MediaQuality, CallEnded]
    (detail,) = call_details(lab.log)
    assert (detail.caller_packets, detail.caller_lost) == (135, 14)  # 150 sent, 1 in 10 lost
    assert (detail.agent_packets, detail.agent_lost) == (150, 0)
    assert detail.caller_rtt_ms is None  # the testbed's gateway sends no RTCP


def test_when_the_agent_hangs_up_the_figures_still_come_before_the_end():
    lab = media_lab()
    answered(lab)
    talk(lab, 1.0)
    phone = lab.phones["a1"]
    talking = next(c for c in phone.calls.values() if c.state == "answered")
    lab.do(phone, "hangup", talking.id)
    lab.run(1)
    records = [r for r in lab.log if isinstance(r, MediaQuality | CallEnded)]
    assert [type(r) for r in records] == [MediaQuality, MediaQuality, CallEnded]
    assert [r.party for r in records[:2]] == ["caller", "agent"]
    (detail,) = call_details(lab.log)
    assert detail.agent_packets == 50


def test_an_offer_without_g711_is_refused_with_488_and_never_offered_to_call_control():
    lab = media_lab()
    body = (b"v=0\r\no=gw 1 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\n"
            b"m=audio 40000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n")
    call = lab.do(lab.gateway, "call", "100", body)
    lab.run(0.5)
    assert lab.gateway.calls[call].status == 488
    assert not list(lab.log)[-1:] or not [r for r in lab.log if type(r).__name__ == "CallOffered"]


def test_an_unknown_codec_beside_pcmu_is_ignored_and_the_call_answered_with_pcmu():
    lab = logged_out_lab()
    body = (b"v=0\r\no=gw 1 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\n"
            b"m=audio 40000 RTP/AVP 31 0\r\na=rtpmap:31 LPC\r\na=rtpmap:0 PCMU/8000\r\n")
    call = lab.do(lab.gateway, "call", "100", body)
    lab.run(0.5)
    assert kinds(lab.gateway.take_events()) == ["answered"]
    _, _, formats = audio_of(lab.gateway.calls[call].remote_body)
    assert formats == ("0",)


def test_sip_info_digits_are_logged_as_the_same_digit_events():
    lab = logged_out_lab()
    call = lab.do(lab.gateway, "call", "100")
    lab.run(1)
    for digit in "9*":
        lab.do(lab.gateway, "press", call, digit)
        lab.run(0.2)
    digits = [(r.party, r.digit, r.via) for r in lab.log if isinstance(r, DigitReceived)]
    assert digits == [("caller", "9", "info"), ("caller", "*", "info")]


def test_queued_callers_hear_their_position_and_expected_wait_from_digit_prompts():
    played: list[str] = []

    class Recorded(Sounds):
        def samples(self, name: str) -> np.ndarray:
            played.append(name)
            return super().samples(name)

    def plane(deadlines):
        return MediaPlane(APPLIANCE[0], PORTS, deadlines, Random(7), prompts=Recorded(),
                          music=MUSIC)

    lab = Lab(live_site(agents=1, queue={"announcements": {"first_after": 5, "every": 30,
                                                           "duration": 2}}), media_for=plane)
    lab.register_all()
    lab.do(lab.phones["a1"], "register", 0)
    lab.run(1)
    lab.do(lab.gateway, "call", "100")
    lab.run(6)
    announced = [r for r in lab.log if type(r).__name__ == "CallAnnounced"]
    assert len(announced) == 1
    assert played[0] == "welcome"
    assert played[1:4] == ["position-before", "digit-1", "position-after"]
    assert played[4] in ("wait-before", "wait-unknown")


def test_recording_stops_cleanly_with_an_alarm_when_the_disk_runs_low_and_resumes_after():
    desk = MemoryDesk()
    lab = media_lab(desk)
    call = answered(lab)
    lab.run(3)
    desk.free = 100_000_000  # below stop_below
    lab.run(10)
    assert desk.sinks[1].closed  # stopped at once, not at the end of the call
    stopped_after = desk.sinks[1].seconds
    assert 2.0 < stopped_after < 10.0
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    alarms = [(r.name, r.raised) for r in lab.log if type(r).__name__ == "Alarm"]
    assert alarms == [("disk_low", True)]
    (detail,) = call_details(lab.log)
    assert detail.recording_status == "disk_low"
    # While the disk is low, new calls go unrecorded; once there is room, recording resumes.
    call = answered(lab)
    assert 2 not in desk.sinks
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    desk.free = 10**12
    call = answered(lab)
    assert 3 in desk.sinks
    alarms = [(r.name, r.raised) for r in lab.log if type(r).__name__ == "Alarm"]
    assert alarms == [("disk_low", True), ("disk_low", False)]
