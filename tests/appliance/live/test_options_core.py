"""`OptionsCore`: the small `DatagramCore` the live driver is tested with, and its own tests.

It answers OPTIONS through the real `TransactionLayer` (200 while serving, 503 once shut down,
with the site's name in an Organization header so that a reload shows), and its shutdown keeps
it busy for `drain` seconds of its own deadlines, so that a graceful stop has something to
wait for. `serve` child processes in the tests import it from here.
"""

from __future__ import annotations

import logging

from appliance.clock import Deadlines
from appliance.config import Site, resolve_site
from appliance.live import DatagramCore
from appliance.net import Address
from appliance.pbx.sip import (
    Deliver,
    Headers,
    Request,
    Response,
    SendTo,
    TransactionLayer,
    make_response,
    parse,
)

SHUTDOWN_DRAIN = 0.2

_log = logging.getLogger(__name__)


class OptionsCore:
    """Answers OPTIONS; `fail_on` makes any datagram containing those bytes raise, `drain` is
    how long a shutdown takes (None: it never ends), `wake_at` are deadlines set at start."""

    def __init__(self, site: Site, *, fail_on: bytes | None = None,
                 drain: float | None = SHUTDOWN_DRAIN, wake_at: tuple[float, ...] = ()) -> None:
        self.site = site
        self.fail_on = fail_on
        self.drain = drain
        self.deadlines = Deadlines()
        self.layer = TransactionLayer(self.deadlines, frozenset({"OPTIONS"}))
        self.woken: list[float] = []
        self.reloads: list[tuple[str, float]] = []
        self.stopping = False
        self.ending = False
        self._outbox: list[tuple[bytes, Address]] = []
        for when in wake_at:
            self.deadlines.schedule(when, self.woken.append)

    def receive_datagram(self, data: bytes, source: Address, now: float) -> None:
        if self.fail_on is not None and self.fail_on in data:
            raise RuntimeError("told to fail on this datagram")
        self.layer.receive_datagram(data, source, now)
        self._carry_out(now)

    def take_datagrams(self) -> list[tuple[bytes, Address]]:
        datagrams, self._outbox = self._outbox, []
        return datagrams

    def next_deadline(self) -> float | None:
        return self.deadlines.next_deadline()

    def on_deadline(self, now: float) -> None:
        self.layer.on_deadline(now)
        self._carry_out(now)

    def shutdown(self, now: float) -> None:
        self.stopping = True
        self.ending = True
        if self.drain is not None:
            self.deadlines.schedule(now + self.drain, self._last_call_ended)

    def is_idle(self) -> bool:
        return not self.ending

    def reload(self, site: Site, now: float) -> None:
        self.site = site
        self.reloads.append((site.site, now))

    def _last_call_ended(self, now: float) -> None:
        self.ending = False
        _log.info("options core: last call ended at %.3f", now)

    def _carry_out(self, now: float) -> None:
        effects = self.layer.take_effects()
        while effects:
            for effect in effects:
                if isinstance(effect, SendTo):
                    self._outbox.append((effect.data, effect.destination))
                elif isinstance(effect, Deliver) and isinstance(effect.message, Request):
                    self._answer(effect.message, now)
            effects = self.layer.take_effects()

    def _answer(self, request: Request, now: float) -> None:
        status, reason = (503, "Service Unavailable") if self.stopping else (200, "OK")
        response = make_response(request, status, reason)
        headers = response.headers.add("Organization", self.site.site)
        self.layer.send_response(Response(status, reason, headers), now)


def options_request(client: Address, branch: str, cseq: int = 1, rport: bool = True) -> bytes:
    """An OPTIONS whose answer goes to `client`: from there with `rport`, else to the
    Via's sent-by, which is `client` whoever sends it."""
    host, port = client
    return bytes(Request("OPTIONS", "sip:ccbox@127.0.0.1", Headers([
        ("Via", f"SIP/2.0/UDP {host}:{port};branch=z9hG4bK{branch}{';rport' if rport else ''}"),
        ("Max-Forwards", "70"),
        ("To", "<sip:ccbox@127.0.0.1>"),
        ("From", "<sip:tester@127.0.0.1>;tag=live1"),
        ("Call-ID", f"{branch}@127.0.0.1"),
        ("CSeq", f"{cseq} OPTIONS"),
        ("Content-Length", "0"),
    ])))


def malformed_request(client: Address, branch: str) -> bytes:
    """An OPTIONS whose Max-Forwards is not a number: answerable with a 400 at most."""
    return options_request(client, branch).replace(b"Max-Forwards: 70", b"Max-Forwards: lots")


CLIENT = ("192.0.2.10", 5070)


def small_core(**options: object) -> OptionsCore:
    return OptionsCore(resolve_site("small"), **options)  # type: ignore[arg-type]


def statuses(core: OptionsCore) -> list[int]:
    answers = [parse(data) for data, _ in core.take_datagrams()]
    return [answer.status for answer in answers if isinstance(answer, Response)]


def test_it_is_a_datagram_core() -> None:
    core: DatagramCore = small_core()
    assert core.is_idle()


def test_options_answered_200_with_the_site_name() -> None:
    core = small_core()
    core.receive_datagram(options_request(CLIENT, "a1"), CLIENT, 0.0)
    ((data, destination),) = core.take_datagrams()
    answer = parse(data)
    assert isinstance(answer, Response)
    assert (answer.status, answer.headers.get("Organization")) == (200, "small")
    assert destination == CLIENT


def test_malformed_request_gets_400() -> None:
    core = small_core()
    core.receive_datagram(malformed_request(CLIENT, "m1"), CLIENT, 0.0)
    assert statuses(core) == [400]


def test_shutdown_refuses_options_and_is_idle_after_its_drain() -> None:
    core = small_core()
    core.shutdown(1.0)
    assert not core.is_idle()
    core.receive_datagram(options_request(CLIENT, "s1"), CLIENT, 1.1)
    assert statuses(core) == [503]
    assert core.next_deadline() == 1.0 + SHUTDOWN_DRAIN
    core.on_deadline(1.0 + SHUTDOWN_DRAIN)
    assert core.is_idle()


def test_reload_changes_the_site_it_answers_for() -> None:
    core = small_core()
    core.reload(resolve_site("medium"), 2.0)
    core.receive_datagram(options_request(CLIENT, "r1"), CLIENT, 2.5)
    ((data, _),) = core.take_datagrams()
    answer = parse(data)
    assert answer.headers.get("Organization") == resolve_site("medium").site
    assert core.reloads == [(resolve_site("medium").site, 2.0)]
