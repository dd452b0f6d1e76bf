"""Real UDP for the testbed's cores: sent at once, received at the time of arrival."""

from __future__ import annotations

import asyncio
import socket

import pytest
import simpy

from appliance.net import Address
from sim.load.realtime import Pacer
from sim.load.udpnet import UdpNetwork


class EchoCore:
    """Answers every datagram with its bytes reversed, and wants a wake-up once."""

    def __init__(self) -> None:
        self.heard: list[tuple[bytes, Address, float]] = []
        self.outbox: list[tuple[bytes, Address]] = []
        self.deadline: float | None = None
        self.woken: list[float] = []

    def receive_datagram(self, data: bytes, source: Address, now: float) -> None:
        self.heard.append((data, source, now))
        self.outbox.append((data[::-1], source))
        self.deadline = now + 0.01

    def take_datagrams(self) -> list[tuple[bytes, Address]]:
        out, self.outbox = self.outbox, []
        return out

    def next_deadline(self) -> float | None:
        return self.deadline

    def on_deadline(self, now: float) -> None:
        self.woken.append(now)
        self.deadline = None


def test_a_core_hears_a_datagram_answers_through_its_socket_and_is_woken() -> None:
    env = simpy.Environment()
    pacer = Pacer(env)
    net = UdpNetwork(pacer)
    core = EchoCore()
    address = net.bind()
    net.attach(address, core)
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    peer.settimeout(5)
    peer_address = peer.getsockname()

    async def main() -> bytes:
        net.open()
        run = asyncio.create_task(pacer.run(0.3))
        peer.sendto(b"INVITE", address)
        answer = await asyncio.to_thread(peer.recv, 100)
        await run
        return answer

    try:
        assert asyncio.run(main()) == b"ETIVNI"
    finally:
        net.close()
        peer.close()
    (data, source, at), = core.heard
    assert (data, source) == (b"INVITE", peer_address)
    assert core.woken == [pytest.approx(at + 0.01)]
    assert all(sock.fileno() == -1 for sock in net.sockets.values())


def test_a_core_needs_a_socket_bound_first() -> None:
    net = UdpNetwork(Pacer(simpy.Environment()))
    with pytest.raises(ValueError, match="bind"):
        net.attach(("127.0.0.1", 9), EchoCore())
    net.close()
