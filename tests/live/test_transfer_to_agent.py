"""Transfers from one agent to another through `ccbox serve`, with the testbed's user agents
over real UDP, each party sending a tone on RTP from its own socket (the caller 600 Hz, the
first agent 1400 Hz, the second 1000 Hz):

- blind: the agent who answered REFERs the caller to the other agent's id; that phone rings,
  answers, and the caller and it hear each other;
- attended: the agent holds the caller, calls the other agent's phone, talks, and REFERs the
  caller with Replaces naming that call; the other phone, re-INVITEd onto the call's relay
  port, and the caller hear each other, and the first agent's two calls are ended by the
  appliance.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from appliance.events import CallAnswered, CallTransferred, ExtensionCallEnded
from appliance.records import call_details
from appliance.records.store import RecordReader
from sim.live import ApplianceProcess, media_port_range, write_site
from sim.sipua import offer_sdp
from sim.traffic.rtp_pcap import dominant_frequency, rtp_audio
from sim.traffic.sipp import free_udp_port
from tests.live.parties import GatewayAndPhones, RtpParty, incoming, relay_address, until

pytestmark = pytest.mark.slow

PASSWORDS = {"1001": "pw-1001", "1002": "pw-1002"}
CALLER_HZ, FIRST_HZ, SECOND_HZ = 600.0, 1400.0, 1000.0


class Parties(GatewayAndPhones):
    """The gateway and the two phones on UDP, with their RTP sockets at the top of this
    worker's media ports (the appliance takes the rest)."""

    def __init__(self, box: tuple[str, int], caller_port: int, high: int) -> None:
        super().__init__(box, caller_port, PASSWORDS, {
            "gw": RtpParty(high - 1, CALLER_HZ), "1001": RtpParty(high - 3, FIRST_HZ),
            "1002": RtpParty(high - 5, SECOND_HZ)})

    def answer(self, user: str, call: int) -> None:
        """The phone answers `call` and sends its tone to the relay port it was offered."""
        phone, rtp = self.phones[user], self.rtp[user]
        rtp.peer = relay_address(phone.calls[call].invite.body)
        self.do(phone, "answer", call, offer_sdp("127.0.0.1", rtp.port))

    async def caller_put_through(self) -> tuple[int, str, int]:
        """A trunk call answered by whichever phone rings: (the gateway's call, that
        agent, the phone's call)."""
        call = self.do(self.gateway, "call", "100", offer_sdp("127.0.0.1", self.rtp["gw"].port),
                       "13800000000")
        assert isinstance(call, int)
        await until(lambda: any(incoming(p) for p in self.phones.values()), "rung")
        first = next(user for user, p in self.phones.items() if incoming(p))
        answered = incoming(self.phones[first])
        assert answered is not None
        self.answer(first, answered)
        await until(lambda: self.gateway.calls[call].state == "answered", "answered")
        self.rtp["gw"].peer = relay_address(self.gateway.calls[call].remote_body)
        return call, first, answered


def other(user: str) -> str:
    return next(u for u in PASSWORDS if u != user)


async def blind(parties: Parties) -> str:
    call, first, answered = await parties.caller_put_through()
    await parties.talk("first")
    second = other(first)
    parties.do(parties.phones[first], "refer", answered, second)
    phone = parties.phones[second]
    await until(lambda: incoming(phone) is not None, "the second agent rung")
    ringing = incoming(phone)
    assert ringing is not None
    parties.rtp[first].peer = None
    parties.answer(second, ringing)
    await until(lambda: all(c.state == "ended" for c in parties.phones[first].calls.values()),
                "the first agent released")
    await parties.talk("second")
    parties.do(parties.gateway, "hangup", call)
    await asyncio.sleep(0.5)
    return second


async def attended(parties: Parties) -> str:
    call, first, answered = await parties.caller_put_through()
    await parties.talk("first")
    phone = parties.phones[first]
    mine = parties.rtp[first].port
    parties.do(phone, "reinvite", answered, offer_sdp("127.0.0.1", mine, "sendonly"))
    second = other(first)
    consultation = parties.do(phone, "call", second, offer_sdp("127.0.0.1", mine - 1))
    target = parties.phones[second]
    await until(lambda: incoming(target) is not None, "the consultation rung")
    consulted = incoming(target)
    assert consulted is not None
    parties.answer(second, consulted)
    await until(lambda: phone.calls[consultation].state == "answered", "consulting")  # type: ignore[index]
    parties.rtp[first].peer = None
    parties.do(phone, "refer_replacing", answered, consultation, second)
    await until(lambda: all(c.state == "ended" for c in phone.calls.values()),
                "the first agent's calls ended")
    await until(lambda: any(e.kind == "reinvited" for e in target.events), "moved")
    parties.rtp[second].peer = relay_address(target.calls[consulted].remote_body)
    await parties.talk("second")
    assert target.calls[consulted].state == "answered"
    parties.do(parties.gateway, "hangup", call)
    await until(lambda: target.calls[consulted].state == "ended", "the second agent released")
    return second


def run(tmp_path: Path, scenario: Callable[[Parties], object]) -> tuple[Parties, str, list]:
    _, high = media_port_range()
    caller_port = free_udp_port()
    site = write_site(tmp_path / "site.yaml", caller_port, PASSWORDS,
                      media={"queued_callers": "answer", "rtp_port_max": high - 6})
    box = ApplianceProcess(site, tmp_path)
    parties = Parties(box.address, caller_port, high)

    async def main() -> str:
        await parties.start()
        return await scenario(parties)  # type: ignore[misc]

    try:
        second = asyncio.run(main())
    finally:
        parties.close()
        assert box.stop() == 0, box.log()
    return parties, second, RecordReader(box.records).events()


def hear_each_other(parties: Parties, second: str) -> None:
    """In the last phase the caller hears the second agent's tone and they the caller's."""
    to_caller = rtp_audio(parties.rtp["gw"].received["second"])
    to_second = rtp_audio(parties.rtp[second].received["second"])
    assert abs(dominant_frequency(to_caller) - SECOND_HZ) < 5
    assert abs(dominant_frequency(to_second) - CALLER_HZ) < 5


def test_a_blind_transfer_to_an_agent_puts_the_caller_through_to_them(tmp_path: Path) -> None:
    parties, second, records = run(tmp_path, blind)
    hear_each_other(parties, second)
    [transferred] = [r for r in records if isinstance(r, CallTransferred)]
    assert transferred.target == f"agent:{second}"
    assert [r.agent for r in records if isinstance(r, CallAnswered)][-1] == second
    [detail] = call_details(records)
    assert (detail.transfers_to_agent, detail.transfers_attended, detail.recalls) == (1, 0, 0)


def test_an_attended_transfer_hands_the_caller_to_the_consulted_agent(tmp_path: Path) -> None:
    parties, second, records = run(tmp_path, attended)
    hear_each_other(parties, second)
    [transferred] = [r for r in records if isinstance(r, CallTransferred)]
    assert transferred.target == f"agent:{second}"
    assert [(r.agent, r.wait) for r in records if isinstance(r, CallAnswered)][-1] == (
        second, 0.0)
    assert [r.cause for r in records if isinstance(r, ExtensionCallEnded)] == ["transferred"]
    [detail] = call_details(records)
    assert (detail.transfers_to_agent, detail.transfers_attended) == (0, 1)
