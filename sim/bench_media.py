"""How many calls' media the relay carries: RTP through `MediaDriver` on 127.0.0.1.

The relay runs in its own process, as on the box. A load process plays both ends of every
call - a gateway and a phone - sending one 20 ms G.711 packet each way per call every 20 ms,
each stamped with its send time on the machine's monotonic clock, and measures how late each
packet arrives at the other end and how many never do. A step passes when the 99.9th
percentile of that delay is at most 20 ms and no packet is lost.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import socket
import struct
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from appliance.media.relay import AGENT, CALLER, MediaRelay
from appliance.media.rtp import RtpPacket
from sim.traffic.sipp import udp_ports_free

HOST = "127.0.0.1"
PACKET_INTERVAL = 0.02
PAYLOAD_BYTES = 160
MAX_P999_MS = 20.0
_STAMP = struct.Struct("!dI")  # send time, stream number


@dataclass(frozen=True)
class MediaStep:
    calls: int
    seconds: float
    sent: int
    received: int
    lost: int
    p50_ms: float
    p99_ms: float
    p999_ms: float
    relay_cpu_ms_per_call_second: float

    @property
    def passed(self) -> bool:
        return self.lost == 0 and self.p999_ms <= MAX_P999_MS


def _relay_process(port_start: int, peers: list[tuple[Address, Address]],
                   conn: multiprocessing.connection.Connection) -> None:
    from appliance.live.media import MediaDriver

    async def main() -> None:
        relay = MediaRelay(range(port_start, port_start + 4 * len(peers)), media_timeout=3600)
        driver = MediaDriver(relay, HOST)
        driver.start()
        ports = []
        for call, (gateway, phone) in enumerate(peers, start=1):
            session = relay.open(call, driver.now())
            relay.set_peer(call, CALLER, gateway)
            relay.set_peer(call, AGENT, phone)
            ports.append((session.sides[CALLER].local_port, session.sides[AGENT].local_port))
        driver.flush()
        conn.send(ports)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, conn.recv)  # until told to stop
        times = os.times()
        conn.send(times.user + times.system)
        driver.close()

    asyncio.run(main())


Address = tuple[str, int]


def _endpoints(calls: int) -> list[tuple[socket.socket, socket.socket]]:
    pairs = []
    for _ in range(calls):
        pair = []
        for _side in range(2):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((HOST, 0))
            sock.setblocking(False)
            pair.append(sock)
        pairs.append((pair[0], pair[1]))
    return pairs


def _play(pairs: list[tuple[socket.socket, socket.socket]], ports: list[tuple[int, int]],
          seconds: float) -> tuple[int, list[float]]:
    """Send both ways on every call for `seconds`; the delays (s) of what arrived."""
    import selectors

    selector = selectors.DefaultSelector()
    for gateway, phone in pairs:
        selector.register(gateway, selectors.EVENT_READ)
        selector.register(phone, selectors.EVENT_READ)
    template = bytes(RtpPacket(0, 0, 0, 1, b"\xff" * PAYLOAD_BYTES))
    delays: list[float] = []
    sent = 0
    start = time.monotonic()
    next_tick = start
    end = start + seconds
    while True:
        now = time.monotonic()
        if now >= next_tick and now < end:
            for index, (gateway, phone) in enumerate(pairs):
                caller_port, agent_port = ports[index]
                stamp = _STAMP.pack(time.monotonic(), index)
                packet = template[:12] + stamp + template[12 + _STAMP.size:]
                gateway.sendto(packet, (HOST, caller_port))
                phone.sendto(packet, (HOST, agent_port))
                sent += 2
            next_tick += PACKET_INTERVAL
        if now >= end + 0.5:
            break
        timeout = max(0.0, min(next_tick, end + 0.5) - time.monotonic())
        for key, _ in selector.select(timeout):
            sock = key.fileobj
            while True:
                try:
                    data = sock.recv(2048)  # type: ignore[union-attr]
                except BlockingIOError:
                    break
                arrived = time.monotonic()
                sent_at, _stream = _STAMP.unpack_from(data, 12)
                delays.append(arrived - sent_at)
    selector.close()
    return sent, delays


def _free_media_block(count: int, low: int = 20_000, high: int = 32_000) -> int:
    """A free block of `count` ports below Linux's ephemeral range (where the kernel's own
    picks for port 0 land), as an appliance's configured RTP range would be."""
    for start in range(low, high - count, count):
        if udp_ports_free(start, count, HOST):
            return start
    raise OSError(f"no block of {count} free UDP ports in {low}-{high}")


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("inf")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def measure_step(calls: int, seconds: float = 5.0) -> MediaStep:
    pairs = _endpoints(calls)
    peers = [(g.getsockname()[:2], p.getsockname()[:2]) for g, p in pairs]
    port_start = _free_media_block(4 * calls)
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=_relay_process, args=(port_start, peers, child), daemon=True)
    process.start()
    try:
        if not parent.poll(30):
            raise RuntimeError("the relay process did not start")
        ports = parent.recv()
        sent, delays = _play(pairs, ports, seconds)
        parent.send("stop")
        cpu = parent.recv() if parent.poll(30) else float("nan")
    finally:
        process.join(10)
        if process.is_alive():
            process.kill()
        for gateway, phone in pairs:
            gateway.close()
            phone.close()
    return MediaStep(calls, seconds, sent, len(delays), sent - len(delays),
                     1000 * _percentile(delays, 0.5), 1000 * _percentile(delays, 0.99),
                     1000 * _percentile(delays, 0.999), 1000 * cpu / (calls * seconds))


def measure_media(steps: Sequence[int] = (50, 100, 200, 300, 400), seconds: float = 5.0,
                  ) -> dict[str, object]:
    """Raise the number of calls until a step fails; the last passing one is `held`."""
    results: list[MediaStep] = []
    for calls in steps:
        results.append(measure_step(calls, seconds))
        if not results[-1].passed:
            break
    passing = [step.calls for step in results if step.passed]
    return {"held": max(passing, default=0), "seconds": seconds,
            "steps": [asdict(step) | {"passed": step.passed} for step in results]}
