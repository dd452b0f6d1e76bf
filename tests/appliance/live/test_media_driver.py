"""The media relay on real sockets on 127.0.0.1: both directions, ports released, silence."""

from __future__ import annotations

import asyncio
import socket
import time

from appliance.live.media import MediaDriver
from appliance.media import rtcp
from appliance.media.quality import NTP_UNIX_OFFSET
from appliance.media.relay import AGENT, CALLER, MediaRelay
from appliance.media.rtp import RtpPacket, parse
from sim.traffic.sipp import free_udp_block

HOST = "127.0.0.1"


def _endpoint() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((HOST, 0))
    sock.setblocking(False)
    return sock


async def _receive(sock: socket.socket, timeout: float = 2.0) -> tuple[bytes, tuple]:
    loop = asyncio.get_running_loop()
    data, source = await asyncio.wait_for(loop.sock_recvfrom(sock, 2048), timeout)
    return data, source


async def _scenario() -> dict[str, object]:
    start = free_udp_block(8)
    relay = MediaRelay(range(start, start + 8), media_timeout=0.3)
    driver = MediaDriver(relay, HOST)
    driver.start()
    gateway, phone = _endpoint(), _endpoint()
    try:
        session = relay.open(1, driver.now())
        relay.set_peer(1, CALLER, gateway.getsockname())
        relay.set_peer(1, AGENT, phone.getsockname())
        driver.flush()
        caller_port = session.sides[CALLER].local_port
        agent_port = session.sides[AGENT].local_port
        packet = bytes(RtpPacket(0, 1, 160, 0xAB, b"\xff" * 160))
        gateway.sendto(packet, (HOST, caller_port))
        to_phone = await _receive(phone)
        phone.sendto(packet, (HOST, agent_port))
        to_gateway = await _receive(gateway)
        ports_while_up = driver.ports
        await asyncio.sleep(0.6)  # both sides silent past the media timeout
        events = relay.take_events()
        relay.close(1)
        driver.flush()
        return {"to_phone": to_phone, "to_gateway": to_gateway, "packet": packet,
                "agent_port": agent_port, "caller_port": caller_port,
                "ports_while_up": ports_while_up, "ports_after": driver.ports,
                "events": events}
    finally:
        driver.close()
        gateway.close()
        phone.close()


def test_rtp_crosses_the_relay_on_real_sockets_and_ports_are_released():
    result = asyncio.run(_scenario())
    packet = result["packet"]
    to_phone, from_port = result["to_phone"]
    assert from_port == (HOST, result["agent_port"])
    assert result["to_gateway"][1] == (HOST, result["caller_port"])
    # Each party gets the packet's audio under the appliance's own stream towards it.
    sent, to_phone, to_gateway = parse(packet), parse(to_phone), parse(result["to_gateway"][0])
    assert to_phone.payload == to_gateway.payload == sent.payload
    assert to_phone.ssrc != sent.ssrc and to_gateway.ssrc not in (sent.ssrc, to_phone.ssrc)
    # RTP and RTCP on each side while the call is up; nothing once it is closed.
    assert len(result["ports_while_up"]) == 4 and result["ports_after"] == []
    assert [e.call for e in result["events"]] == [1]


def _ports_after(changes: list[str]) -> list[int]:
    """The ports the driver listens on after the relay opened and closed call 1 as `changes`
    says between two flushes ("flush" marks one)."""
    async def scenario() -> list[int]:
        start = free_udp_block(8)
        relay = MediaRelay(range(start, start + 4), media_timeout=30)
        driver = MediaDriver(relay, HOST)
        driver.start()
        try:
            for change in changes:
                if change == "open":
                    relay.open(1, driver.now())
                elif change == "close":
                    relay.close(1)
                else:
                    driver.flush()
            driver.flush()
            return driver.ports
        finally:
            driver.close()

    return asyncio.run(scenario())


def test_a_call_opened_and_closed_between_two_flushes_leaves_no_port_bound():
    # Many datagrams are handled between two flushes under load: a call can come and go.
    assert _ports_after(["open", "close"]) == []
    assert _ports_after(["open", "flush", "close", "open", "close"]) == []


def test_a_port_closed_and_opened_again_between_two_flushes_stays_bound():
    # Only two ports per side: the next call gets the same ones back.
    ports = _ports_after(["open", "flush", "close", "open"])
    assert len(ports) == 4


def test_our_sender_reports_carry_the_wall_clock_the_driver_gave_the_core():
    async def report() -> bytes:
        start = free_udp_block(4)
        relay = MediaRelay(range(start, start + 4))
        driver = MediaDriver(relay, HOST)
        driver.start()
        try:
            relay.open(1, driver.now())
            side = relay.sessions[1].sides[CALLER]
            side.stream.own(0, b"\xff" * 160, 160, True, driver.now())
            return side.rtcp.report(driver.now())
        finally:
            driver.close()

    sender_report = rtcp.parse(asyncio.run(report()))[0]
    assert isinstance(sender_report, rtcp.SenderReport)
    unix_time = sender_report.ntp_timestamp / 2**32 - NTP_UNIX_OFFSET
    assert abs(unix_time - time.time()) < 60  # the date, not 1900


def test_a_port_another_program_holds_is_reported_to_the_core_which_hears_of_it_at_once():
    async def scenario() -> tuple[list, list[int], list[int]]:
        start = free_udp_block(8)
        relay = MediaRelay(range(start, start + 8), media_timeout=30)
        heard: list[float] = []
        driver = MediaDriver(relay, HOST, receive=relay.receive, after_input=heard.append)
        squatter = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        squatter.bind((HOST, start + 1))  # the RTCP port of the first side
        driver.start()
        try:
            relay.open(1, driver.now())
            driver.flush()
            events = relay.take_events()
            bound = driver.ports
        finally:
            driver.close()
            squatter.close()
        return events, bound, [len(heard)]

    events, bound, heard = asyncio.run(scenario())
    ((call, side, port),) = [(e.call, e.side, e.port) for e in events]
    assert (call, side) == (1, CALLER)
    assert port not in bound and port - 1 in bound
    assert heard == [1]  # the core was told at once, not at the next datagram
