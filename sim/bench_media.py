"""How many calls' media the appliance carries: RTP through `MediaDriver` on 127.0.0.1.

The relay runs in its own process, as on the box. A load process plays both ends of every
call - a gateway and a phone - sending one 20 ms G.711 packet each way per call every 20 ms,
each stamped with its send time on the machine's monotonic clock, and measures how late each
packet arrives at the other end and how many never do. A step passes when the 99.9th
percentile of that delay is at most 20 ms and no packet is lost.

Recorded (the default), the relay process runs a `MediaPlane` with the live `WavDesk`, as the
appliance does: every call is opened through the plane and recorded, so every packet is tapped
and written to a WAV in a temporary folder (removed afterwards). The recordings start in the
second before the load does, one batch per 20 ms tick, as calls that began at different times
do: otherwise every call's once-a-second write would fall into the same tick, and the step
would measure a burst of file creation no appliance sees rather than calls being held. What
starting and finishing the recordings cost is reported apart. After the step every WAV is
read back: its duration must be within 100 ms of the time from its start to the step's end.
Bare (`record=False`), the process runs only the `MediaRelay`: the baseline. Either way the
relay rewrites every packet into the stream the appliance sends that party and sends each
party RTCP; the load leaves that RTCP out of its counts.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import shutil
import socket
import struct
import tempfile
import time
import wave
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from appliance.media.relay import AGENT, CALLER, MediaRelay
from appliance.media.rtp import RtpPacket
from appliance.net import Address
from sim.live import media_port_window
from sim.traffic.sipp import udp_ports_free

if TYPE_CHECKING:
    import multiprocessing.connection

    from appliance.live.media import MediaDriver

HOST = "127.0.0.1"
PACKET_INTERVAL = 0.02
PAYLOAD_BYTES = 160
MAX_P999_MS = 20.0
MAX_DURATION_ERROR_MS = 100.0
RECORDING_BYTES_PER_SECOND = 16_000  # 8 kHz mono 16-bit, the mixed file
# Recording starts are spread over this many 20 ms ticks (one second).
START_SLOTS = 50
# The recordings end this long after the last packet was due, so that none still on its way
# is dropped with its call; a recording's expected length includes it.
END_GRACE = 2 * PACKET_INTERVAL
_STAMP = struct.Struct("!dI")  # send time, stream number
_NUMBERS = struct.Struct("!HI")  # an RTP sequence number and timestamp


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
    recorded: bool = False
    recordings: int = 0
    """Recordings read back after the step (each call's mixed WAV)."""
    worst_duration_error_ms: float = 0.0
    """The largest gap between a recording's duration and the time its call was recorded."""
    bytes_per_call_second: float = 0.0
    """Recording bytes on disk per second of recorded call."""
    start_max_ms: float = 0.0
    """The longest the relay's event loop spent starting one call's recording."""
    start_and_finish_cpu_ms_per_call: float = 0.0
    """Relay CPU to start and finish a call's recording (outside the measured seconds)."""

    @property
    def passed(self) -> bool:
        held = self.lost == 0 and self.p999_ms <= MAX_P999_MS
        if not self.recorded:
            return held
        return (held and self.recordings == self.calls
                and self.worst_duration_error_ms <= MAX_DURATION_ERROR_MS)


def _relay_process(port_start: int, peers: list[tuple[Address, Address]],
                   conn: multiprocessing.connection.Connection, folder: str | None) -> None:
    """Relay (and with `folder`, record) the calls. Sends the ports once every call is up,
    then answers the load's "end" with `_Report` fields: the CPU seconds from the ports to
    the end, and the recordings' (file, start on the monotonic clock), their longest start
    (seconds) and the CPU seconds spent starting and finishing them."""
    from appliance.live.media import MediaDriver

    async def main() -> None:
        loop = asyncio.get_running_loop()
        ports = range(port_start, port_start + 4 * len(peers))
        core = _BareCalls(ports) if folder is None else _RecordedCalls(ports, folder)
        driver = MediaDriver(core.source, HOST)
        driver.start()
        opened = core.open(peers, driver.now())
        driver.flush()  # listening on every port before the load hears of them
        before = time.process_time()
        await core.start(driver)
        started = time.process_time()
        conn.send(opened)
        await loop.run_in_executor(None, conn.recv)  # "end": the last packets have arrived
        ended = time.process_time()
        core.end(driver)
        conn.send((ended - started, core.recordings, core.start_max,
                   started - before + time.process_time() - ended))
        driver.close()

    asyncio.run(main())


class _BareCalls:
    """The relay alone: each call's two sides pointed at its gateway and its phone."""

    def __init__(self, ports: range) -> None:
        self.source = self.relay = MediaRelay(ports, media_timeout=3600)
        self.recordings: list[tuple[str, float]] = []
        self.start_max = 0.0

    def open(self, peers: list[tuple[Address, Address]], now: float) -> list[tuple[int, int]]:
        ports = []
        for call, (gateway, phone) in enumerate(peers, start=1):
            session = self.relay.open(call, now)
            self.relay.set_peer(call, CALLER, gateway)
            self.relay.set_peer(call, AGENT, phone)
            ports.append((session.sides[CALLER].local_port, session.sides[AGENT].local_port))
        return ports

    async def start(self, driver: MediaDriver) -> None:
        pass

    def end(self, driver: MediaDriver) -> None:
        pass


class _RecordedCalls:
    """The appliance's media plane with its WAV desk: bridged calls, each recorded."""

    def __init__(self, ports: range, folder: str) -> None:
        from random import Random

        from appliance.clock import Deadlines
        from appliance.config.live import Recording
        from appliance.live.recordings import WavDesk
        from appliance.media.plane import MediaPlane

        desk = WavDesk(Recording(folder=folder), "bench")
        self.source = self.plane = MediaPlane(HOST, ports, Deadlines(), Random(0),
                                              media_timeout=3600, recordings=desk)
        self.calls: list[int] = []
        self.recordings: list[tuple[str, float]] = []  # (file, start on the monotonic clock)
        self.start_max = 0.0

    def open(self, peers: list[tuple[Address, Address]], now: float) -> list[tuple[int, int]]:
        ports = []
        for call, (gateway, phone) in enumerate(peers, start=1):
            ports.append(self.plane.open(call, now))
            self.plane.set_caller(call, gateway, 0, None, False)
            self.plane.set_agent(call, phone, now)
            self.calls.append(call)
        return ports

    async def start(self, driver: MediaDriver) -> None:
        """Start recording every call, a batch every 20 ms tick over one second."""
        loop = asyncio.get_running_loop()
        begin = loop.time()
        for slot in range(START_SLOTS):
            await asyncio.sleep(max(0.0, begin + slot * PACKET_INTERVAL - loop.time()))
            for call in self.calls[slot::START_SLOTS]:
                at, started = loop.time(), time.perf_counter()
                name = self.plane.record(call, driver.now())
                self.start_max = max(self.start_max, time.perf_counter() - started)
                if name is not None:
                    self.recordings.append((name, at))
            driver.flush()
        await asyncio.sleep(max(0.0, begin + START_SLOTS * PACKET_INTERVAL - loop.time()))

    def end(self, driver: MediaDriver) -> None:
        self.plane.close_all(driver.now())
        driver.flush()


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
          seconds: float, on_end: Callable[[float], None] = lambda at: None,
          ) -> tuple[int, list[float]]:
    """Send both ways on every call for `seconds`; the delays (s) of what arrived.
    `on_end(at)` is called `END_GRACE` after the end, once every packet should have arrived,
    with the time on the monotonic clock."""
    import selectors

    selector = selectors.DefaultSelector()
    for gateway, phone in pairs:
        selector.register(gateway, selectors.EVENT_READ)
        selector.register(phone, selectors.EVENT_READ)
    template = bytes(RtpPacket(0, 0, 0, 1, b"\xff" * PAYLOAD_BYTES))
    delays: list[float] = []
    sent = ticks = 0
    start = time.monotonic()
    next_tick = start
    end = start + seconds
    ended = False
    while True:
        now = time.monotonic()
        if now >= next_tick and now < end:
            # Sequence numbers and timestamps run on, as a phone's do: the relay's rewrite
            # and reception statistics take their usual path.
            numbers = _NUMBERS.pack(ticks % 65536, ticks * PAYLOAD_BYTES % 2**32)
            ticks += 1
            for index, (gateway, phone) in enumerate(pairs):
                caller_port, agent_port = ports[index]
                stamp = _STAMP.pack(time.monotonic(), index)
                packet = template[:2] + numbers + template[8:12] + stamp + \
                    template[12 + _STAMP.size:]
                gateway.sendto(packet, (HOST, caller_port))
                phone.sendto(packet, (HOST, agent_port))
                sent += 2
            next_tick += PACKET_INTERVAL
        if not ended and now >= end + END_GRACE:
            on_end(now)
            ended = True
        if now >= end + 0.5:
            break
        wake = min(next_tick, end + 0.5) if ended else min(next_tick, end + END_GRACE)
        timeout = max(0.0, wake - time.monotonic())
        for key, _ in selector.select(timeout):
            sock = key.fileobj
            while True:
                try:
                    data = sock.recv(2048)  # type: ignore[union-attr]
                except BlockingIOError:
                    break
                if 192 <= data[1] <= 223:
                    continue  # the relay's own RTCP to a port above one of ours: not RTP
                arrived = time.monotonic()
                sent_at, _stream = _STAMP.unpack_from(data, 12)
                delays.append(arrived - sent_at)
    selector.close()
    return sent, delays


def _free_media_block(count: int) -> int:
    """A free block of `count` ports below Linux's ephemeral range (where the kernel's own
    picks for port 0 land), as an appliance's configured RTP range would be, in this
    process's window (`media_port_window`: apart from other test workers' appliances)."""
    low, high = media_port_window()
    for start in range(low, high + 1 - count, count):
        if udp_ports_free(start, count, HOST):
            return start
    raise OSError(f"no block of {count} free UDP ports in {low}-{high}")


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("inf")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def recording_room(calls: int, seconds: float) -> tuple[int, int]:
    """(bytes free, bytes a recorded step of `calls` for `seconds` needs) where the bench
    writes its recordings: the needed room includes the margin below which the appliance's
    disk guard refuses to record."""
    from appliance.config.live import Recording
    from appliance.live.recordings import MB

    free = shutil.disk_usage(tempfile.gettempdir()).free
    written = int(calls * (seconds + 1.0) * RECORDING_BYTES_PER_SECOND)
    return free, written + Recording().resume_above_mb * MB


def check_recordings(folder: Path, expected: dict[str, float]) -> tuple[int, float, float]:
    """Read back the WAVs named in `expected` (file -> seconds its call was recorded):
    (files read, the largest duration error in ms, bytes on disk per recorded second)."""
    worst = 0.0
    size = duration = 0.0
    read = 0
    for name, seconds in expected.items():
        path = Path(name)
        if not path.is_relative_to(folder) or not path.is_file():
            continue
        with wave.open(str(path), "rb") as wav:
            length = wav.getnframes() / wav.getframerate()
        read += 1
        worst = max(worst, abs(length - seconds))
        size += path.stat().st_size
        duration += length
    return read, 1000 * worst, size / duration if duration else 0.0


def measure_step(calls: int, seconds: float = 5.0, record: bool = True) -> MediaStep:
    """One step of `calls` concurrent calls for `seconds`, recorded unless `record` is False."""
    if record:
        free, needed = recording_room(calls, seconds)
        if free < needed:
            raise OSError(f"{free // 1_000_000} MB free in {tempfile.gettempdir()}; a recorded "
                          f"step of {calls} calls needs {needed // 1_000_000} MB")
    with tempfile.TemporaryDirectory(prefix="ccbox-bench-media-") as scratch:
        folder = Path(scratch).resolve()
        step, report = _run_step(calls, seconds, str(folder) if record else None)
        if not record:
            return step
        expected = {name: report.ended - started for name, started in report.recordings}
        read, worst_ms, per_second = check_recordings(folder, expected)
    return MediaStep(**asdict(step) | {
        "recorded": True, "recordings": read, "worst_duration_error_ms": worst_ms,
        "bytes_per_call_second": per_second, "start_max_ms": 1000 * report.start_max,
        "start_and_finish_cpu_ms_per_call": 1000 * report.start_and_finish_cpu / calls})


@dataclass
class _Report:
    """What the relay process tells of a step, and when the load ended it."""

    cpu: float = float("nan")
    recordings: list[tuple[str, float]] = field(default_factory=list)
    start_max: float = 0.0
    start_and_finish_cpu: float = 0.0
    ended: float = 0.0


def _run_step(calls: int, seconds: float, folder: str | None) -> tuple[MediaStep, _Report]:
    pairs = _endpoints(calls)
    peers = [(g.getsockname()[:2], p.getsockname()[:2]) for g, p in pairs]
    port_start = _free_media_block(4 * calls)
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=_relay_process, args=(port_start, peers, child, folder), daemon=True)
    process.start()
    report = _Report()

    def end(at: float) -> None:
        report.ended = at
        parent.send("end")

    try:
        if not parent.poll(30):
            raise RuntimeError("the relay process did not start")
        ports = parent.recv()
        sent, delays = _play(pairs, ports, seconds, end)
        if parent.poll(60):
            (report.cpu, report.recordings, report.start_max,
             report.start_and_finish_cpu) = parent.recv()
    finally:
        process.join(10)
        if process.is_alive():
            process.kill()
        for gateway, phone in pairs:
            gateway.close()
            phone.close()
    step = MediaStep(calls, seconds, sent, len(delays), sent - len(delays),
                     1000 * _percentile(delays, 0.5), 1000 * _percentile(delays, 0.99),
                     1000 * _percentile(delays, 0.999), 1000 * report.cpu / (calls * seconds))
    return step, report


def measure_media(steps: Sequence[int] = (50, 100, 200, 300, 400), seconds: float = 5.0,
                  record: bool = True, baseline: bool = False) -> dict[str, object]:
    """Raise the number of calls until a step fails; the last passing one is `held`.

    Recorded unless `record` is False; with `baseline` as well, the bare relay is measured
    at the same steps (until it fails) and reported under "baseline" in the same shape."""
    modes = [record, False] if record and baseline else [record]
    results: dict[bool, list[MediaStep]] = {mode: [] for mode in modes}
    for calls in steps:
        going = [mode for mode in modes if not results[mode] or results[mode][-1].passed]
        if not going:
            break
        for mode in going:
            results[mode].append(measure_step(calls, seconds, record=mode))
    figures = _summary(results[record]) | {"seconds": seconds, "recorded": record}
    if len(modes) > 1:
        figures["baseline"] = _summary(results[False])
    return figures


def _summary(steps: list[MediaStep]) -> dict[str, object]:
    passing = [step.calls for step in steps if step.passed]
    return {"held": max(passing, default=0),
            "steps": [asdict(step) | {"passed": step.passed} for step in steps]}
