"""Call park on the live box: `ccbox serve` between a trunk caller and phones 1001 and 1002
(sim/sipua user agents over real UDP), each party sending RTP from its own socket, a tone of
its own. The agent who answers parks the caller by a blind REFER to 700 and reads the slot in
the NOTIFY ("200 Parked 701"); the parked caller hears the site's music. Then either the other
phone dials 701 and the caller and it hear each other, or nobody does and, after the park
timeout, the parker's phone rings again and the parker talks with the caller once more.
Last, call pickup: while the caller rings one phone, the other dials ``**`` and that phone's
agent and talks with the caller; the ringing phone stops."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from appliance.events import CallAnswered, CallParked, CallPickedUp, ParkPickedUp, ParkTimedOut
from appliance.records.store import RecordReader
from sim.live import ApplianceProcess, media_port_range, write_site
from sim.traffic.rtp_pcap import dominant_frequency, rtp_audio
from sim.traffic.sipp import free_udp_port
from tests.live.parties import GatewayAndPhones, RtpParty, relay_address, until
from tests.live.test_hold_music import share_at

pytestmark = pytest.mark.slow

PASSWORDS = {"1001": "pw-1001", "1002": "pw-1002"}
CALLER_HZ, HZ = 600.0, {"1001": 1400.0, "1002": 1000.0}  # none in the default music
PARK_TIMEOUT = 4.0


class Parties(GatewayAndPhones):
    """The trunk caller and the phones, their UDP drivers and RTP sockets."""

    def __init__(self, box: tuple[str, int], caller_port: int, phones: list[str]) -> None:
        _, high = media_port_range()
        # The parties' sockets take the top of this worker's ports; the appliance the rest.
        rtp = {"gw": RtpParty(high - 1, CALLER_HZ)}
        rtp.update({user: RtpParty(high - 3 - 2 * i, HZ[user])
                    for i, user in enumerate(PASSWORDS)})
        super().__init__(box, caller_port, {user: PASSWORDS[user] for user in phones}, rtp)

    async def answer_ringing(self, user: str | None = None) -> tuple[str, int]:
        """The phone that rings (`user`'s if given) answers: (its user, its call)."""
        phones = [self.phones[user]] if user else list(self.phones.values())

        def ringing() -> tuple[str, int] | None:
            return next(((p.user, c.id) for p in phones for c in p.calls.values()
                         if c.state == "incoming"), None)

        await until(lambda: ringing() is not None, "rung")
        found = ringing()
        assert found is not None
        phone = self.phones[found[0]]
        party = self.rtp[found[0]]
        party.peer = relay_address(phone.calls[found[1]].invite.body)
        party.ssrc = (party.ssrc + 1) & 0xFFFFFFFF  # a phone's new call is a new RTP stream
        self.do(phone, "answer", found[1], self.offer(found[0]))
        return found


async def park(parties: Parties, pick_up: bool) -> None:
    """A call reaches an agent and is parked; picked up by the other phone or rung back."""
    gateway = parties.gateway
    call = parties.do(gateway, "call", "100", parties.offer("gw"), "13800000000")
    parker, incoming = await parties.answer_ringing()
    await until(lambda: gateway.calls[call].state == "answered", "answered")
    parties.rtp["gw"].peer = relay_address(gateway.calls[call].remote_body)
    await parties.talk("talking")
    phone = parties.phones[parker]
    parties.do(phone, "refer", incoming, "700")
    await until(lambda: phone.calls[incoming].state == "ended", "the parker's call ended")
    assert phone.calls[incoming].sipfrag.startswith(b"SIP/2.0 200 Parked 701")
    parties.rtp[parker].peer = None
    await parties.talk("parked")
    if pick_up:
        picker = next(p for p in parties.phones.values() if p.user != parker)
        pickup = parties.do(picker, "call", "701", parties.offer(picker.user))
        await until(lambda: picker.calls[pickup].state == "answered", "picked up")
        parties.rtp[picker.user].peer = relay_address(picker.calls[pickup].remote_body)
    else:
        await parties.answer_ringing(parker)
    await parties.talk("after")
    parties.do(gateway, "hangup", call)
    await asyncio.sleep(0.5)


async def pick_up_ringing(parties: Parties) -> None:
    """A call rings one phone; the other takes it by directed pickup."""
    gateway = parties.gateway
    call = parties.do(gateway, "call", "100", parties.offer("gw"), "13800000000")
    await until(lambda: any(c.state == "incoming" for p in parties.phones.values()
                            for c in p.calls.values()), "rung")
    rung = next(p for p in parties.phones.values() if p.calls)
    picker = next(p for p in parties.phones.values() if p is not rung)
    pickup = parties.do(picker, "call", f"**{rung.user}", parties.offer(picker.user))
    await until(lambda: picker.calls[pickup].state == "answered", "picked up")
    await until(lambda: gateway.calls[call].state == "answered", "answered")
    await until(lambda: all(c.state == "ended" for c in rung.calls.values()), "ring stopped")
    parties.rtp[picker.user].peer = relay_address(picker.calls[pickup].remote_body)
    parties.rtp["gw"].peer = relay_address(gateway.calls[call].remote_body)
    await parties.talk("after")
    parties.do(gateway, "hangup", call)
    await asyncio.sleep(0.5)


def run(tmp_path: Path, phones: list[str], pick_up: bool | None) -> tuple[Parties, list[object]]:
    _, high = media_port_range()
    caller_port = free_udp_port()
    site = write_site(tmp_path / "site.yaml", caller_port, PASSWORDS,
                      sip={"park": {"timeout": PARK_TIMEOUT}},
                      media={"queued_callers": "answer", "rtp_port_max": high - 6})
    box = ApplianceProcess(site, tmp_path)

    async def main() -> Parties:
        parties = Parties(box.address, caller_port, phones)
        try:
            await parties.start()
            await (pick_up_ringing(parties) if pick_up is None else park(parties, pick_up))
        finally:
            parties.close()
        return parties

    try:
        parties = asyncio.run(main())
    finally:
        assert box.stop() == 0, box.log()
    return parties, list(RecordReader(box.records).events())


def heard(parties: Parties, user: str) -> dict[str, np.ndarray]:
    return {name: rtp_audio(packets).astype(np.float64)
            for name, packets in parties.rtp[user].received.items()}


def assert_music(samples: np.ndarray) -> None:
    assert len(samples) >= 8000  # a second and more of RTP while parked
    assert np.sqrt(np.mean(samples ** 2)) > 300  # music, not silence
    assert all(share_at(samples, hz) < 0.01 for hz in HZ.values())  # and no phone


def test_a_parked_call_is_picked_up_by_another_phone_and_both_sides_hear_each_other(
        tmp_path: Path) -> None:
    parties, records = run(tmp_path, list(PASSWORDS), pick_up=True)
    [parked] = [r for r in records if isinstance(r, CallParked)]
    [picked] = [r for r in records if isinstance(r, ParkPickedUp)]
    assert parked.slot == picked.slot == 701
    assert picked.agent != parked.agent
    assert [r.agent for r in records if isinstance(r, CallAnswered)] == [
        parked.agent, picked.agent]
    caller = heard(parties, "gw")
    assert abs(dominant_frequency(caller["talking"]) - HZ[parked.agent]) < 5
    assert_music(caller["parked"])
    assert abs(dominant_frequency(caller["after"]) - HZ[picked.agent]) < 5
    picker = heard(parties, picked.agent)
    assert abs(dominant_frequency(picker["after"]) - CALLER_HZ) < 5


def test_a_parked_call_nobody_picks_up_rings_its_parker_back(tmp_path: Path) -> None:
    parties, records = run(tmp_path, ["1001"], pick_up=False)
    [timed_out] = [r for r in records if isinstance(r, ParkTimedOut)]
    assert (timed_out.slot, timed_out.to) == (701, "parker")
    assert [r.agent for r in records if isinstance(r, CallAnswered)] == ["1001", "1001"]
    caller = heard(parties, "gw")
    assert_music(caller["parked"])
    assert abs(dominant_frequency(caller["after"]) - HZ["1001"]) < 5
    assert abs(dominant_frequency(heard(parties, "1001")["after"]) - CALLER_HZ) < 5


def test_a_call_ringing_one_phone_is_picked_up_from_another(tmp_path: Path) -> None:
    parties, records = run(tmp_path, list(PASSWORDS), pick_up=None)
    [picked] = [r for r in records if isinstance(r, CallPickedUp)]
    assert picked.directed and picked.ringing != picked.agent
    assert [r.agent for r in records if isinstance(r, CallAnswered)] == [picked.agent]
    assert abs(dominant_frequency(heard(parties, "gw")["after"]) - HZ[picked.agent]) < 5
    assert abs(dominant_frequency(heard(parties, picked.agent)["after"]) - CALLER_HZ) < 5
