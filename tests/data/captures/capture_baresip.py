"""Record what baresip sends on the wire, as fixtures for tests/appliance/pbx/sip/test_captures.py.

Run from the project root (needs baresip and SIPp; traffic stays on 127.0.0.1):

    .venv/bin/python -m tests.data.captures.capture_baresip

baresip registers as agent 1001 through a UDP relay that sits between it and `ccbox serve`;
a SIPp caller's call is queued, rung on baresip, answered and hung up by the caller; baresip
is then stopped (it unregisters). The first datagram baresip sent of each kind is written
byte for byte to baresip-1.0-<kind>.sip next to this script: register, register-auth,
subscribe (its message-waiting module, which the appliance refuses with 405), invite-180,
invite-200, bye-200, unregister, unregister-auth. The digest responses in them derive from
the test password below and nothing else.
"""

from __future__ import annotations

import selectors
import socket
import tempfile
import threading
from pathlib import Path

from appliance.pbx.sip.message import Request, parse, parse_cseq
from sim.live import ApplianceProcess
from sim.traffic.sipp import free_udp_port
from tests.live.test_baresip import PASSWORD, USER, Baresip, call, site, wait_until_ready

HERE = Path(__file__).resolve().parent
PREFIX = "baresip-1.0-"
BOUND = 15.0


class Relay:
    """Forwards datagrams between one phone and the appliance and keeps those the phone sent.

    The phone talks to `address`; the appliance sees the relay's other socket as the phone
    (it reaches a registered phone at the address its REGISTER came from). baresip answers a
    request at the address in its top Via, the appliance's own, unless that Via asks for
    `rport` (RFC 3581): the relay adds that parameter to the requests it passes to the phone,
    its only change to any datagram, so that the phone's responses come back through it too.
    """

    def __init__(self, appliance: tuple[str, int]) -> None:
        self.appliance = appliance
        self.phone: tuple[str, int] | None = None
        self.sent: list[bytes] = []
        self._front = _bound_socket()
        self._back = _bound_socket()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="relay", daemon=True)
        self._thread.start()

    @property
    def address(self) -> tuple[str, int]:
        return self._front.getsockname()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(5)
        self._front.close()
        self._back.close()

    def _run(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._front, selectors.EVENT_READ)
            selector.register(self._back, selectors.EVENT_READ)
            while not self._stopped.is_set():
                for key, _ in selector.select(timeout=0.1):
                    self._forward(key.fileobj)  # type: ignore[arg-type]

    def _forward(self, sock: socket.socket) -> None:
        data, source = sock.recvfrom(65535)
        if sock is self._front:
            self.phone = source
            self.sent.append(data)
            self._back.sendto(data, self.appliance)
        elif self.phone is not None:
            self._front.sendto(_asking_for_rport(data), self.phone)


def _asking_for_rport(data: bytes) -> bytes:
    """A request with `;rport` added to its top Via; anything else unchanged."""
    if data.startswith(b"SIP/"):
        return data
    head, separator, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    for number, line in enumerate(lines):
        if line.split(b":", 1)[0].strip().lower() in (b"via", b"v"):
            top, comma, rest = line.partition(b",")
            if b"rport" not in top.lower():
                lines[number] = top + b";rport" + comma + rest
            break
    return b"\r\n".join(lines) + separator + body


def _bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock


def kind(data: bytes) -> str:
    """The fixture name of one datagram: "register-auth", "invite-200", "bye-200" ..."""
    message = parse(data)
    if not isinstance(message, Request):
        _, method = parse_cseq(message.headers.get("CSeq") or "")
        return f"{method.lower()}-{message.status}"
    name = message.method.lower()
    if name == "register" and _unregisters(message):
        name = "unregister"
    if "Authorization" in message.headers:
        name += "-auth"
    return name


def _unregisters(request: Request) -> bool:
    contacts = request.headers.get_all("Contact")
    return bool(contacts) and all("expires=0" in contact.replace(" ", "").lower()
                                  for contact in contacts)


def capture(workdir: Path) -> list[bytes]:
    """Everything baresip sent during one registered, answered and ended call."""
    caller_port = free_udp_port()
    box = ApplianceProcess(site(workdir, caller_port), workdir)
    relay = Relay(box.address)
    phone = None
    try:
        phone = Baresip(workdir, relay.address, USER, PASSWORD, apps=("mwi.so",))
        wait_until_ready(box.records, USER, within=BOUND, phone=phone)
        result = call(box, caller_port, workdir / "caller")
        if (result.successful, result.failed) != (1, 0):
            raise RuntimeError(f"the call failed: {result}\n{phone.log()}")
        phone.stop()
    finally:
        if phone is not None:
            phone.stop()
        relay.stop()
        box.stop()
    return relay.sent


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="capture-baresip-") as workdir:
        sent = capture(Path(workdir))
    written: set[str] = set()
    for data in sent:
        name = kind(data)
        if name in written:
            continue  # a retransmission or a later refresh: the first one is the fixture
        written.add(name)
        (HERE / f"{PREFIX}{name}.sip").write_bytes(data)
        print(f"{PREFIX}{name}.sip ({len(data)} bytes)")


if __name__ == "__main__":
    main()
