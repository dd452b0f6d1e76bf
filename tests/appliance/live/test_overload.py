"""Overload on a real socket: a backlog older than BACKLOG_OVERLOAD makes the driver refuse new
INVITEs itself, serve what keeps calls and peers going first, and tell the core."""

from __future__ import annotations

import asyncio
import socket
import struct
import sys
import time
from collections.abc import Awaitable, Callable

import pytest

from appliance.config.live import RequestLimit
from appliance.live.udp import (
    BACKLOG_OVERLOAD,
    INVITE_TOO_OLD,
    OVERLOAD_HOLD,
    OVERLOAD_PERSIST,
    UdpDriver,
)
from appliance.pbx.sip import Response
from tests.appliance.live import test_backlog
from tests.appliance.live.test_udp import WAIT, Address, Client, run_with_driver, until

STALL = BACKLOG_OVERLOAD + 0.15  # the loop is blocked this long while datagrams arrive
LONG_STALL = INVITE_TOO_OLD + 0.1
# What a slow core spends on each datagram: a backlog of 20 then stays late for longer than
# OVERLOAD_PERSIST.
SLOW = 2 * OVERLOAD_PERSIST / 10
SO_TIMESTAMPNS = 35  # Linux's; Python's socket module does not name it
TIMESPEC = struct.Struct("@qq")
PROBE_GAP = 0.01  # a probe waits this long between arriving and being read


class RecordingCore:
    """Answers OPTIONS with 200 and records the method of everything it is given, in order;
    spends `cost` seconds on each."""

    def __init__(self, cost: float = 0.0) -> None:
        self.cost = cost
        self.methods: list[str] = []
        self.overload_calls: list[bool] = []
        self.overload_times: list[float] = []  # on `clock`, when each overload call came
        self.clock: Callable[[], float] = lambda: 0.0
        self._outbox: list[tuple[bytes, Address]] = []

    def receive_datagram(self, data: bytes, source: Address, now: float) -> None:
        method = data.split(b" ", 1)[0].decode()
        self.methods.append(method)
        time.sleep(self.cost)
        if method == "OPTIONS":
            self._outbox.append((RESPONSE_200, source))

    def take_datagrams(self) -> list[tuple[bytes, Address]]:
        out, self._outbox = self._outbox, []
        return out

    def next_deadline(self) -> float | None:
        return None

    def on_deadline(self, now: float) -> None:
        pass

    def shutdown(self, now: float) -> None:
        pass

    def is_idle(self) -> bool:
        return True

    def reload(self, site: object, now: float) -> None:
        pass


class CallCore(RecordingCore):
    """Takes calls, as far as the driver can tell: it has `set_overloaded`."""

    retry_after = 7

    def set_overloaded(self, overloaded: bool) -> None:
        self.overload_calls.append(overloaded)
        self.overload_times.append(self.clock())


def request(method: str, to_tag: str | None = None, **fields: str) -> bytes:
    """A request our client sends: its Via asks for rport, so answers come back to it."""
    return test_backlog.request(method, to_tag, rport=True, **fields)  # type: ignore[arg-type]


RESPONSE_200 = (b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.2;branch=z9hG4bKo\r\n"
                b"From: <sip:x@y>;tag=1\r\nTo: <sip:y@y>;tag=2\r\nCall-ID: o\r\n"
                b"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")


def run_stamped(core: RecordingCore, scenario: Callable[[UdpDriver, Client], Awaitable[None]]
                ) -> None:
    """`run_with_driver`, once the kernel stamps arrivals: it turns stamping on a moment
    after the first socket asks, and stamps what arrived before that when it is read."""
    async def settled(driver: UdpDriver, client: Client) -> None:
        if driver.kernel_timestamps:
            await until(stamped_on_arrival)
        await scenario(driver, client)

    run_with_driver(core, settled)


def stamped_on_arrival() -> bool:
    """Whether a probe datagram read PROBE_GAP after it arrived carries its arrival time
    rather than the time it was read."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        probe.bind(("127.0.0.1", 0))
        probe.settimeout(WAIT)
        probe.sendto(b"probe", probe.getsockname())
        time.sleep(PROBE_GAP)  # the gap that tells an arrival stamp from a read stamp
        _data, ancillary, _flags, _source = probe.recvmsg(16, 64)
        read_at = time.time()
    stamps = [TIMESPEC.unpack_from(payload) for level, kind, payload in ancillary
              if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS]
    return any(read_at - (sec + nsec * 1e-9) >= PROBE_GAP / 2 for sec, nsec in stamps)


async def answers(client: Client, count: int) -> list[Response]:
    return [await client.receive() for _ in range(count)]


def test_a_backlog_that_stays_late_sheds_new_invites_and_serves_the_rest_first() -> None:
    core = CallCore(cost=SLOW)

    async def scenario(driver: UdpDriver, client: Client) -> None:
        server = driver.bound_address
        for n in range(40):
            client.send(request("INVITE", branch=f"z9hG4bKnew{n}", call_id=f"n{n}"), server)
        for n in range(10):
            client.send(request("OPTIONS", branch=f"z9hG4bKo{n}"), server)
            client.send(request("BYE", "t1", branch=f"z9hG4bKb{n}"), server)
        time.sleep(STALL)  # the loop is busy elsewhere: everything above waits
        received = await answers(client, 50)
        assert sorted(a.status for a in received) == [200] * 10 + [503] * 40
        assert {a.headers.get("Retry-After") for a in received if a.status == 503} == {"7"}
        # Nothing of a new call reached the core; the rest did.
        assert sorted(core.methods) == ["BYE"] * 10 + ["OPTIONS"] * 10
        assert core.overload_calls == [True]
        assert driver.stats.shed == 40 and driver.stats.oldest >= STALL
        await until(lambda: core.overload_calls == [True, False])  # the backlog is gone
        client.send(request("INVITE", branch="z9hG4bKafter", call_id="after"), server)
        await until(lambda: core.methods[-1:] == ["INVITE"])

    run_stamped(core, scenario)


def test_in_dialog_requests_overtake_new_invites_that_arrived_before_them() -> None:
    core = CallCore()

    async def scenario(driver: UdpDriver, client: Client) -> None:
        server = driver.bound_address
        client.send(request("INVITE", branch="z9hG4bKfirst", call_id="first"), server)
        client.send(request("BYE", "t1", branch="z9hG4bKbye"), server)
        client.send(request("ACK", "t1", branch="z9hG4bKack"), server)
        time.sleep(STALL)
        await until(lambda: len(core.methods) == 3)
        assert core.methods == ["BYE", "ACK", "INVITE"]
        assert core.overload_calls == []  # one pause of the loop is not an overload

    run_stamped(core, scenario)


def test_a_retransmitted_invite_the_core_has_is_never_shed() -> None:
    core = CallCore()

    async def scenario(driver: UdpDriver, client: Client) -> None:
        server = driver.bound_address
        invite = request("INVITE", branch="z9hG4bKkept", call_id="kept")
        client.send(invite, server)
        await until(lambda: core.methods == ["INVITE"])
        client.send(invite, server)  # our 100 was slow: the caller retransmits
        client.send(request("INVITE", branch="z9hG4bKfresh", call_id="fresh"), server)
        time.sleep(LONG_STALL)  # a fresh INVITE this old is refused
        (refused,) = await answers(client, 1)
        assert refused.headers.get("Call-ID") == "fresh"
        await until(lambda: len(core.methods) == 2)
        assert core.methods == ["INVITE", "INVITE"]  # the retransmission, to its transaction

    run_stamped(core, scenario)


def test_the_ack_of_a_shed_invite_goes_nowhere() -> None:
    core = CallCore()

    async def scenario(driver: UdpDriver, client: Client) -> None:
        server = driver.bound_address
        client.send(request("INVITE", branch="z9hG4bKack1", call_id="a"), server)
        time.sleep(LONG_STALL)
        (refused,) = await answers(client, 1)
        tag = (refused.headers.get("To") or "").split("tag=")[1]
        client.send(request("ACK", tag, branch="z9hG4bKack1", call_id="a"), server)
        client.send(request("OPTIONS", branch="z9hG4bKprobe"), server)
        await until(lambda: "OPTIONS" in core.methods)
        assert core.methods == ["OPTIONS"] and driver.stats.dropped == 1

    run_stamped(core, scenario)


def test_a_core_that_takes_no_calls_gets_every_datagram() -> None:
    core = RecordingCore()

    async def scenario(driver: UdpDriver, client: Client) -> None:
        client.send(request("INVITE", branch="z9hG4bKplain"), driver.bound_address)
        time.sleep(LONG_STALL)
        await until(lambda: core.methods == ["INVITE"])
        assert driver.stats.shed == 0

    run_stamped(core, scenario)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SO_TIMESTAMPNS is Linux's")
def test_age_counts_from_the_kernels_arrival_not_from_the_read() -> None:
    core = CallCore()

    async def scenario(driver: UdpDriver, client: Client) -> None:
        assert driver.kernel_timestamps
        client.send(request("OPTIONS", branch="z9hG4bKage"), driver.bound_address)
        time.sleep(STALL)
        await asyncio.wait_for(client.receive(), WAIT)
        assert driver.stats.oldest >= STALL
        assert driver.stats.received == 1

    run_stamped(core, scenario)


def test_recovery_waits_for_the_hold() -> None:
    core = CallCore(cost=SLOW)

    async def scenario(driver: UdpDriver, client: Client) -> None:
        core.clock = driver.now
        for n in range(20):
            client.send(request("OPTIONS", branch=f"z9hG4bKhold{n}"), driver.bound_address)
        time.sleep(STALL)
        await until(lambda: core.overload_calls == [True, False])
        # Causal, not a speed claim: on the driver's own clock, recovery cannot come before
        # the hold has passed since the overload began.
        overloaded_at, recovered_at = core.overload_times
        assert recovered_at - overloaded_at >= OVERLOAD_HOLD

    run_stamped(core, scenario)


class LimitedCore(RecordingCore):
    """A core whose per-source limit lets 3 requests through, answers 2 more and drops the
    rest; tokens come back too slowly to matter during a test."""

    request_limit = RequestLimit(rate=0.001, burst=3, drop_after=2)


def test_a_flooding_source_gets_503s_then_nothing_and_others_are_served() -> None:
    core = LimitedCore()

    async def scenario(driver: UdpDriver, client: Client) -> None:
        other = Client()
        try:
            for number in range(10):
                client.send(request("SUBSCRIBE", branch=f"z9hG4bKs{number}"),
                            driver.bound_address)
            client.send(request("INVITE", branch="z9hG4bKcall"), driver.bound_address)
            for number in range(3):
                other.send(request("REGISTER", branch=f"z9hG4bKr{number}"),
                           driver.bound_address)
            refused = await answers(client, 2)
            await until(lambda: len(core.methods) == 7)
        finally:
            other.close()
        # Retry-After: the seconds until a token, 1 or 2 owed at 0.001 a second.
        assert [(answer.status, int(answer.headers.get("Retry-After") or 0))
                for answer in refused] == [(503, 2000), (503, 3000)]
        assert sorted(core.methods) == ["INVITE"] + ["REGISTER"] * 3 + ["SUBSCRIBE"] * 3
        assert driver.stats.limited == 7 and driver.gate.limiter.stats.dropped == 5

    run_with_driver(core, scenario)
