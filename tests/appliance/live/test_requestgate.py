"""The per-source limit as the UDP driver applies it: settings from the core's object, what is
counted, exempt networks."""

from __future__ import annotations

from appliance.config.live import RequestLimit
from appliance.live.requestgate import RequestGate
from appliance.pbx.sip.requestlimit import Verdict
from tests.appliance.live.test_backlog import request

SOURCE = ("10.0.0.2", 5060)


def verdicts(gate: RequestGate, data: bytes, count: int, source=SOURCE) -> list[Verdict]:
    return [gate.verdict(data, source, 0.0) for _ in range(count)]


def test_off_until_configured_and_when_disabled() -> None:
    gate = RequestGate()
    assert verdicts(gate, request("SUBSCRIBE"), 3) == [Verdict.SERVE] * 3
    gate.configure(RequestLimit(enabled=False, burst=1))
    assert verdicts(gate, request("SUBSCRIBE"), 3) == [Verdict.SERVE] * 3


def test_counted_requests_are_limited_and_calls_go_through() -> None:
    gate = RequestGate()
    gate.configure(RequestLimit(rate=1, burst=2, drop_after=1))
    assert verdicts(gate, request("SUBSCRIBE"), 4) == [Verdict.SERVE] * 2 + [
        Verdict.REFUSE, Verdict.DROP]
    assert verdicts(gate, request("INVITE"), 3) == [Verdict.SERVE] * 3
    assert gate.retry_after(SOURCE) == 2


def test_a_reload_keeps_the_buckets_and_the_same_object_changes_nothing() -> None:
    gate = RequestGate()
    config = RequestLimit(rate=1, burst=2, drop_after=1)
    gate.configure(config)
    verdicts(gate, request("REGISTER"), 2)
    gate.configure(config)
    assert gate.verdict(request("REGISTER"), SOURCE, 0.0) is Verdict.REFUSE
    gate.configure(RequestLimit(rate=1, burst=5, drop_after=1))
    assert gate.verdict(request("REGISTER"), SOURCE, 0.0) is Verdict.DROP


def test_exempt_hosts_and_networks_are_never_limited() -> None:
    gate = RequestGate()
    gate.configure(RequestLimit(rate=1, burst=1, drop_after=1,
                                exempt=["10.0.0.0/24", "::1", "10.0.1.3:5062"]))
    assert verdicts(gate, request("REGISTER"), 5) == [Verdict.SERVE] * 5
    assert verdicts(gate, request("REGISTER"), 5, ("::1", 5060)) == [Verdict.SERVE] * 5
    assert verdicts(gate, request("REGISTER"), 5, ("10.0.1.3", 5062)) == [Verdict.SERVE] * 5
    assert verdicts(gate, request("REGISTER"), 2, ("10.0.1.3", 5060)) == [
        Verdict.SERVE, Verdict.REFUSE]
    assert verdicts(gate, request("REGISTER"), 2, ("10.0.1.2", 5060)) == [
        Verdict.SERVE, Verdict.REFUSE]
