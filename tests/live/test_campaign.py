"""An outbound campaign through `ccbox serve`, with the testbed's user agents over real UDP:
one is the trunk's gateway (the campaign's calls go out through it), one the agent's phone,
each party sending a tone on RTP from its own socket (the customers 600 Hz, the agent
1400 Hz).

The campaign (``start: true``, one agent, two attempts a number, retries after a second)
lists six numbers: two answer, one is busy then answers, one is busy both times, one rings
unanswered past the route's ring timeout both times, and one is on the do-not-call list.
Nothing is dialed until the agent's phone registers; then one call at a time (one free
agent), each answered customer is offered to the agent, who answers and hears the
customer's tone until the customer hangs up.

A second test stops the box (SIGTERM) while the campaign is under way and starts it again
on the same records: the numbers already answered are not called again, and the others are
called with their attempts counted on from the first run.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from random import Random

import pytest
import yaml

from appliance.events import (
    CallAnswered,
    CallOffered,
    CampaignBusy,
    CampaignDialed,
    CampaignDone,
    CampaignNoAnswer,
    CampaignNumberDone,
    OutsideCallEnded,
    OutsideCallStarted,
    RecordingStarted,
)
from appliance.live.udp import UdpDriver
from appliance.records.store import RecordReader
from sim.live import ApplianceProcess, media_port_range, write_site
from sim.sipua import UserAgent, offer_sdp
from sim.traffic.rtp_pcap import dominant_frequency, rtp_audio
from sim.traffic.sipp import free_udp_port
from tests.live.parties import RtpParty, incoming, relay_address

pytestmark = pytest.mark.slow

AGENT, PASSWORD = "1001", "pw-1001"
CUSTOMER_HZ, AGENT_HZ = 600.0, 1400.0
# What the gateway does at each attempt on a number; the last one is never dialed.
PLAN = {
    "5550001": ["answer"],
    "5550002": ["answer"],
    "5550003": ["busy", "answer"],
    "5550004": ["busy", "busy"],
    "5550005": ["ignore", "ignore"],
    "5550006": [],
}
DO_NOT_CALL = "5550006"
TALK = 1.5  # seconds the agent and a customer talk
SETTLE = 0.4  # seconds after the agent answers before what is heard counts
WITHIN = 60.0


def write_campaign_site(tmp_path: Path, gateway_port: int, high: int,
                        plan: dict[str, list[str]] = PLAN) -> Path:
    config = write_site(tmp_path / "site.yaml", gateway_port, {AGENT: PASSWORD},
                        media={"queued_callers": "answer", "rtp_port_max": high - 4})
    (tmp_path / "numbers.csv").write_text(
        "number,name\n" + "".join(f"{n},customer {n[-1]}\n" for n in plan))
    site = yaml.safe_load(config.read_text())
    site["trunk_groups"][0]["outbound"] = {"gateway": f"127.0.0.1:{gateway_port}",
                                           "ring_timeout": 2, "caller_id": "5551000"}
    site["campaigns"] = [{
        "name": "spring", "list": "numbers.csv", "trunk_group": "gateway",
        "queue": "service", "do_not_call": [DO_NOT_CALL], "attempts": 2,
        "retry": {"busy": 1, "no_answer": 1, "failed": 1, "abandoned": 1}, "start": True}]
    config.write_text(yaml.safe_dump(site, sort_keys=False))
    return config


class Gateway:
    """The gateway's user agent, the agent's phone, and the two RTP parties."""

    def __init__(self, box: tuple[str, int], gateway_port: int, high: int,
                 plan: dict[str, list[str]] = PLAN, before: tuple[str, ...] = ()) -> None:
        self.gateway = UserAgent("gw", "", ("127.0.0.1", gateway_port), box, Random("gw"))
        self.phone = UserAgent(AGENT, PASSWORD, ("127.0.0.1", free_udp_port()), box,
                               Random(AGENT))
        self.customer = RtpParty(high - 1, CUSTOMER_HZ)
        self.agent = RtpParty(high - 3, AGENT_HZ)
        self.drivers = {ua.user: UdpDriver(ua, ua.local[0], ua.local[1])  # type: ignore[arg-type]
                        for ua in (self.gateway, self.phone)}
        self.plan = plan
        self.before = before  # the numbers an earlier run of the box called
        self.invites: list[str] = []  # the numbers called, in order
        self.seen: set[int] = set()  # the gateway's calls acted on
        self.rung: set[int] = set()  # the phone's
        self.talking: tuple[int, str, float] | None = None  # gateway call, number, answered at

    def do(self, ua: UserAgent, method: str, *args: object) -> object:
        result = getattr(ua, method)(self.drivers[ua.user].now(), *args)
        self.drivers[ua.user].flush()
        return result

    def step(self) -> None:
        """One 20 ms step: the gateway and the phone act on what rings, the parties talk."""
        self._gateway_rung()
        self._phone_rung()
        self._hang_up_after_talking()
        for party in (self.customer, self.agent):
            party.tick(True)

    def _gateway_rung(self) -> None:
        for call in [c for c in self.gateway.calls.values()
                     if c.state == "incoming" and c.id not in self.seen]:
            self.seen.add(call.id)
            number = call.invite.uri.removeprefix("sip:").split("@")[0]
            action = self.plan[number][(*self.before, *self.invites).count(number)]
            self.invites.append(number)
            if action == "busy":
                self.do(self.gateway, "reject", call.id, 486, "Busy Here")
            elif action == "answer":
                self.customer.peer = relay_address(call.invite.body)
                self.do(self.gateway, "answer", call.id,
                        offer_sdp("127.0.0.1", self.customer.port))
                self.talking = (call.id, number, -1.0)

    def _phone_rung(self) -> None:
        ringing = incoming(self.phone)
        if ringing is None or ringing in self.rung or self.talking is None:
            return
        self.rung.add(ringing)
        self.agent.peer = relay_address(self.phone.calls[ringing].invite.body)
        self.do(self.phone, "answer", ringing, offer_sdp("127.0.0.1", self.agent.port))
        self.talking = (*self.talking[:2], time.monotonic())

    def _hang_up_after_talking(self) -> None:
        if self.talking is None or self.talking[2] < 0:
            return
        call, number, answered = self.talking
        elapsed = time.monotonic() - answered
        phase = number if elapsed >= SETTLE else "settling"
        self.customer.phase = self.agent.phase = phase
        if elapsed >= SETTLE + TALK:
            self.do(self.gateway, "hangup", call)
            self.customer.phase = self.agent.phase = "idle"
            self.customer.peer = self.agent.peer = None
            self.talking = None

    def done_talking(self) -> bool:
        """Nobody is talking or ringing at the gateway."""
        return self.talking is None and not any(
            c.state in ("incoming", "answered") for c in self.gateway.calls.values())

    def done(self) -> bool:
        placed = sum(len(plan) for plan in PLAN.values())
        return len(self.invites) == placed and self.talking is None and not any(
            c.state in ("incoming", "answered") for c in self.gateway.calls.values())

    def close(self) -> None:
        for driver in self.drivers.values():
            driver.close()
        for party in (self.customer, self.agent):
            party.sock.close()


async def scenario(parties: Gateway) -> None:
    for driver in parties.drivers.values():
        await driver.start()
    await asyncio.sleep(1.0)
    assert parties.invites == []  # no agent free: nothing dialed
    parties.do(parties.phone, "register", 3600)
    for _ in range(int(WITHIN / 0.02)):
        parties.step()
        if parties.done():
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError(f"campaign not over within {WITHIN} s: {parties.invites}")
    await asyncio.sleep(0.5)


def test_a_campaign_dials_its_list_retries_and_hands_answered_customers_to_the_agent(
        tmp_path: Path) -> None:
    _, high = media_port_range()
    gateway_port = free_udp_port()
    config = write_campaign_site(tmp_path, gateway_port, high)
    box = ApplianceProcess(config, tmp_path)
    parties = Gateway(box.address, gateway_port, high)
    try:
        asyncio.run(scenario(parties))
    finally:
        parties.close()
        assert box.stop() == 0, box.log()
    answered = ["5550001", "5550002", "5550003"]
    for number in answered:
        heard_by_agent = rtp_audio(parties.agent.received[number])
        heard_by_customer = rtp_audio(parties.customer.received[number])
        assert abs(dominant_frequency(heard_by_agent) - CUSTOMER_HZ) < 5, number
        assert abs(dominant_frequency(heard_by_customer) - AGENT_HZ) < 5, number
    records = RecordReader(box.records).events()
    done = {r.number: (r.outcome, r.attempts) for r in records
            if isinstance(r, CampaignNumberDone)}
    assert done == {"5550001": ("connected", 1), "5550002": ("connected", 1),
                    "5550003": ("connected", 2), "5550004": ("busy", 2),
                    "5550005": ("no_answer", 2), DO_NOT_CALL: ("do_not_call", 0)}
    dialed = [r.number for r in records if isinstance(r, CampaignDialed)]
    assert dialed == parties.invites  # every attempt reached the gateway, retries included
    assert sorted(r.number for r in records if isinstance(r, CampaignBusy)) == [
        "5550003", "5550004", "5550004"]
    assert [r.number for r in records if isinstance(r, CampaignNoAnswer)] == ["5550005"] * 2
    [finished] = [r for r in records if isinstance(r, CampaignDone)]
    assert (finished.numbers, finished.connected) == (6, 3)
    started = [r for r in records if isinstance(r, OutsideCallStarted)]
    assert {r.purpose for r in started} == {"campaign:spring"}
    assert [r.number for r in started] == dialed
    causes = [r.cause for r in records if isinstance(r, OutsideCallEnded)]
    assert sorted(causes) == sorted(["far_hangup"] * 3 + ["busy"] * 3 + ["no_answer"] * 2)
    offered = {r.call: r.ani for r in records
               if isinstance(r, CallOffered) and r.dnis == "campaign:spring"}
    assert sorted(offered.values()) == answered
    assert {r.call for r in records if isinstance(r, CallAnswered)
            and r.agent == AGENT} == set(offered)
    assert set(offered) <= {r.call for r in records if isinstance(r, RecordingStarted)}
    shown = subprocess.run([sys.executable, "-m", "appliance", "campaign", str(box.records),
                            "--json"], capture_output=True, text=True, check=True)
    assert json.loads(shown.stdout) == {"spring": {"do_not_call": 1, "connected": 3,
                                                   "busy": 1, "no_answer": 1, "attempts": 8}}


# Across two runs of the box: 5550004's first call is ringing when the first run is stopped.
RESTART_PLAN = {
    "5550001": ["answer"],
    "5550002": ["busy", "answer"],
    "5550003": ["answer"],
    "5550004": ["ignore", "answer"],
    "5550005": ["answer"],
}


async def until(parties: Gateway, done: Callable[[], bool], what: str) -> None:
    for driver in parties.drivers.values():
        await driver.start()
    parties.do(parties.phone, "register", 3600)
    for _ in range(int(WITHIN / 0.02)):
        parties.step()
        if done():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{what} not within {WITHIN} s: {parties.invites}")


def run_box(config: Path, tmp_path: Path, gateway_port: int, high: int, before: tuple[str, ...],
            done: Callable[[Gateway], bool], log_name: str) -> list[str]:
    """Start the box on `config`, let the parties act until `done`, stop it (SIGTERM);
    the numbers the gateway was called for."""
    box = ApplianceProcess(config, tmp_path, log_name=log_name)
    parties = Gateway(box.address, gateway_port, high, RESTART_PLAN, before)
    try:
        asyncio.run(until(parties, lambda: done(parties), log_name))
    finally:
        parties.close()
        assert box.stop() == 0, box.log()
    return parties.invites


def test_a_restarted_box_takes_its_campaign_up_without_calling_answered_numbers_again(
        tmp_path: Path) -> None:
    _, high = media_port_range()
    gateway_port = free_udp_port()
    config = write_campaign_site(tmp_path, gateway_port, high, RESTART_PLAN)
    site = yaml.safe_load(config.read_text())
    site["campaigns"][0].update(attempts=3, do_not_call=[])
    config.write_text(yaml.safe_dump(site, sort_keys=False))
    # One agent: 0001 answered, 0002 busy, 0003 answered, then 0004 (due before 0002's
    # retry) rings as the box is stopped.
    first = run_box(config, tmp_path, gateway_port, high, (),
                    lambda p: len(p.invites) == 4, "first.log")
    assert first == ["5550001", "5550002", "5550003", "5550004"]
    second = run_box(config, tmp_path, gateway_port, high, tuple(first),
                     lambda p: len(p.invites) == 3 and p.done_talking(), "second.log")
    # The numbers pending, retries first (their retry times long past), then the fresh one.
    assert second == ["5550002", "5550004", "5550005"]
    reader = RecordReader(tmp_path / "records.sqlite")
    run1, run2 = reader.runs()
    dialed = [(r.number, r.attempt) for r in reader.events(run2)
              if isinstance(r, CampaignDialed)]
    assert dialed == [("5550002", 2), ("5550004", 2), ("5550005", 1)]
    done = {(row.number, row.outcome, row.attempts) for row in reader.campaign_numbers()}
    assert done == {("5550001", "connected", 1), ("5550003", "connected", 1),
                    ("5550002", "connected", 2), ("5550004", "connected", 2),
                    ("5550005", "connected", 1)}
    [finished] = [r for r in reader.events(run2) if isinstance(r, CampaignDone)]
    assert (finished.numbers, finished.connected) == (5, 5)
    assert not [r for r in reader.events(run1) if isinstance(r, CampaignDone)]
