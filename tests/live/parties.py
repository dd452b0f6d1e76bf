"""The parties of the live tests: the testbed's user agents (`sim.sipua`) on UDP sockets of
their own, each with its driver, the RTP each sends (a tone) and keeps, and waiting until
they see what a test expects of them."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from random import Random
from typing import Any

import yaml

from appliance.live.udp import UdpDriver
from appliance.media import sdp
from appliance.media.g711 import ulaw_encode
from appliance.media.rtp import RtpPacket
from sim.live import write_site
from sim.sipua import UaCall, UserAgent, offer_sdp
from sim.traffic.rtp_pcap import tone
from sim.traffic.sipp import free_udp_port

WITHIN = 10.0  # seconds a test waits for what it expects before it fails


async def until(condition: Callable[[], bool], what: str = "", within: float = WITHIN) -> None:
    """Return once `condition` holds, looking every 50 ms; fail, naming `what`, if it does
    not within `within` seconds."""
    for _ in range(int(within / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {within} s: {what}")


def incoming(ua: UserAgent) -> int | None:
    """The call ringing at `ua`, if any."""
    return next((c.id for c in ua.calls.values() if c.state == "incoming"), None)


def relay_address(body: bytes) -> tuple[str, int]:
    """Where the SDP `body` says to send RTP: the appliance's relay port for the party."""
    description = sdp.parse(body)
    stream = description.media[0]
    connection = stream.connection or description.connection
    assert connection is not None
    return connection.address, stream.port


class RtpParty:
    """A party's RTP socket: sends `hz` every 20 ms to `peer`, keeps what arrives by phase."""

    def __init__(self, port: int, hz: float) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port))
        self.sock.setblocking(False)
        self.port = port
        self.frames = ulaw_encode(tone(hz, 1.0))
        self.ssrc = Random(port).getrandbits(32)
        self.seq = 0
        self.peer: tuple[str, int] | None = None
        self.phase = "talking"
        self.received: dict[str, list[bytes]] = {}

    def tick(self, settled: bool) -> None:
        if self.peer is not None:
            start = (self.seq % 50) * 160
            packet = RtpPacket(0, self.seq & 0xFFFF, self.seq * 160, self.ssrc,
                               self.frames[start:start + 160])
            self.sock.sendto(bytes(packet), self.peer)
            self.seq += 1
        while True:
            try:
                data = self.sock.recv(2048)
            except BlockingIOError:
                return
            if settled:
                self.received.setdefault(self.phase, []).append(data)


class Party:
    """A user agent on its own UDP socket."""

    def __init__(self, user: str, password: str, port: int, box: tuple[str, int]) -> None:
        self.ua = UserAgent(user, password, ("127.0.0.1", port), box, Random(user))
        self.driver = UdpDriver(self.ua, "127.0.0.1", port)  # type: ignore[arg-type]

    def do(self, method: str, *args: object) -> object:
        result = getattr(self.ua, method)(self.driver.now(), *args)
        self.driver.flush()
        return result

    def incoming(self) -> UaCall | None:
        return next((c for c in self.ua.calls.values() if c.state == "incoming"), None)


def write_site_calling_out(path: Path, gateway_port: int, passwords: dict[str, str],
                           **sections: Any) -> Path:
    """`write_site`'s site, whose trunk's calls out go to the gateway on `gateway_port`
    (prefix 9)."""
    config = write_site(path, gateway_port, passwords, **sections)
    site = yaml.safe_load(config.read_text())
    site["trunk_groups"][0]["outbound"] = {"gateway": f"127.0.0.1:{gateway_port}",
                                           "prefix": "9"}
    config.write_text(yaml.safe_dump(site, sort_keys=False))
    return config


@asynccontextmanager
async def phone_and_gateway(box: tuple[str, int], user: str, password: str,
                            gateway_port: int) -> AsyncIterator[tuple[Party, Party, bytes]]:
    """`user`'s phone, registered, and the trunk's gateway on `gateway_port`, and the SDP
    offer both make (of a port held for the test, where their RTP would go)."""
    rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rtp.bind(("127.0.0.1", 0))
    body = offer_sdp("127.0.0.1", rtp.getsockname()[1])
    phone = Party(user, password, free_udp_port(), box)
    gateway = Party("gw", "", gateway_port, box)
    await phone.driver.start()
    await gateway.driver.start()
    try:
        phone.do("register")
        await until(lambda: any(e.kind == "registered" for e in phone.ua.events))
        yield phone, gateway, body
    finally:
        phone.driver.close()
        gateway.driver.close()
        rtp.close()


async def answered_out(phone: Party, gateway: Party, number: str, body: bytes,
                       seconds: float) -> str:
    """`phone` calls `number`, which reaches `gateway`; it answers, they talk for `seconds`
    and the phone hangs up: the Request-URI the gateway was sent."""
    call = phone.do("call", number, body)
    await until(lambda: gateway.incoming() is not None)
    far = gateway.incoming()
    assert far is not None
    gateway.do("answer", far.id, body)
    await until(lambda: phone.ua.calls[call].state == "answered")  # type: ignore[index]
    await asyncio.sleep(seconds)
    phone.do("hangup", call)
    await until(lambda: far.state == "ended")
    return far.invite.uri


class GatewayAndPhones:
    """A trunk's gateway ("gw", on `gateway_port`: trunk calls come from it) and phones,
    each a user agent on UDP with its driver, and the parties' RTP by user."""

    def __init__(self, box: tuple[str, int], gateway_port: int, passwords: dict[str, str],
                 rtp: dict[str, RtpParty]) -> None:
        self.gateway = UserAgent("gw", "", ("127.0.0.1", gateway_port), box, Random("gw"))
        self.phones = {user: UserAgent(user, password, ("127.0.0.1", free_udp_port()), box,
                                       Random(user)) for user, password in passwords.items()}
        self.rtp = rtp
        self.drivers = {ua.user: UdpDriver(ua, ua.local[0], ua.local[1])  # type: ignore[arg-type]
                        for ua in (self.gateway, *self.phones.values())}

    async def start(self, register: bool = True) -> None:
        """Start the drivers and, unless told not to, register every phone."""
        for driver in self.drivers.values():
            await driver.start()
        if not register:
            return
        for phone in self.phones.values():
            self.do(phone, "register", 3600)
        await until(lambda: all(any(e.kind == "registered" for e in p.events)
                                for p in self.phones.values()), "registered")

    def do(self, ua: UserAgent, method: str, *args: object) -> object:
        result = getattr(ua, method)(self.drivers[ua.user].now(), *args)
        self.drivers[ua.user].flush()
        return result

    def offer(self, user: str) -> bytes:
        """An SDP offer of `user`'s RTP socket."""
        return offer_sdp("127.0.0.1", self.rtp[user].port)

    async def talk(self, phase: str = "talking", seconds: float = 2.0,
                   settle: float = 0.5) -> None:
        """Every party sends and receives for `seconds`, keeping what arrives after
        `settle` (signalling's round trips and jitter) as `phase`."""
        for party in self.rtp.values():
            party.phase = phase
        for step in range(int(seconds / 0.02)):
            for party in self.rtp.values():
                party.tick(step * 0.02 >= settle)
            await asyncio.sleep(0.02)

    def close(self) -> None:
        for driver in self.drivers.values():
            driver.close()
        for party in self.rtp.values():
            party.sock.close()
