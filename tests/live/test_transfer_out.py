"""Blind transfers out of the ACD through `ccbox serve`, with the testbed's user agents over
real UDP, each party sending a tone on RTP from its own socket (the caller 600 Hz, the agent
1001 1400 Hz, the desk phone 2001 - no agent's - 1000 Hz, the far end of an outside call
800 Hz). The trunk's one gateway sends the callers and takes the outside calls (prefix 9);
the trunk group has two channels. In turn:

- the agent REFERs the caller to the desk phone, which answers: they hear each other; the
  caller hangs up and the desk phone is let go;
- the agent REFERs the caller to the desk phone, which does not answer: the agent is rung
  again, takes the caller back and they hear each other;
- the agent REFERs the caller to an outside number, twice: the far end and the caller hear
  each other. The second one needs both channels (the caller's and the far end's): it goes
  through only if every earlier transfer gave its caller's channel back;
- the agent keys a consultation with the outside number (`*2` 9 number `#`), the agent and
  the far end hear each other, and `*2` completes it: the far end and the caller hear each
  other (again on both channels).

The records show each transfer by kind and the calls ended transferred_out, and `ccbox report`
shows the transfer rates to a phone and outside.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from random import Random

import pytest
import yaml

from appliance.events import CallEnded, CallTransferred, OutsideCallEnded
from appliance.pbx.sip.digest import ha1
from appliance.records import call_details
from appliance.records.store import RecordReader
from sim.live import REALM, ApplianceProcess, media_port_range, write_site
from sim.sipua import UserAgent, offer_sdp
from sim.traffic.rtp_pcap import dominant_frequency, rtp_audio
from sim.traffic.sipp import free_udp_port
from tests.live.parties import GatewayAndPhones, RtpParty, incoming, relay_address, until

pytestmark = pytest.mark.slow

AGENT, DESK = "1001", "2001"
PASSWORDS = {AGENT: "pw-1001", DESK: "pw-2001"}
TONES = {"caller": 600.0, AGENT: 1400.0, DESK: 1000.0, "far": 800.0}
NUMBER = "0301234567"
RING_SECONDS = 3  # the desk phone's ring before the agent is rung again


class Parties(GatewayAndPhones):
    """The gateway and the two phones on UDP; an RTP socket for each party at the top of
    this worker's media ports (the appliance takes the rest)."""

    def __init__(self, box: tuple[str, int], gateway_port: int, high: int) -> None:
        super().__init__(box, gateway_port, PASSWORDS, {
            party: RtpParty(high - 1 - 2 * n, hz) for n, (party, hz) in enumerate(TONES.items())})

    def answer(self, ua: UserAgent, party: str, call: int) -> None:
        """`ua` answers `call` as `party`, its tone sent to the relay port it was offered
        from a new source (SSRC), as a phone's new call does: the relay drops a departed
        party's old one (the agent rung again after a transfer)."""
        rtp = self.rtp[party]
        rtp.ssrc = Random(f"{party} {call} {rtp.seq}").getrandbits(32)
        rtp.peer = relay_address(ua.calls[call].invite.body)
        self.do(ua, "answer", call, offer_sdp("127.0.0.1", rtp.port))

    async def rung(self, ua: UserAgent, party: str) -> int:
        """`ua` is rung and answers as `party`."""
        await until(lambda: incoming(ua) is not None, f"{party} rung")
        call = incoming(ua)
        assert call is not None
        self.answer(ua, party, call)
        return call

    async def caller_with_agent(self) -> tuple[int, int]:
        """A trunk call answered by the agent: (the gateway's call, the agent's)."""
        rtp = self.rtp["caller"]
        call = self.do(self.gateway, "call", "100", offer_sdp("127.0.0.1", rtp.port),
                       "13800000000")
        assert isinstance(call, int)
        answered = await self.rung(self.phones[AGENT], AGENT)
        await until(lambda: self.gateway.calls[call].state == "answered", "answered")
        rtp.peer = relay_address(self.gateway.calls[call].remote_body)
        await self.talk("agent", seconds=1.0)
        return call, answered

    def transfer(self, answered: int, target: str) -> None:
        """The agent REFERs its caller to `target` and stops sending."""
        self.do(self.phones[AGENT], "refer", answered, target)
        self.rtp[AGENT].peer = None

    async def hang_up(self, call: int, target: UserAgent, target_call: int, party: str) -> None:
        """The caller hangs up; the target's call ends."""
        self.do(self.gateway, "hangup", call)
        await until(lambda: target.calls[target_call].state == "ended", f"{party} let go")
        self.rtp[party].peer = self.rtp["caller"].peer = None


async def to_desk(parties: Parties) -> None:
    call, answered = await parties.caller_with_agent()
    parties.transfer(answered, DESK)
    desk = parties.phones[DESK]
    taken = await parties.rung(desk, DESK)
    await parties.talk("desk")
    await parties.hang_up(call, desk, taken, DESK)


async def desk_does_not_answer(parties: Parties) -> None:
    call, answered = await parties.caller_with_agent()
    parties.transfer(answered, DESK)
    desk = parties.phones[DESK]
    await until(lambda: incoming(desk) is not None, "the desk phone rung")
    agent = parties.phones[AGENT]
    await asyncio.sleep(RING_SECONDS)
    again = await parties.rung(agent, AGENT)
    assert all(c.state == "ended" for c in desk.calls.values())
    await parties.talk("recalled")
    await parties.hang_up(call, agent, again, AGENT)


async def outside(parties: Parties, phase: str) -> None:
    call, answered = await parties.caller_with_agent()
    parties.transfer(answered, "9" + NUMBER)
    gateway = parties.gateway
    far = await parties.rung(gateway, "far")
    assert gateway.calls[far].invite.uri.startswith(f"sip:{NUMBER}@")
    await parties.talk(phase)
    await parties.hang_up(call, gateway, far, "far")


async def consulted(parties: Parties) -> None:
    """The agent keys a consultation with the outside number (SIP INFO), talks with the far
    end, and completes: the far end, moved onto the call's relay port by our re-INVITE,
    and the caller hear each other."""
    call, answered = await parties.caller_with_agent()
    agent, gateway = parties.phones[AGENT], parties.gateway
    for key in f"*29{NUMBER}#":
        parties.do(agent, "press", answered, key)
    far = await parties.rung(gateway, "far")
    await parties.talk("consulting")
    first = relay_address(gateway.calls[far].invite.body)
    for key in "*2":
        parties.do(agent, "press", answered, key)
    parties.rtp[AGENT].peer = None
    await until(lambda: relay_address(gateway.calls[far].remote_body) != first, "far moved")
    parties.rtp["far"].peer = relay_address(gateway.calls[far].remote_body)
    await parties.talk("consulted")
    await parties.hang_up(call, gateway, far, "far")


async def scenario(parties: Parties) -> None:
    await parties.start()
    await to_desk(parties)
    await desk_does_not_answer(parties)
    await outside(parties, "outside")
    await outside(parties, "outside again")
    await consulted(parties)
    await asyncio.sleep(0.5)


def site(tmp_path: Path, gateway_port: int, high: int) -> Path:
    """The one agent 1001, the desk phone 2001, two channels and a route out by prefix 9."""
    desk = {"user": DESK, "ha1_md5": ha1(DESK, REALM, PASSWORDS[DESK], "MD5"),
            "ha1_sha256": ha1(DESK, REALM, PASSWORDS[DESK], "SHA-256")}
    config = write_site(tmp_path / "site.yaml", gateway_port, {AGENT: PASSWORDS[AGENT]},
                        channels=2, media={"queued_callers": "answer", "rtp_port_max": high - 8},
                        sip={"extension_ring_timeout": RING_SECONDS})
    document = yaml.safe_load(config.read_text())
    document["sip"]["phones"].append(desk)
    document["trunk_groups"][0]["outbound"] = {"gateway": f"127.0.0.1:{gateway_port}",
                                               "prefix": "9"}
    config.write_text(yaml.safe_dump(document, sort_keys=False))
    return config


def hears(parties: Parties, who: str, party: str, phase: str) -> bool:
    """Whether `who` received `party`'s tone in `phase`."""
    audio = rtp_audio(parties.rtp[who].received[phase])
    return abs(dominant_frequency(audio) - TONES[party]) < 5


def test_blind_transfers_out_to_a_desk_phone_and_an_outside_number(tmp_path: Path) -> None:
    _, high = media_port_range()
    gateway_port = free_udp_port()
    box = ApplianceProcess(site(tmp_path, gateway_port, high), tmp_path)
    parties = Parties(box.address, gateway_port, high)
    try:
        asyncio.run(scenario(parties))
    finally:
        parties.close()
        assert box.stop() == 0, box.log()
    for who, party, phase in (("caller", DESK, "desk"), (DESK, "caller", "desk"),
                              ("caller", AGENT, "recalled"), (AGENT, "caller", "recalled"),
                              ("caller", "far", "outside"), ("far", "caller", "outside"),
                              ("caller", "far", "outside again"),
                              (AGENT, "far", "consulting"), ("far", AGENT, "consulting"),
                              ("caller", "far", "consulted"), ("far", "caller", "consulted")):
        assert hears(parties, who, party, phase), (who, party, phase)
    records = RecordReader(box.records).events()
    targets = [r.target for r in records if isinstance(r, CallTransferred)]
    assert targets == [f"extension:{DESK}"] * 2 + [f"outside:{NUMBER}"] * 3
    assert {r.cause for r in records if isinstance(r, CallEnded)} == {"transferred_out"}
    assert [r.cause for r in records if isinstance(r, OutsideCallEnded)] == [
        "caller_hangup"] * 3
    details = call_details(records)
    assert [(d.transfers_to_extension, d.transfers_outside) for d in details] == [
        (1, 0), (1, 0), (0, 1), (0, 1), (0, 1)]
    shown = subprocess.run([sys.executable, "-m", "appliance", "report", str(box.records)],
                           capture_output=True, text=True, check=True).stdout
    assert "Transfer rate, to a phone" in shown and "Transfer rate, outside" in shown
