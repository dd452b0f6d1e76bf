"""`UdpDriver` on loopback: real sockets, asyncio's clock, the `OptionsCore` and stubs."""

from __future__ import annotations

import asyncio
import itertools
import logging
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from appliance.live import SOCKET_BUFFER_BYTES, UdpDriver
from appliance.net import Address
from appliance.pbx.sip import Response, parse
from tests.appliance.live.test_options_core import (
    OptionsCore,
    malformed_request,
    options_request,
    small_core,
)

LOOPBACK = "127.0.0.1"
WAIT = 5.0  # bound on every wait; nothing here should take more than a fraction of it


class Client:
    """A UDP peer on loopback that the test awaits answers on."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOOPBACK, 0))
        self.sock.setblocking(False)
        self.address: Address = self.sock.getsockname()

    def send(self, data: bytes, server: Address) -> None:
        self.sock.sendto(data, server)

    async def receive(self) -> Response:
        data = await asyncio.wait_for(asyncio.get_running_loop().sock_recv(self.sock, 65535), WAIT)
        answer = parse(data)
        assert isinstance(answer, Response)
        return answer

    def close(self) -> None:
        self.sock.close()


def run_with_driver(core: Any, scenario: Callable[[UdpDriver, Client], Awaitable[None]]) -> None:
    async def main() -> None:
        driver = UdpDriver(core, LOOPBACK, 0)
        await driver.start()
        client = Client()
        try:
            await asyncio.wait_for(scenario(driver, client), 4 * WAIT)
        finally:
            client.close()
            driver.close()
            await asyncio.wait_for(driver.wait_closed(), WAIT)

    asyncio.run(main())


async def until(condition: Callable[[], bool]) -> None:
    """Wait, at most WAIT seconds, for `condition` to hold."""
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.005)

    await asyncio.wait_for(poll(), WAIT)


def call_branch(answer: Response) -> str:
    return (answer.headers.get("Call-ID") or "").split("@")[0]


def test_binds_port_0_to_a_real_port() -> None:
    async def scenario(driver: UdpDriver, client: Client) -> None:
        host, port = driver.bound_address
        assert host == LOOPBACK
        assert port > 0

    run_with_driver(small_core(), scenario)


@pytest.mark.skipif(not socket.has_ipv6, reason="no IPv6")
def test_ipv6_sources_reach_the_core_as_host_and_port() -> None:
    core = StubCore()

    async def main() -> None:
        driver = UdpDriver(core, "::1", 0)
        try:
            await driver.start()
        except OSError:
            pytest.skip("no IPv6 loopback")
        client = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        try:
            client.bind(("::1", 0))
            client.setblocking(False)
            core.outbox = []
            client.sendto(b"hello", driver.bound_address)
            await until(lambda: len(core.sources) == 1)
            assert core.sources == [("::1", client.getsockname()[1])]
            core.outbox = [(b"back", core.sources[0])]
            driver.flush()
            loop = asyncio.get_running_loop()
            assert await asyncio.wait_for(loop.sock_recv(client, 100), WAIT) == b"back"
        finally:
            client.close()
            driver.close()
            await asyncio.wait_for(driver.wait_closed(), WAIT)

    asyncio.run(main())


def test_bound_address_before_start_is_an_error() -> None:
    with pytest.raises(RuntimeError):
        _ = UdpDriver(small_core(), LOOPBACK, 0).bound_address


@pytest.mark.skipif(not Path("/proc/sys/net/core/rmem_max").exists(), reason="Linux only")
def test_socket_buffers_asked_for_4_mib() -> None:
    async def main() -> None:
        driver = UdpDriver(small_core(), LOOPBACK, 0)
        await driver.start()
        sock = driver.socket
        received = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        sent = sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
        driver.close()
        await asyncio.wait_for(driver.wait_closed(), WAIT)
        # Linux grants at most net.core.rmem_max / wmem_max, and reports twice what it grants.
        assert received >= min(SOCKET_BUFFER_BYTES, _sysctl("rmem_max"))
        assert sent >= min(SOCKET_BUFFER_BYTES, _sysctl("wmem_max"))

    asyncio.run(main())


def _sysctl(name: str) -> int:
    return int(Path("/proc/sys/net/core", name).read_text(encoding="ascii"))


def test_options_answered_200() -> None:
    async def scenario(driver: UdpDriver, client: Client) -> None:
        client.send(options_request(client.address, "ok1"), driver.bound_address)
        answer = await client.receive()
        assert (answer.status, call_branch(answer)) == (200, "ok1")
        assert answer.headers.get("Organization") == "small"

    run_with_driver(small_core(), scenario)


def test_malformed_datagrams_get_400_or_nothing_and_serving_goes_on() -> None:
    async def scenario(driver: UdpDriver, client: Client) -> None:
        server = driver.bound_address
        client.send(b"\x00\xffnot SIP at all\r\n\r\n", server)
        client.send(b"", server)
        client.send(malformed_request(client.address, "bad1"), server)
        client.send(options_request(client.address, "after1"), server)
        answers = [await client.receive()]
        while call_branch(answers[-1]) != "after1":
            answers.append(await client.receive())
        assert [(a.status, call_branch(a)) for a in answers[:-1]] in ([], [(400, "bad1")])
        assert answers[-1].status == 200

    run_with_driver(small_core(), scenario)


def test_core_raising_on_a_datagram_is_logged_and_serving_goes_on(
        caplog: pytest.LogCaptureFixture) -> None:
    core = small_core(fail_on=b"boom")

    async def scenario(driver: UdpDriver, client: Client) -> None:
        client.send(options_request(client.address, "boom1"), driver.bound_address)
        client.send(options_request(client.address, "fine1"), driver.bound_address)
        answer = await client.receive()
        assert (answer.status, call_branch(answer)) == (200, "fine1")

    with caplog.at_level(logging.ERROR, logger="appliance.live"):
        run_with_driver(core, scenario)
    (failure,) = [r for r in caplog.records if r.name == "appliance.live.udp"]
    assert failure.exc_info is not None
    assert isinstance(failure.exc_info[1], RuntimeError)
    assert "core failed on a datagram" in failure.getMessage()


def test_send_errors_are_debug_lines_and_serving_goes_on(
        caplog: pytest.LogCaptureFixture) -> None:
    async def scenario(driver: UdpDriver, client: Client) -> None:
        # A peer that has gone: its port answers with ICMP port unreachable.
        gone = Client()
        gone_address = gone.address
        gone.close()
        sendto = driver._sendto

        def refused(data: bytes, destination: Address) -> None:
            if destination == gone_address:
                raise ConnectionRefusedError(111, "Connection refused")
            sendto(data, destination)

        driver._sendto = refused
        client.send(options_request(gone_address, "gone1", rport=False), driver.bound_address)
        client.send(options_request(client.address, "here1"), driver.bound_address)
        answer = await client.receive()
        assert (answer.status, call_branch(answer)) == (200, "here1")

    with caplog.at_level(logging.DEBUG, logger="appliance.live"):
        run_with_driver(small_core(), scenario)
    send_errors = [r for r in caplog.records if "send error" in r.getMessage()]
    assert send_errors
    assert {r.levelno for r in send_errors} == {logging.DEBUG}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_core_deadline_fires_with_now_not_before_it() -> None:
    core = small_core(wake_at=(0.05, 0.1))

    async def scenario(driver: UdpDriver, client: Client) -> None:
        await until(lambda: len(core.woken) == 2)
        assert core.woken[0] >= 0.05
        assert core.woken[1] >= 0.1
        assert core.next_deadline() is None

    run_with_driver(core, scenario)


def test_shutdown_timer_makes_the_core_idle() -> None:
    core = small_core()

    async def scenario(driver: UdpDriver, client: Client) -> None:
        core.shutdown(driver.now())
        driver.flush()
        assert not core.is_idle()
        client.send(options_request(client.address, "late1"), driver.bound_address)
        answer = await client.receive()
        assert answer.status == 503
        assert await driver.wait_idle(WAIT)
        assert core.is_idle()

    run_with_driver(core, scenario)


def test_wait_idle_gives_up_after_its_timeout() -> None:
    core = small_core(drain=None)

    async def scenario(driver: UdpDriver, client: Client) -> None:
        core.shutdown(driver.now())
        driver.flush()
        assert not await driver.wait_idle(0.05)

    run_with_driver(core, scenario)


class StubCore:
    """Records what the driver does; its deadline is whatever the test sets."""

    def __init__(self) -> None:
        self.deadline: float | None = None
        self.received: list[tuple[bytes, float]] = []
        self.sources: list[Address] = []
        self.deadline_calls: list[float] = []
        self.outbox: list[tuple[bytes, Address]] = []
        self.raise_on_deadline = False

    def receive_datagram(self, data: bytes, source: Address, now: float) -> None:
        self.received.append((data, now))
        self.sources.append(source)

    def take_datagrams(self) -> list[tuple[bytes, Address]]:
        datagrams, self.outbox = self.outbox, []
        return datagrams

    def next_deadline(self) -> float | None:
        return self.deadline

    def on_deadline(self, now: float) -> None:
        self.deadline_calls.append(now)
        if self.raise_on_deadline:
            raise RuntimeError("deadline failure")
        self.deadline = None

    def shutdown(self, now: float) -> None:
        pass

    def is_idle(self) -> bool:
        return True

    def reload(self, site: Any, now: float) -> None:
        pass


def test_timer_rearmed_only_when_the_deadline_changes() -> None:
    core = StubCore()
    armed: list[float] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        call_at = loop.call_at

        def counting_call_at(when: float, callback: Any, *args: Any,
                             **options: Any) -> asyncio.TimerHandle:
            if callback == driver._on_timer:
                armed.append(when)
            return call_at(when, callback, *args, **options)

        loop.call_at = counting_call_at  # type: ignore[method-assign]
        driver = UdpDriver(core, LOOPBACK, 0)
        await driver.start()
        client = Client()
        try:
            core.deadline = 1000.0
            for n in range(5):
                client.send(b"datagram %d" % n, driver.bound_address)
            await until(lambda: len(core.received) == 5)
            assert len(armed) == 1
            core.deadline = 2000.0
            client.send(b"one more", driver.bound_address)
            await until(lambda: len(core.received) == 6)
            assert len(armed) == 2
            assert armed[1] - armed[0] == pytest.approx(1000.0)
            core.deadline = None
            client.send(b"and the last", driver.bound_address)
            await until(lambda: len(core.received) == 7)
            assert len(armed) == 2
            assert core.deadline_calls == []
        finally:
            client.close()
            driver.close()
            await asyncio.wait_for(driver.wait_closed(), WAIT)

    asyncio.run(main())
    nows = [now for _, now in core.received]
    assert nows == sorted(nows)
    assert nows[0] >= 0.0


def test_core_raising_on_its_deadline_is_retried_without_spinning(
        caplog: pytest.LogCaptureFixture) -> None:
    core = StubCore()
    core.raise_on_deadline = True

    async def scenario(driver: UdpDriver, client: Client) -> None:
        core.deadline = driver.now()
        driver.flush()
        await until(lambda: len(core.deadline_calls) >= 2)
        core.raise_on_deadline = False
        await until(lambda: core.deadline is None)
        client.send(b"still serving", driver.bound_address)
        await until(lambda: len(core.received) == 1)

    with caplog.at_level(logging.ERROR, logger="appliance.live"):
        run_with_driver(core, scenario)
    calls = core.deadline_calls
    # Each retry waits a while rather than firing again at once.
    assert all(later - earlier >= 0.04 for earlier, later in itertools.pairwise(calls))
    assert any("core failed on its deadline" in r.getMessage() for r in caplog.records)


def test_core_sends_to_several_peers_in_order() -> None:
    core = StubCore()

    async def scenario(driver: UdpDriver, client: Client) -> None:
        other = Client()
        try:
            core.outbox = [(b"first", client.address), (b"second", other.address),
                           (b"third", client.address)]
            driver.flush()
            loop = asyncio.get_running_loop()
            got = [await asyncio.wait_for(loop.sock_recv(client.sock, 100), WAIT)
                   for _ in range(2)]
            assert got == [b"first", b"third"]
            assert await asyncio.wait_for(loop.sock_recv(other.sock, 100), WAIT) == b"second"
        finally:
            other.close()

    run_with_driver(core, scenario)


def test_the_options_core_is_what_the_driver_was_given() -> None:
    core = small_core()
    assert isinstance(core, OptionsCore)
    assert UdpDriver(core, LOOPBACK, 0).core is core
