"""The PBX features with real phones: Debian's baresip 1.0 through `ccbox serve`, each phone
sending a tone of its own (aufile), dumping what it decodes (sndfile) and driven through its
ctrl_tcp module (tests/live/test_baresip_transfer.py's `Phone`): hold with music, park and
pickup, voicemail (a message left, message-waiting seen, the message heard after the PIN),
listen and whisper supervision and a three-party conference. The held caller alone is a
testbed user agent: baresip 1.0 (on aubridge, no sound card) stops decoding into its dump
after the re-INVITEs of a hold and resume (the appliance re-INVITEs a caller the agent
holds and resumes); one moving it to another port, as a completed consultation does
(tests/live/test_baresip_consultation.py), leaves the dump going.

A dump holds only what the phone received, in order, so a call's phases are read from it as
a run of quarter-second windows, each labelled by the tone that fills it or as music.

baresip 1.0's menu has no command to send a REFER with Replaces (its `transfer` is blind;
`atransfer` came in later releases): its attended transfer is the box's consultation on its
keys (tests/live/test_baresip_consultation.py); tests/live/test_transfer_to_agent.py's user
agents stand for a phone transferring by REFER with Replaces.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from random import Random
from typing import Any

import numpy as np
import yaml

from appliance.events import (
    CallEnded,
    CallHeld,
    CallParked,
    CallResumed,
    ConferenceJoined,
    EndCause,
    ParkPickedUp,
    SupervisionStarted,
    VoicemailLeft,
    VoicemailRecording,
)
from appliance.live.udp import UdpDriver
from appliance.records.store import RecordReader
from sim.live import ApplianceProcess, media_port_range, wait_until, write_site
from sim.sipua import UserAgent, offer_sdp
from sim.traffic.rtp_pcap import rtp_audio
from sim.traffic.sipp import free_udp_port
from tests.live.parties import RtpParty, relay_address, until
from tests.live.test_baresip import wait_until_ready
from tests.live.test_baresip_transfer import (
    WITHIN,
    Phone,
    call_trace,
    in_order,
    pytestmark,  # noqa: F401 - slow, and skipped without baresip
    wait_for_record,
)
from tests.live.test_media_calls import level_at, read_wav

PASSWORDS = {user: f"baresip-{user}" for user in ("1001", "1002", "1003")}
CALLER_HZ, HZ = 600.0, {"1001": 1400.0, "1002": 1000.0, "1003": 2200.0}  # none in the music
WINDOW = 2000  # samples: a quarter second
PHONE_PORTS = 10  # RTP ports each phone may take, at the top of this worker's window
PHONES = 4


class Lab:
    """One appliance and the baresips that call through it; every RTP port from this
    worker's window (the phones at its top)."""

    def __init__(self, tmp_path: Path, agents: tuple[str, ...] = ("1001",), supervisor: str = "",
                 queue: dict[str, Any] | None = None, callers: int = 1,
                 calling_out: bool = False, **site: Any) -> None:
        """`queue`: settings of the one queue; `callers`: how many trunk peers (phones on
        the trunk) there may be; `calling_out`: the trunk's calls out go to the first."""
        self.folder = tmp_path
        self.caller_ports = [free_udp_port() for _ in range(callers)]
        self.caller_port = self.caller_ports[0]
        _, high = media_port_range()
        self.free_ports = high - PHONES * PHONE_PORTS + 1
        config = write_site(tmp_path / "site.yaml", self.caller_port, PASSWORDS,
                            media={"queued_callers": "answer",
                                   "rtp_port_max": self.free_ports - 1}, **(queue or {}))
        data = yaml.safe_load(config.read_text())
        trunk = data["trunk_groups"][0]
        trunk["peers"] = [f"127.0.0.1:{port}" for port in self.caller_ports]
        if calling_out:
            trunk["outbound"] = {"gateway": trunk["peers"][0], "prefix": "9"}
        data["agents"] = [{"id": agent, "skills": {"service": 5}} for agent in agents]
        for phone in data["sip"]["phones"]:
            phone["supervisor"] = phone["user"] == supervisor
        data["sip"].update(site.pop("sip", {}))
        data.update(site)
        config.write_text(yaml.safe_dump(data, sort_keys=False))
        self.box = ApplianceProcess(config, tmp_path)
        self.phones: list[Phone] = []

    def uri(self, number: str) -> str:
        host, port = self.box.address
        return f"sip:{number}@{host}:{port}"

    def phone(self, name: str, tone: float, account: str, sip_port: int | None = None,
              apps: tuple[str, ...] = ()) -> Phone:
        first = self.free_ports + len(self.phones) * PHONE_PORTS
        phone = Phone(self.folder, name, tone, account, sip_port,
                      (first, first + PHONE_PORTS - 1), apps)
        self.phones.append(phone)
        return phone

    def caller(self, tone: float = CALLER_HZ, number: str = "gateway", peer: int = 0) -> Phone:
        """A phone on the trunk (the site's gateway `peer`), calling from `number`; it
        answers calls to that number by itself (a call out through the trunk)."""
        # A short name: baresip 1.0 cuts its dumps' paths at 128 characters.
        return self.phone(f"caller{peer or ''}", tone,
                          f"<sip:{number}@127.0.0.1>;regint=0;answermode=auto",
                          self.caller_ports[peer])

    def user(self, user: str, register: bool = True, mwi: bool = False) -> Phone:
        """`user`'s phone answering by itself; registered (ready, if an agent) or only
        dialling (digest on its INVITEs); with `mwi`, also subscribed to its messages."""
        regint = 600 if register else 0
        account = (f"<{self.uri(user)}>;auth_pass={PASSWORDS[user]};answermode=auto;"
                   f"regint={regint}")
        if mwi:
            return self._watching_user(user, account + ";mwi=yes")
        phone = self.phone(f"phone-{user}", HZ[user], account)
        if register:
            wait_until_ready(self.box.records, user, WITHIN, phone)  # type: ignore[arg-type]
        return phone

    def _watching_user(self, user: str, account: str) -> Phone:
        """A registered phone whose mwi module subscribes to message-summary. Its account
        is added (menu's `uanew`) once baresip runs, not read at start: baresip 1.0's mwi
        module, 1 ms after it loads, subscribes afresh for every subscription in its list
        while appending each new one to that list; if the registration (the module's cue
        to subscribe) is answered within that millisecond, as a quick registrar on
        loopback may, the loop never ends and floods SUBSCRIBEs."""
        phone = self.phone(f"phone-{user}", HZ[user], "", apps=("mwi.so",))
        command(phone, "uanew", account)
        wait_until_ready(self.box.records, user, WITHIN, phone)  # type: ignore[arg-type]
        return phone

    def events(self) -> list[Any]:
        return list(RecordReader(self.box.records).events())

    def wait_for(self, kind: type, count: int = 1) -> None:
        wait_for_record(self.box, lambda _: sum(isinstance(r, kind) for r in self.events())
                        >= count, f"{count} {kind.__name__}")

    def stop(self) -> None:
        """Every phone (SIGTERM, then SIGKILL), then the appliance; both by PID."""
        statuses = [phone.stop() for phone in self.phones]
        status = self.box.stop()
        assert (statuses, status) == ([0] * len(self.phones), 0), self.box.log()


@contextmanager
def lab(tmp_path: Path, **site: Any) -> Iterator[Lab]:
    started = Lab(tmp_path, **site)
    try:
        yield started
    finally:
        for phone in started.phones:
            phone.stop()
        started.box.stop()


def established(phone: Phone, count: int = 1) -> None:
    """Until `phone` has had `count` calls established (in-call commands work from then)."""
    wait_until(lambda: phone.log().count("Call established") >= count, WITHIN,
               "the call established")


def command(phone: Phone, name: str, params: str = "") -> None:
    response = phone.command(name, params)
    assert response["ok"], (name, response, phone.log())


def samples(dump: Path) -> np.ndarray:
    """A dump's samples (mono, 16 bits: the phones' PCMU at 8 kHz), also of one baresip
    still writes, whose header gives no length yet."""
    data = dump.read_bytes()
    start = data.find(b"data") + 8
    return np.frombuffer(data[start:start + (len(data) - start) // 2 * 2], dtype="<i2").astype(
        np.float64)


def share_at(part: np.ndarray, hz: float) -> float:
    """The share of `part`'s energy within 20 Hz of `hz`."""
    power = np.abs(np.fft.rfft(part * np.hanning(len(part)))) ** 2
    frequencies = np.fft.rfftfreq(len(part), 1 / 8000)
    return float(power[np.abs(frequencies - hz) <= 20].sum() / max(power.sum(), 1e-9))


def labels(dump: Path, tones: dict[str, float]) -> str:
    """One letter per quarter second of what a phone heard: the key of the tone that fills
    it, "M" for music (loud, and no tone of `tones` in it), "?" for anything else."""
    heard = samples(dump)
    letters = []
    for start in range(0, len(heard) - WINDOW + 1, WINDOW):
        part = heard[start:start + WINDOW]
        shares = {key: share_at(part, hz) for key, hz in tones.items()}
        tone = next((key for key, share in shares.items() if share > 0.5), None)
        music = np.sqrt(np.mean(part ** 2)) > 300 and max(shares.values()) < 0.01
        letters.append(tone or ("M" if music else "?"))
    return "".join(letters)


def tail(phone: Phone, seconds: float = 2.0) -> np.ndarray:
    """The last `seconds` a phone heard in its last call, less the last half second (the
    hang-up)."""
    heard = samples(phone.dumps()[-1])
    return heard[-int((seconds + 0.5) * 8000):-4000]


def test_a_baresip_agent_holds_and_resumes_and_the_held_caller_hears_music_between(tmp_path):
    """baresip 1.0 stops its decode dump at a re-INVITE (our hold and resume reach the caller
    as re-INVITEs), so the held caller here is a testbed user agent and its RTP socket; the
    phone that holds, and sends its tone on while holding, is baresip (`/hold`, `/resume`)."""
    with lab(tmp_path) as box:
        agent = box.user("1001")
        caller = RtpParty(box.free_ports + (PHONES - 1) * PHONE_PORTS, CALLER_HZ)
        try:
            asyncio.run(held_by_baresip(box, agent, caller))
        finally:
            caller.sock.close()
        box.stop()
    heard = {phase: rtp_audio(packets).astype(np.float64)
             for phase, packets in caller.received.items()}
    assert share_at(heard["talking"], HZ["1001"]) > 0.5
    assert len(heard["held"]) >= 8000 and np.sqrt(np.mean(heard["held"] ** 2)) > 300  # music
    assert share_at(heard["held"], HZ["1001"]) < 0.01  # and not the phone, which sends on
    assert share_at(heard["resumed"], HZ["1001"]) > 0.5
    assert [type(r) for r in box.events() if isinstance(r, CallHeld | CallResumed)] == [
        CallHeld, CallResumed]


async def held_by_baresip(box: Lab, agent: Phone, caller: RtpParty) -> None:
    gateway = UserAgent("gw", "", ("127.0.0.1", box.caller_port), box.box.address, Random(1))
    driver = UdpDriver(gateway, "127.0.0.1", box.caller_port)  # type: ignore[arg-type]
    await driver.start()

    async def phase(name: str, then: str = "") -> None:
        caller.phase = name
        for step in range(int(3.0 / 0.02)):
            caller.tick(step >= 25)  # the first half second left out: signalling, jitter
            await asyncio.sleep(0.02)
        if then:
            await asyncio.to_thread(command, agent, then)

    try:
        call = gateway.call(driver.now(), "100", offer_sdp("127.0.0.1", caller.port), "1380")
        driver.flush()
        await until(lambda: gateway.calls[call].state == "answered", "answered")
        caller.peer = relay_address(gateway.calls[call].remote_body)
        await asyncio.to_thread(established, agent)
        await phase("talking", "hold")
        await phase("held", "resume")
        await phase("resumed")
        gateway.hangup(driver.now(), call)
        driver.flush()
        await asyncio.sleep(0.5)
    finally:
        driver.close()


def test_an_agent_parks_the_caller_and_another_phone_picks_the_slot_up(tmp_path):
    with lab(tmp_path, agents=("1001", "1002")) as box:
        agent = box.user("1001")
        caller = box.caller()
        command(caller, "dial", box.uri("100"))
        established(agent)
        picker = box.user("1002")  # an agent, ready only now: 1001 took the call
        time.sleep(2.0)
        command(agent, "transfer", box.uri("700"))
        box.wait_for(CallParked)
        time.sleep(3.0)
        command(picker, "dial", box.uri("701"))
        box.wait_for(ParkPickedUp)
        time.sleep(3.0)
        command(caller, "hangup")
        box.wait_for(CallEnded)
        box.stop()
    # The parker's phone was told the slot in the REFER's NOTIFY.
    trace = call_trace(agent.log(), box.box.address)
    assert in_order(trace, ["> REFER", "< 202 (REFER)", "< NOTIFY SIP/2.0 200 Parked 701"]), trace
    heard = labels(caller.dumps()[-1], {"A": HZ["1001"], "P": HZ["1002"]})
    assert re.search(r"A{4,}\?{0,3}M{8,}[M?]*P{4,}[P?]*$", heard), heard
    assert share_at(tail(picker), CALLER_HZ) > 0.5
    events = box.events()
    [parked] = [r for r in events if isinstance(r, CallParked)]
    [picked] = [r for r in events if isinstance(r, ParkPickedUp)]
    assert (parked.slot, parked.agent, picked.slot, picked.agent) == (701, "1001", 701, "1002")


def voicemail(folder: Path) -> dict[str, Any]:
    return {"folder": str(folder / "voicemail"), "mailboxes": [
        {"name": "night", "number": "800", "pin": "2468", "max_seconds": 60, "agent": "1001"}]}


def test_a_caller_leaves_a_message_and_the_owners_phone_sees_it_waiting_and_hears_it(tmp_path):
    """The owner's phone subscribes to its own address for message-summary and shows
    (logs) 0/0, 1/0 once the message is left, and 0/0 again once it is deleted."""
    routes = [{"trunk_group": "gateway", "voicemail": "night"}]
    with lab(tmp_path, routes=routes, voicemail=voicemail(tmp_path)) as box:
        owner = box.user("1001", mwi=True)
        wait_until(lambda: "Voice-Message: 0/0" in owner.log(), WITHIN, "MWI 0/0")
        caller = box.caller(HZ["1002"])
        command(caller, "dial", box.uri("555"))
        box.wait_for(VoicemailRecording)
        time.sleep(4.0)
        command(caller, "hangup")
        box.wait_for(VoicemailLeft)
        [left] = [r for r in box.events() if isinstance(r, VoicemailLeft)]
        recorded, seconds = read_wav(left.file)
        wait_until(lambda: "Voice-Message: 1/0" in owner.log(), WITHIN, "MWI 1/0")
        command(owner, "dial", box.uri("*97"))
        established(owner)
        time.sleep(1.0)  # "please enter your PIN"
        command(owner, "sndcode", "2468#")
        wait_until(lambda: heard_tone(owner, HZ["1002"]), WITHIN, "the message heard")
        command(owner, "sndcode", "7")  # delete it
        wait_until(lambda: not Path(left.file).exists(), WITHIN, "the message deleted")
        wait_until(lambda: owner.log().rfind("Voice-Message: 0/0")
                   > owner.log().find("Voice-Message: 1/0"), WITHIN, "MWI 0/0 again")
        command(owner, "hangup")
        box.stop()
    assert left.mailbox == "night"
    assert owner.log().count("SUBSCRIBE sip:") < 10  # 3 (challenged, signed, ended): no flood
    assert seconds >= 2.0 and level_at(recorded, HZ["1002"]) > 20  # the caller's tone
    assert not Path(left.file).exists()  # deleted with 7
    assert next(r.cause for r in box.events() if isinstance(r, CallEnded)) is EndCause.VOICEMAIL


def heard_tone(phone: Phone, hz: float) -> bool:
    """Whether the last half second `phone` heard is the `hz` tone."""
    dumps = phone.dumps()
    if not dumps:
        return False
    heard = samples(dumps[-1])[-4000:]
    return len(heard) == 4000 and share_at(heard, hz) > 0.5


def supervised(tmp_path: Path, code: str) -> tuple[Lab, Phone, Phone, Phone]:
    """A caller talks with agent 1001 for 3 s while supervisor 1003 dials `code` + 1001;
    the lab (stopped), the agent's, the supervisor's and the caller's phones."""
    with lab(tmp_path, supervisor="1003") as box:
        agent = box.user("1001")
        boss = box.user("1003", register=False)
        caller = box.caller()
        command(caller, "dial", box.uri("100"))
        established(agent)
        command(boss, "dial", box.uri(code + "1001"))
        box.wait_for(SupervisionStarted)
        time.sleep(3.0)
        command(caller, "hangup")
        box.wait_for(CallEnded)
        box.stop()
    return box, agent, boss, caller


def test_a_supervisor_whispers_to_the_agent_and_the_caller_hears_only_the_agent(tmp_path):
    box, agent, _, caller = supervised(tmp_path, "*82")
    at_agent, at_caller = tail(agent), tail(caller)
    assert share_at(at_agent, CALLER_HZ) > 0.1 and share_at(at_agent, HZ["1003"]) > 0.1
    assert share_at(at_caller, HZ["1001"]) > 0.5 and share_at(at_caller, HZ["1003"]) < 0.01
    [started] = [r for r in box.events() if isinstance(r, SupervisionStarted)]
    assert (started.mode, started.supervisor) == ("whisper", "1003")


def test_a_supervisor_listens_and_hears_both_while_neither_hears_the_supervisor(tmp_path):
    box, agent, boss, caller = supervised(tmp_path, "*81")
    at_boss, at_agent, at_caller = tail(boss), tail(agent), tail(caller)
    assert share_at(at_boss, CALLER_HZ) > 0.1 and share_at(at_boss, HZ["1001"]) > 0.1
    assert share_at(at_agent, CALLER_HZ) > 0.5 and share_at(at_agent, HZ["1003"]) < 0.01
    assert share_at(at_caller, HZ["1001"]) > 0.5 and share_at(at_caller, HZ["1003"]) < 0.01
    [started] = [r for r in box.events() if isinstance(r, SupervisionStarted)]
    assert (started.mode, started.supervisor) == ("listen", "1003")


def test_three_phones_in_a_conference_room_each_hear_the_other_two(tmp_path):
    with lab(tmp_path, sip={"conferences": [{"number": "800"}]}) as box:
        members = {user: box.user(user, register=False) for user in HZ}
        for phone in members.values():
            command(phone, "dial", box.uri("800"))
        box.wait_for(ConferenceJoined, 3)
        time.sleep(3.0)
        for phone in members.values():
            command(phone, "hangup")
        box.stop()
    for user, phone in members.items():
        heard = tail(phone)
        for other, hz in HZ.items():
            share = share_at(heard, hz)
            assert share < 0.01 if other == user else share > 0.1, (user, other, share)
    assert sorted(r.party for r in box.events() if isinstance(r, ConferenceJoined)) == list(HZ)
