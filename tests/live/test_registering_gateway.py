"""A gateway that registers, through `ccbox serve` over real UDP: the testbed's user agent
plays a 4-port FXO card with no address in the site, registering as `card` with digest. Its
call on port 2 (the port in the Request-URI) is taken once it has registered; after it removes
its registration a call on a port is refused as out of service (486)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import yaml

from sim.live import ApplianceProcess
from sim.sipua import offer_sdp
from sim.traffic.sipp import free_udp_port
from tests.live.parties import Party, until
from tests.live.test_gateway_ports import site_with_cards


def site_with_registering_card(path: Path) -> Path:
    config = site_with_cards(path, {"card": 1})
    site = yaml.safe_load(config.read_text())
    gateway = site["gateways"][0]
    del gateway["address"]
    gateway["register"] = {"user": "card", "password": "card-secret"}
    config.write_text(yaml.safe_dump(site, sort_keys=False))
    return config


async def call_states(box: tuple[str, int]) -> list[str]:
    """How the card's calls end: before registering, registered, unregistered."""
    card = Party("card", "card-secret", free_udp_port(), box)
    await card.driver.start()
    try:
        states = []
        for expires in (None, 3600, 0):
            if expires is not None:
                card.do("register", expires)
                await until(lambda: any(e.kind == "registered" for e in card.ua.events))
                card.ua.take_events()
            call = card.do("call", "2", offer_sdp("127.0.0.1", 41000))
            done = lambda: card.ua.calls[call].state in ("answered", "ended")  # noqa: B023, E731
            await until(done, "the port's call answered or refused")
            states.append(card.ua.calls[call].state)
            if states[-1] == "answered":
                card.do("hangup", call)
                await until(lambda: card.ua.calls[call].state == "ended", "hang-up")  # noqa: B023
                await asyncio.sleep(1.0)  # the card's guard time
        return states
    finally:
        card.driver.close()


def test_a_registering_card_is_reached_once_registered_and_out_once_unregistered(
        tmp_path: Path) -> None:
    config = site_with_registering_card(tmp_path / "site.yaml")
    box = ApplianceProcess(config, tmp_path)
    try:
        states = asyncio.run(call_states(box.address))
    finally:
        assert box.stop() == 0, box.log()
    assert states == ["ended", "answered", "ended"]
