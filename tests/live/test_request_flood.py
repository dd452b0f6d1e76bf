"""A source flooding the live appliance (`ccbox serve`) with SUBSCRIBEs, as a phone's
message-waiting module did in the field (79,542 in about 20 s), while a SIPp caller's calls
reach a SIPp agent: the calls all complete, the flooder gets 503s with Retry-After and most of
its flood goes unanswered, and the log names it.

The flood is paced at FLOOD_RATE, over twice the field's: unpaced, a sender on the same two
cores outruns what the box can read at all, and the kernel, its buffer full, drops the calls'
datagrams with the flood's - no limit in the appliance can help there."""

from __future__ import annotations

import re
import socket
import threading
import time
from dataclasses import dataclass, field

import pytest

from appliance.events import EndCause
from sim.traffic.sipp import LOCALHOST
from tests.live.test_sipp_calls import Floor

FLOOD_RATE = 10_000  # SUBSCRIBEs a second
FLOOD_MAX = 400_000  # datagrams at most
FLOOD_SECONDS = 30.0  # and for this long at most, whatever the calls do
pytestmark = pytest.mark.slow


@dataclass
class Flooder:
    """A raw UDP socket sending new SUBSCRIBEs as fast as it can, without waiting for answers,
    and counting the answers it gets, until stopped or bounded."""

    box: tuple[str, int]
    sent: int = 0
    answers: dict[str, int] = field(default_factory=dict)
    retry_after: set[str] = field(default_factory=set)
    seconds: float = 0.0

    def __post_init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOCALHOST, 0))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Flooder:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(FLOOD_SECONDS)
        self._read()  # the answers still on their way
        self.sock.close()

    def _run(self) -> None:
        began = time.monotonic()
        ends = began + FLOOD_SECONDS
        while self.sent < FLOOD_MAX and not self._stop.is_set() and time.monotonic() < ends:
            try:
                self.sock.sendto(self._subscribe(self.sent), self.box)
                self.sent += 1
            except BlockingIOError:
                pass  # our own send buffer is full: read, and send on
            if self.sent % 64 == 0:
                self._read()
                time.sleep(max(0.0, began + self.sent / FLOOD_RATE - time.monotonic()))
        self.seconds = time.monotonic() - began

    def _read(self) -> None:
        while True:
            try:
                data = self.sock.recv(65535)
            except (BlockingIOError, OSError):
                return
            status = data.split(b" ", 2)[1].decode()
            self.answers[status] = self.answers.get(status, 0) + 1
            found = re.search(rb"\r\nRetry-After: *(\d+)", data)
            if found:
                self.retry_after.add(found.group(1).decode())

    def _subscribe(self, number: int) -> bytes:
        host, port = self.box
        return (f"SUBSCRIBE sip:1001@{host}:{port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {LOCALHOST}:{self.port};rport;branch=z9hG4bKfl{number}\r\n"
                "Max-Forwards: 70\r\n"
                f"From: <sip:1001@{host}>;tag=fl{number}\r\n"
                f"To: <sip:1001@{host}>\r\n"
                f"Call-ID: flood-{number}@{LOCALHOST}\r\n"
                "CSeq: 1 SUBSCRIBE\r\n"
                "Event: message-summary\r\n"
                "Expires: 3600\r\n"
                "Content-Length: 0\r\n\r\n").encode()


def test_calls_complete_beside_a_subscribe_flood_which_gets_503s(tmp_path):
    floor = Floor(tmp_path)
    try:
        floor.register_phones()
        with floor.agents() as agents, Flooder(floor.box.address) as flood:
            result = floor.callers(calls=10, rate=5, talk_ms=1000).run()
            agents.stop()
        assert (result.successful, result.failed) == (10, 0), (result, floor.box.log()[-4000:])
        assert flood.answers.get("503", 0) >= 1, flood.answers
        unanswered = flood.sent - sum(flood.answers.values())
        assert unanswered > flood.sent / 2, (flood.sent, flood.answers)
        assert flood.retry_after and all(int(value) >= 1 for value in flood.retry_after)
        details = floor.stop()
        assert [d.cause for d in details] == [EndCause.CALLER_HANGUP] * 10
        log = floor.box.log()
        assert f"requests from {LOCALHOST}:{flood.port} over the limit" in log, log[-3000:]
        print(f"flood: {flood.sent} SUBSCRIBEs in {flood.seconds:.1f} s, answers "
              f"{flood.answers}; box: {[line for line in log.splitlines() if 'WARNING' in line]}")
    finally:
        floor.box.stop()
