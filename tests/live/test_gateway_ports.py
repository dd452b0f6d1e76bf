"""An FXO gateway's ports through `ccbox serve`: the testbed's user agent plays a 4-port FXO
card on 127.0.0.1 whose calls name their port in the Request-URI. A caller on port 1 keys a
digit in band, then hangs up; the card sends no BYE, only the exchange's busy tone in its RTP.
The appliance hears the digit, then the tone, ends the call (its BYE frees the line) and takes
the next call on the same port. A second card that stops answering OPTIONS is taken out of
service and the calls out go through the first card's ports."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import numpy as np
import yaml

from appliance.events import CallEnded, DigitReceived
from appliance.hw.tones import cadence
from appliance.media.g711 import ulaw_encode
from appliance.media.rtp import RtpPacket
from appliance.records.store import RecordReader
from sim.live import ApplianceProcess, write_site
from sim.sipua import offer_sdp
from sim.traffic.sipp import free_udp_port
from tests.appliance.hw.test_tones import cadenced
from tests.live.parties import Party, relay_address, until
from tests.talk import RATE, pcm

BUSY = cadence("cn-busy")
PASSWORDS = {"1001": "pw-1001"}  # the fxo-4 profile's tone plan is China's


def site_with_cards(path: Path, cards: dict[str, int], probe_interval: float = 60.0) -> Path:
    """`write_site`'s site whose trunk group is served by 4-port FXO cards (name -> SIP port
    on 127.0.0.1); calls out dial 9; phone 1001."""
    config = write_site(path, 1, PASSWORDS, trunk_kind="analog", channels=4 * len(cards),
                        media={"queued_callers": "answer"},
                        sip={"probe_interval": probe_interval})
    site = yaml.safe_load(config.read_text())
    site["gateways"] = [{"name": name, "profile": "fxo-4", "address": f"127.0.0.1:{port}",
                         "ports": [{"ports": "1-4", "trunk_group": "gateway"}]}
                        for name, port in cards.items()]
    site["trunk_groups"][0]["outbound"] = {"gateway": f"127.0.0.1:{min(cards.values())}",
                                           "prefix": "9"}
    config.write_text(yaml.safe_dump(site, sort_keys=False))
    return config


def key_then_busy() -> np.ndarray:
    """The line's audio: "5" keyed in band, a pause, then busy tone until the line drops."""
    t = np.arange(int(0.1 * RATE)) / RATE
    key = 6000 * (np.sin(2 * np.pi * 770 * t) + np.sin(2 * np.pi * 1336 * t))
    pause = np.zeros(int(1.0 * RATE))
    busy = cadenced(BUSY, BUSY.detection_delay + 1.0)
    return np.concatenate([pause, key, pause, busy])


async def play(sock: socket.socket, to: tuple[str, int], audio: np.ndarray,
               done: asyncio.Event) -> bool:
    """Send `audio` as 20 ms PCMU packets to `to` until `done`; whether it was set first."""
    payload = ulaw_encode(pcm(audio))
    for seq in range(len(payload) // 160):
        if done.is_set():
            return True
        sock.sendto(bytes(RtpPacket(0, seq, seq * 160, 0x5EED, payload[seq * 160:][:160])), to)
        await asyncio.sleep(0.02)
    return done.is_set()


async def busy_line(box: tuple[str, int], card_port: int) -> tuple[bool, str]:
    rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rtp.bind(("127.0.0.1", 0))
    card = Party("fxo", "", card_port, box)
    await card.driver.start()
    try:
        call = card.do("call", "1", offer_sdp("127.0.0.1", rtp.getsockname()[1]))
        state = lambda: card.ua.calls[call].state  # noqa: E731
        await until(lambda: state() == "answered", "the port's call answered")
        ended = asyncio.Event()
        sender = asyncio.ensure_future(play(rtp, relay_address(card.ua.calls[call].remote_body),
                                            key_then_busy(), ended))
        await until(lambda: state() == "ended" or sender.done(), "our BYE", within=20)
        ended.set()
        released = await sender
        await asyncio.sleep(1.0)  # the card's guard time (0.5 s) before the line is free
        again = card.do("call", "1", offer_sdp("127.0.0.1", rtp.getsockname()[1]))
        await until(lambda: card.ua.calls[again].state in ("answered", "ended"), "next call")
        next_call = card.ua.calls[again].state
        card.do("hangup", again)
        await until(lambda: card.ua.calls[again].state == "ended", "next call's end")
        return released, next_call
    finally:
        card.driver.close()
        rtp.close()


def test_busy_tone_on_an_fxo_line_ends_its_call_and_frees_the_port(tmp_path: Path) -> None:
    card_port = free_udp_port()
    config = site_with_cards(tmp_path / "site.yaml", {"fxo1": card_port})
    box = ApplianceProcess(config, tmp_path)
    try:
        released, next_call = asyncio.run(busy_line(box.address, card_port))
    finally:
        assert box.stop() == 0, box.log()
    assert released, "the call was still up when the tone had played its bound and more"
    assert next_call == "answered"
    records = RecordReader(box.records).events()
    assert [(r.digit, r.via) for r in records if isinstance(r, DigitReceived)] == [
        ("5", "inband")]
    assert len([r for r in records if isinstance(r, CallEnded)]) == 2


async def out_past_a_dead_card(box: tuple[str, int], ports: dict[str, int]) -> list[str]:
    """The first card stops answering; once the appliance has noticed (Timer F of its
    OPTIONS, 32 s), the phone calls out twice: which cards see the calls."""
    cards = {name: Party(name, "", port, box) for name, port in ports.items()}
    phone = Party("1001", PASSWORDS["1001"], free_udp_port(), box)
    for party in (*cards.values(), phone):
        await party.driver.start()
    try:
        phone.do("register")
        await until(lambda: any(e.kind == "registered" for e in phone.ua.events))
        await asyncio.sleep(1.5)  # both cards have answered a probe
        cards["fxo1"].ua.ignore_all = True
        await asyncio.sleep(32 + 2.5)
        seen = []
        for number in ("90301234567", "90301234568"):
            call = phone.do("call", number, offer_sdp("127.0.0.1", 41000))
            await until(lambda: any(c.incoming() for c in cards.values()), "a card rung")
            name, card = next((n, c) for n, c in cards.items() if c.incoming())
            seen.append(name)
            card.do("reject", card.incoming().id, 486, "Busy Here")
            await until(lambda: phone.ua.calls[call].state == "ended", "the refusal")  # noqa: B023
        return seen
    finally:
        for party in (*cards.values(), phone):
            party.driver.close()


def test_a_card_silent_to_options_is_taken_out_and_calls_go_out_on_the_others_ports(
        tmp_path: Path) -> None:
    ports = {"fxo1": free_udp_port(), "fxo2": free_udp_port()}
    config = site_with_cards(tmp_path / "site.yaml", ports, probe_interval=1.0)
    box = ApplianceProcess(config, tmp_path)
    try:
        seen = asyncio.run(out_past_a_dead_card(box.address, ports))
    finally:
        assert box.stop() == 0, box.log()
    assert seen == ["fxo2", "fxo2"]
    assert "(gateway fxo1) does not answer OPTIONS" in box.log()
