"""The PBX features through the live appliance (`ccbox serve`) with SIPp phones, as a
deployment engineer would drive them with SIPp: a trunk caller (caller.xml) reaches an agent's
SIPp phone, which parks the call (agent_transfer.xml to 700) or consults a colleague and hands
the caller over (agent_attended.xml, the consultation placed by a second SIPp); other SIPp
phones (phone_call.xml, digest authenticated) dial a park slot or a colleague's extension; a
SIPp phone watches a voicemail box (mwi_subscribe.xml) while a SIPp caller leaves a message;
a SIPp caller books a callback with RFC 4733 keys (caller_ivr.xml) and a SIPp phone on the
trunk's gateway port answers the call back. The records are read back; each test prints how
long it took (run with -s to see it)."""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path

import pytest

from appliance.events import (
    CallAnswered,
    CallbackDialled,
    CallbackRequested,
    CallParked,
    CallTransferred,
    EndCause,
    ExtensionCallEnded,
    OutsideCallStarted,
    ParkPickedUp,
    VoicemailLeft,
)
from appliance.records.store import RecordReader
from sim.live import ApplianceProcess, wait_until
from sim.traffic.rtp_pcap import tone, write_rtp_pcap
from sim.traffic.sipp import SippConfig, SippRun, free_udp_port, scenario_path
from tests.live.test_sipp_calls import Floor
from tests.live.test_voicemail import ANI, PASSWORD, PHONE, leave_message, voicemail_site

BOUND = 60.0
CALLBACK_NUMBER = "13800000001"
pytestmark = pytest.mark.slow


def events_of(floor: Floor, kind: type) -> list:
    """The records of `kind` the appliance has written so far."""
    return [r for r in RecordReader(floor.box.records).events() if isinstance(r, kind)]


def phone_call(floor: Floor, user: str, number: str, talk_ms: int, name: str,
               port: int | None = None) -> SippRun:
    """`user`'s SIPp phone dialling `number` once (started, not waited for)."""
    config = floor.phone_config(user, number, talk_ms, port=port)
    return SippRun(config, timeout=BOUND, workdir=floor.tmp / name).start()


def agent_phone(floor: Floor, scenario: str, port: int, service: str = "",
                hang_up_ms: int | None = None, **variables: object) -> SippRun:
    """A SIPp phone (UAS) on `port`, answering one call; `hang_up_ms` is its -d (how long
    agent_hangup.xml talks before it hangs up), `variables` its -set values."""
    config = SippConfig(scenario_path(scenario), local_port=port, max_calls=1,
                        duration_ms=hang_up_ms, service=service or None,
                        variables=variables)  # type: ignore[arg-type]
    run = SippRun(config, timeout=BOUND, workdir=floor.tmp / f"phone-{port}").start()
    run.wait_started()
    return run


def test_a_sipp_agent_parks_the_call_and_another_sipp_phone_picks_it_up(tmp_path: Path) -> None:
    started = time.monotonic()
    floor = Floor(tmp_path, sip={"park": {"timeout": 30}})
    try:
        floor.register_phones(users=["1001"])  # the only agent logged in: the one rung
        with agent_phone(floor, "agent_transfer.xml", floor.phone_port, "700",
                         talk_ms=500) as parker:
            caller = floor.callers(calls=1, talk_ms=5000).start()
            wait_until(lambda: bool(events_of(floor, CallParked)), BOUND, "the call parked")
            picker_port = free_udp_port()
            floor.register_phones(users=["1002"], port=picker_port)
            picker = phone_call(floor, "1002", "701", 30_000, "picker", picker_port).wait()
            result = caller.wait()
            parker_result = parker.wait()
        assert (result.successful, result.failed) == (1, 0), result
        assert (picker.successful, picker.failed) == (1, 0), picker  # the caller's BYE
        assert (parker_result.successful, parker_result.failed) == (1, 0), parker_result
        [details] = floor.stop()
        records = list(RecordReader(floor.box.records).events())
        [parked] = [r for r in records if isinstance(r, CallParked)]
        [picked] = [r for r in records if isinstance(r, ParkPickedUp)]
        assert (parked.agent, parked.slot) == ("1001", 701)
        assert (picked.slot, picked.agent) == (701, "1002")
        assert details.cause is EndCause.CALLER_HANGUP
    finally:
        floor.box.stop()
    print(f"park and pickup with SIPp: {time.monotonic() - started:.1f} s")


def logged(run: SippRun, pattern: str) -> re.Match[str]:
    """The first line of `run`'s -trace_logs log that matches `pattern`, once it is there."""
    found: list[re.Match[str]] = []

    def search() -> bool:
        path = run.workdir / "logs.log"
        match = re.search(pattern, path.read_text() if path.is_file() else "")
        found[:] = [match] if match else []
        return bool(found)

    wait_until(search, BOUND, f"{pattern!r} in {run.workdir}")
    return found[0]


def replaces(dialog: re.Match[str]) -> str:
    """The Replaces naming the dialog phone_call.xml logged, escaped for a Refer-To URI."""
    call_id, from_tag, to_tag = dialog.groups()
    value = f"{call_id};to-tag={to_tag};from-tag={from_tag}"
    return value.replace("@", "%40").replace(";", "%3B").replace("=", "%3D")


def tell_whom(phone: SippRun, call_id: str, refer_to: str) -> None:
    """Tell agent_attended.xml's phone whom to transfer its call `call_id` to, as its user
    would with its keys: a request in that call carrying the Refer-To to send."""
    host, port = phone.address
    note = (f"INFO sip:agent@{host}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {host}:9;branch=z9hG4bK-note\r\n"
            f"From: <sip:user@{host}>;tag=note\r\nTo: <sip:agent@{host}:{port}>\r\n"
            f"Call-ID: {call_id}\r\nCSeq: 1 INFO\r\nMax-Forwards: 70\r\n"
            f"Refer-To: {refer_to}\r\nContent-Length: 0\r\n\r\n")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(note.encode(), (host, port))


def test_a_sipp_agent_consults_a_colleague_and_hands_them_the_caller(tmp_path: Path) -> None:
    started = time.monotonic()
    floor = Floor(tmp_path, strategy="linear")  # 1001 is rung first
    try:
        consulted_port = free_udp_port()
        floor.register_phones(users=["1001"])
        floor.register_phones(users=["1002"], port=consulted_port)
        with (agent_phone(floor, "agent_attended.xml", floor.phone_port, talk_ms=500) as first,
              agent_phone(floor, "agent.xml", consulted_port) as second):
            caller = floor.callers(calls=1, talk_ms=10_000).start()
            held = logged(first, r"held (\S+)")
            # The first agent's consultation: their phone calls 1002 while the caller waits.
            consulting = phone_call(floor, "1001", "1002", 30_000, "consultation")
            dialog = logged(consulting, r"dialog (\S+) from-tag=(\S+) to;tag=(\S+)")
            host, port = floor.box.address
            tell_whom(first, held.group(1), f"<sip:1002@{host}:{port}?Replaces={replaces(dialog)}>")
            wait_until(lambda: bool(events_of(floor, CallTransferred)), BOUND, "transferred")
            assert caller.running()  # the caller talks on, now with 1002, until they hang up
            transferred = events_of(floor, CallTransferred)
            first_result, consultation = first.wait(), consulting.wait()
            result, second_result = caller.wait(), second.wait()
        assert (first_result.successful, first_result.failed) == (1, 0), first_result
        assert (consultation.successful, consultation.failed) == (1, 0), consultation  # our BYE
        assert (result.successful, result.failed) == (1, 0), result
        assert (second_result.successful, second_result.failed) == (1, 0), second_result
        assert [(t.agent, t.target) for t in transferred] == [("1001", "agent:1002")]
        [details] = floor.stop()
        records = list(RecordReader(floor.box.records).events())
        assert [r.cause for r in records if isinstance(r, ExtensionCallEnded)] == ["transferred"]
        assert [r.agent for r in records if isinstance(r, CallAnswered)] == ["1001", "1002"]
        assert (details.agent, details.cause) == ("1002", EndCause.CALLER_HANGUP)
    finally:
        floor.box.stop()
    print(f"attended transfer with SIPp: {time.monotonic() - started:.1f} s")


def test_a_sipp_phone_sees_the_message_a_sipp_caller_leaves_in_its_voicemail_box(
        tmp_path: Path) -> None:
    started = time.monotonic()
    caller_port = free_udp_port()
    box = ApplianceProcess(voicemail_site(tmp_path, caller_port), tmp_path)
    try:
        host, port = box.address
        config = SippConfig(scenario_path("mwi_subscribe.xml"), remote=box.address, rate=1,
                            max_calls=1, service="800", recv_timeout_ms=round(BOUND * 1000),
                            keys={"user": PHONE, "password": PASSWORD, "waiting": "1/0"},
                            extra_args=("-auth_uri", f"800@{host}:{port}"))
        with SippRun(config, timeout=BOUND, workdir=tmp_path / "mwi") as watcher:
            logged(watcher, "summary Voice-Message: 0/0")
            caller = leave_message(box, tmp_path, caller_port)
            watched = watcher.wait()
        assert (caller.successful, caller.failed) == (1, 0), caller
        assert (watched.successful, watched.failed) == (1, 0), watched
        summaries = re.findall(r"summary (\S+ \S+)", (watched.workdir / "logs.log").read_text())
        assert summaries == ["Voice-Message: 0/0", "Voice-Message: 1/0"]
    finally:
        assert box.stop() == 0, box.log()
    [left] = [r for r in RecordReader(box.records).events() if isinstance(r, VoicemailLeft)]
    assert (left.mailbox, left.caller) == ("night", ANI)
    print(f"voicemail and MWI with SIPp: {time.monotonic() - started:.1f} s")


def test_a_sipp_caller_books_a_callback_by_keys_and_is_called_back_to_a_sipp_agent(
        tmp_path: Path) -> None:
    started = time.monotonic()
    gateway_port = free_udp_port()
    floor = Floor(tmp_path, media={"queued_callers": "answer"}, outbound=gateway_port,
                  callback={"key": "1", "mode": "agent_first", "ring_timeout": 15})
    try:
        # Nobody is logged in: the caller waits, presses 1, and 1 again over the read-back.
        pcap = write_rtp_pcap(tmp_path / "keys.pcap", tone(0.0, 4.0),
                              digits=[(0.5, "1"), (1.5, "1")])
        config = SippConfig(scenario_path("caller_ivr.xml"), remote=floor.box.address,
                            local_port=floor.caller_port, rate=1, max_calls=1,
                            duration_ms=20_000, service="100",
                            keys={"pcap": str(pcap), "ani": CALLBACK_NUMBER})
        booked = SippRun(config, timeout=BOUND, workdir=tmp_path / "booking").run()
        # The agent is free: the box calls back (the phone rings once its SIPp is up: the
        # INVITE is retransmitted until it is).
        floor.register_phones(users=["1001"])
        with (agent_phone(floor, "agent.xml", floor.phone_port) as agent,
              agent_phone(floor, "agent_hangup.xml", gateway_port, hang_up_ms=1000) as customer):
            called_back, agent_result = customer.wait(), agent.wait()
        assert (booked.successful, booked.failed) == (1, 0), booked  # the box's goodbye
        assert (called_back.successful, called_back.failed) == (1, 0), called_back
        assert (agent_result.successful, agent_result.failed) == (1, 0), agent_result
        assert floor.box.stop() == 0, floor.box.log()
        records = list(RecordReader(floor.box.records).events())
        [requested] = [r for r in records if isinstance(r, CallbackRequested)]
        [dialled] = [r for r in records if isinstance(r, CallbackDialled)]
        [outside] = [r for r in records if isinstance(r, OutsideCallStarted)]
        assert requested.number == CALLBACK_NUMBER
        assert (dialled.call, outside.purpose, outside.number) == (
            requested.call, "callback", CALLBACK_NUMBER)
        assert [(r.call, r.agent) for r in records if isinstance(r, CallAnswered)] == [
            (requested.call, "1001")]
    finally:
        floor.box.stop()
    print(f"callback with SIPp: {time.monotonic() - started:.1f} s")
