"""The backlog's pieces without a socket: classification, the stateless 503, the order of
handling and the overload gauge."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from appliance.live.backlog import (
    Backlog,
    Kind,
    OverloadGauge,
    RecentInvites,
    classify,
    rate_limited,
    refusal,
    reply_address,
    top_branch,
)
from appliance.pbx.sip import Response, parse


def request(method: str, to_tag: str | None = None, branch: str = "z9hG4bKabc",
            compact: bool = False, call_id: str = "c1@10.0.0.2", rport: bool = False) -> bytes:
    """A request from 10.0.0.2:5060 (answered where it came from with `rport`)."""
    to = "<sip:100@10.0.0.1>" + (f";tag={to_tag}" if to_tag else "")
    names = ("v", "f", "t", "i") if compact else ("Via", "From", "To", "Call-ID")
    via_params = ";rport" if rport else ""
    return (f"{method} sip:100@10.0.0.1 SIP/2.0\r\n"
            f"{names[0]}: SIP/2.0/UDP 10.0.0.2:5060{via_params};branch={branch}\r\n"
            "Max-Forwards: 70\r\n"
            f"{names[1]}: <sip:gw@10.0.0.2>;tag=f1\r\n"
            f"{names[2]}: {to}\r\n"
            f"{names[3]}: {call_id}\r\n"
            f"CSeq: 1 {method}\r\n"
            "Contact: <sip:gw@10.0.0.2>\r\n"
            "Content-Length: 0\r\n\r\n").encode()


RESPONSE = (b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKx\r\n"
            b"To: <sip:a1@10.0.0.1>;tag=9\r\nFrom: <sip:ccbox@10.0.0.1>;tag=1\r\n"
            b"Call-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n")


def test_what_keeps_calls_and_peers_going_comes_first() -> None:
    assert classify(RESPONSE) is Kind.FIRST
    assert classify(request("BYE", "t1")) is Kind.FIRST
    assert classify(request("ACK", "t1")) is Kind.FIRST
    assert classify(request("INVITE", "t1")) is Kind.FIRST  # a re-INVITE
    assert classify(request("OPTIONS")) is Kind.FIRST


def test_new_invites_and_other_new_requests_come_after() -> None:
    assert classify(request("INVITE")) is Kind.NEW_INVITE
    assert classify(request("INVITE", compact=True)) is Kind.NEW_INVITE
    assert classify(request("INVITE", "t1", compact=True)) is Kind.FIRST
    assert classify(request("REGISTER")) is Kind.NEW_OTHER
    assert classify(request("CANCEL")) is Kind.NEW_OTHER
    assert classify(b"garbage") is Kind.NEW_OTHER


def test_a_to_tag_spelled_oddly_is_never_taken_for_a_new_call() -> None:
    odd = request("INVITE").replace(b"To: <sip:100@10.0.0.1>", b"To: <sip:100@10.0.0.1> ;TAG = x")
    assert classify(odd) is Kind.FIRST


def test_the_503_echoes_the_request_and_adds_retry_after_and_a_to_tag() -> None:
    invite = request("INVITE")
    answer = parse(refusal(invite, 17) or b"")
    assert isinstance(answer, Response)
    assert (answer.status, answer.headers.get("Retry-After")) == (503, "17")
    sent = parse(invite)
    for name in ("Via", "From", "Call-ID", "CSeq"):
        assert answer.headers.get(name) == sent.headers.get(name)
    assert ";tag=ovl" in (answer.headers.get("To") or "")


def test_a_retransmission_gets_the_same_503_and_its_ack_is_dropped() -> None:
    invite = request("INVITE", compact=True)
    first, again = refusal(invite, 30), refusal(invite, 30)
    assert first == again and first is not None
    other = refusal(request("INVITE", branch="z9hG4bKother"), 30)
    assert other != first
    to = parse(first).headers.get("To") or ""
    tag = to.split("tag=")[1]
    assert classify(request("ACK", tag)) is Kind.DROP
    assert classify(request("BYE", tag)) is Kind.FIRST


def test_no_503_for_a_request_missing_a_header_a_response_copies() -> None:
    invite = request("INVITE").replace(b"Call-ID: c1@10.0.0.2\r\n", b"")
    assert refusal(invite, 30) is None


def test_the_503_goes_where_rfc_3261_and_3581_send_responses() -> None:
    source = ("192.0.2.7", 40123)  # behind a NAT: not what its Via says
    invite = request("INVITE")  # Via: SIP/2.0/UDP 10.0.0.2:5060, no rport
    assert reply_address(invite, source) == ("192.0.2.7", 5060)
    with_rport = invite.replace(b"5060;branch", b"5060;rport;branch")
    assert reply_address(with_rport, source) == source
    no_port = invite.replace(b"10.0.0.2:5060;", b"10.0.0.2;")
    assert reply_address(no_port, source) == ("192.0.2.7", 5060)
    ipv6 = invite.replace(b"10.0.0.2:5060", b"[2001:db8::2]:5070")
    assert reply_address(ipv6, ("2001:db8::2", 1)) == ("2001:db8::2", 5070)
    assert reply_address(b"INVITE x SIP/2.0\r\n\r\n", source) == source


def test_top_branch() -> None:
    assert top_branch(request("INVITE", branch="z9hG4bK77")) == b"z9hG4bK77"
    assert top_branch(request("INVITE", branch="z9hG4bK77", compact=True)) == b"z9hG4bK77"
    assert top_branch(b"INVITE x SIP/2.0\r\n\r\n") is None


def test_backlog_hands_out_first_ones_first_and_each_class_in_arrival_order() -> None:
    backlog = Backlog()
    arrivals = [request("INVITE", branch="z9hG4bK1"), request("CANCEL", branch="z9hG4bK1"),
                request("BYE", "t"), request("INVITE", branch="z9hG4bK2"), request("OPTIONS"),
                request("ACK", "ovl12345678")]
    for at, data in enumerate(arrivals):
        backlog.add(data, ("10.0.0.2", 5060), float(at))
    assert backlog.oldest() == 0.0
    assert len(backlog) == 5 and backlog.dropped == 1
    order = [backlog.pop().arrived for _ in range(len(backlog))]
    assert order == [2.0, 4.0, 0.0, 1.0, 3.0]
    assert backlog.oldest() is None


def test_recent_invites_are_forgotten_after_their_time() -> None:
    recent = RecentInvites(keep=32.0)
    recent.add(b"b1", 0.0)
    recent.add(b"b2", 10.0)
    recent.expire(35.0)
    assert b"b1" not in recent and b"b2" in recent
    recent.expire(42.0)
    assert len(recent) == 0


def test_gauge_needs_lateness_that_persists_and_holds_before_recovering() -> None:
    gauge = OverloadGauge(overload_age=0.15, recovered_age=0.05, hold=1.0, persist=0.1)
    assert not gauge.observe(0.1, 0.0) and not gauge.overloaded
    assert not gauge.observe(0.3, 1.0) and not gauge.overloaded  # late, not yet for long
    assert not gauge.observe(0.0, 1.02) and not gauge.overloaded  # a pause: drained at once
    assert not gauge.observe(0.2, 2.0)
    assert gauge.observe(0.2, 2.1) and gauge.overloaded  # late for 0.1 s on end
    assert not gauge.observe(0.0, 2.5) and gauge.overloaded  # still within the hold
    assert not gauge.observe(0.1, 3.5) and gauge.overloaded  # not young enough yet
    assert gauge.observe(0.01, 3.5) and not gauge.overloaded


@given(st.lists(st.tuples(st.floats(0, 2), st.floats(0, 0.5)), max_size=60))
def test_gauge_is_overloaded_exactly_when_lateness_says_so(
        steps: list[tuple[float, float]]) -> None:
    gauge = OverloadGauge(overload_age=0.15, recovered_age=0.05, hold=1.0, persist=0.1)
    now, expected = 0.0, False
    late_since: float | None = None
    last_late: float | None = None
    for gap, age in steps:
        now += gap
        changed = gauge.observe(age, now)
        before = expected
        if age > 0.15:
            last_late = now
            late_since = now if late_since is None else late_since
            expected = expected or now - late_since >= 0.1
        else:
            late_since = None
            if expected and age < 0.05 and last_late is not None and now - last_late >= 1.0:
                expected = False
        assert gauge.overloaded == expected
        assert changed == (before != expected)


def test_the_per_source_limit_counts_what_is_not_a_calls_own() -> None:
    for method in ("INVITE", "ACK", "BYE", "CANCEL"):
        assert not rate_limited(request(method)) and not rate_limited(request(method, "t1"))
    for method in ("PRACK", "UPDATE", "INFO", "REFER", "NOTIFY"):
        assert not rate_limited(request(method, "t1"))
        assert rate_limited(request(method))  # outside a dialog
    for method in ("SUBSCRIBE", "REGISTER", "OPTIONS", "MESSAGE", "PUBLISH"):
        assert rate_limited(request(method)) and rate_limited(request(method, "t1"))
    assert not rate_limited(RESPONSE)
    assert rate_limited(b"garbage")
