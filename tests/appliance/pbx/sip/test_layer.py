"""The transaction layer: exact answers to datagrams, and what reaches the transaction user."""

from __future__ import annotations

from appliance.clock import Deadlines
from appliance.pbx.sip import (
    CancelRequested,
    Deliver,
    Headers,
    Request,
    Response,
    SendTo,
    TransactionLayer,
    TransactionTimeout,
    make_response,
    parse,
    transaction_key,
)

SOURCE = ("192.0.2.10", 5070)
PEER = ("198.51.100.7", 5060)
BRANCH = "z9hG4bK776asdhds"


def layer(methods: tuple[str, ...] = ("INVITE", "ACK", "CANCEL", "BYE", "OPTIONS"),
          extensions: tuple[str, ...] = ()) -> TransactionLayer:
    return TransactionLayer(Deadlines(), frozenset(methods), frozenset(extensions))


def request(method: str = "INVITE", branch: str = BRANCH, cseq_method: str | None = None,
            extra: tuple[tuple[str, str], ...] = ()) -> Request:
    return Request(method, "sip:bob@example.com", Headers([
        ("Via", f"SIP/2.0/UDP 192.0.2.10:5070;branch={branch};rport"),
        ("Max-Forwards", "70"),
        ("To", "Bob <sip:bob@example.com>"),
        ("From", "Alice <sip:alice@example.com>;tag=1928301774"),
        ("Call-ID", "a84b4c76e66710@pc33.example.com"),
        ("CSeq", f"1 {cseq_method or method}"),
        *extra,
    ]))


def sent(effects: list) -> list[tuple[Response | Request, tuple[str, int]]]:
    return [(parse(e.data), e.destination) for e in effects if isinstance(e, SendTo)]


def delivered(effects: list) -> list:
    return [e.message for e in effects if isinstance(e, Deliver)]


def answers(effects: list) -> list[tuple[int, str]]:
    return [(m.status, m.reason) for m, _ in sent(effects) if isinstance(m, Response)]


def test_new_invite_gets_100_trying_and_is_delivered_once() -> None:
    core = layer()
    invite = request()
    core.receive_datagram(bytes(invite), SOURCE, 0.0)
    effects = core.take_effects()
    assert answers(effects) == [(100, "Trying")]
    ((trying, destination),) = sent(effects)
    assert destination == SOURCE
    assert trying.headers.get("Via") == (
        f"SIP/2.0/UDP 192.0.2.10:5070;branch={BRANCH};rport=5070;received=192.0.2.10")
    assert [m.method for m in delivered(effects)] == ["INVITE"]
    core.receive_datagram(bytes(invite), SOURCE, 0.3)
    again = core.take_effects()
    assert answers(again) == [(100, "Trying")]
    assert delivered(again) == []


def test_invite_final_response_retransmitted_and_absorbed_by_ack() -> None:
    core = layer()
    invite = request()
    core.receive_datagram(bytes(invite), SOURCE, 0.0)
    (tu_invite,) = delivered(core.take_effects())
    core.send_response(make_response(tu_invite, 486, "Busy Here"), 1.0)
    assert answers(core.take_effects()) == [(486, "Busy Here")]
    assert core.next_deadline() == 1.5
    core.on_deadline(1.5)
    assert answers(core.take_effects()) == [(486, "Busy Here")]
    ack = request("ACK", cseq_method="ACK")
    core.receive_datagram(bytes(ack), SOURCE, 2.0)
    assert core.take_effects() == []


def test_options_is_left_to_the_transaction_user() -> None:
    core = layer()
    core.receive_datagram(bytes(request("OPTIONS")), SOURCE, 0.0)
    effects = core.take_effects()
    assert answers(effects) == []
    (options,) = delivered(effects)
    core.send_response(make_response(options, 200, "OK"), 0.1)
    assert answers(core.take_effects()) == [(200, "OK")]
    core.receive_datagram(bytes(request("OPTIONS")), SOURCE, 0.2)
    assert answers(core.take_effects()) == [(200, "OK")]


def test_unknown_method_gets_501() -> None:
    core = layer()
    core.receive_datagram(bytes(request("FROB")), SOURCE, 0.0)
    effects = core.take_effects()
    assert answers(effects) == [(501, "Not Implemented")]
    assert delivered(effects) == []


def test_unsupported_method_gets_405_with_allow() -> None:
    core = layer()
    core.receive_datagram(bytes(request("REGISTER")), SOURCE, 0.0)
    effects = core.take_effects()
    assert answers(effects) == [(405, "Method Not Allowed")]
    ((answer, _),) = sent(effects)
    assert answer.headers.get_all("Allow") == ["ACK", "BYE", "CANCEL", "INVITE", "OPTIONS"]
    assert delivered(effects) == []


def test_unsupported_extension_gets_420_with_unsupported() -> None:
    core = layer(extensions=("timer",))
    core.receive_datagram(bytes(request(extra=(("Require", "timer, foo"),))), SOURCE, 0.0)
    effects = core.take_effects()
    assert answers(effects) == [(420, "Bad Extension")]
    ((answer, _),) = sent(effects)
    assert answer.headers.get_all("Unsupported") == ["foo"]
    assert delivered(effects) == []


def test_supported_extension_is_accepted() -> None:
    core = layer(extensions=("timer",))
    core.receive_datagram(bytes(request("OPTIONS", extra=(("Require", "timer"),))), SOURCE, 0.0)
    assert len(delivered(core.take_effects())) == 1


def test_cancel_of_pending_invite() -> None:
    core = layer()
    invite = request()
    core.receive_datagram(bytes(invite), SOURCE, 0.0)
    core.take_effects()
    core.receive_datagram(bytes(request("CANCEL")), SOURCE, 1.0)
    effects = core.take_effects()
    assert answers(effects) == [(200, "OK")]
    assert delivered(effects) == [CancelRequested(transaction_key(invite))]


def test_cancel_of_nothing_gets_481() -> None:
    core = layer()
    core.receive_datagram(bytes(request("CANCEL")), SOURCE, 0.0)
    effects = core.take_effects()
    assert answers(effects) == [(481, "Call/Transaction Does Not Exist")]
    assert delivered(effects) == []


def test_ack_for_2xx_goes_to_the_transaction_user() -> None:
    core = layer()
    core.receive_datagram(bytes(request()), SOURCE, 0.0)
    (invite,) = delivered(core.take_effects())
    core.send_response(make_response(invite, 200, "OK"), 0.5)
    assert answers(core.take_effects()) == [(200, "OK")]
    core.send_response(make_response(invite, 200, "OK"), 1.0)  # the TU's retransmission
    assert answers(core.take_effects()) == [(200, "OK")]
    core.receive_datagram(bytes(request("ACK", branch="z9hG4bKnew")), SOURCE, 1.1)
    assert [m.method for m in delivered(core.take_effects())] == ["ACK"]


def test_malformed_request_gets_400_naming_the_problem() -> None:
    core = layer()
    data = bytes(request()).replace(b"Max-Forwards: 70", b"Max-Forwards: many")
    core.receive_datagram(data, SOURCE, 0.0)
    effects = core.take_effects()
    assert answers(effects) == [(400, "Bad Request: malformed Max-Forwards header 'many'")]
    ((answer, destination),) = sent(effects)
    assert destination == ("192.0.2.10", 5070)
    assert answer.headers.get("Call-ID") == "a84b4c76e66710@pc33.example.com"


def test_wrong_version_gets_505() -> None:
    core = layer()
    data = bytes(request()).replace(b"SIP/2.0\r\n", b"SIP/3.0\r\n", 1)
    core.receive_datagram(data, SOURCE, 0.0)
    assert answers(core.take_effects()) == [(505, "Version Not Supported")]


def test_garbage_is_dropped_silently() -> None:
    core = layer()
    for data in (b"", b"\x00\xff\xfe garbage", b"SIP/2.0 200 OK\r\n\r\n", b"\r\n\r\n",
                 b"INVITE sip:x SIP/2.0\r\nVia: nonsense\r\n\r\n"):
        core.receive_datagram(data, SOURCE, 0.0)
    assert core.take_effects() == []


def test_client_transaction_response_delivered_and_retransmission_absorbed() -> None:
    core = layer()
    bye = Request("BYE", "sip:bob@example.com", Headers([
        ("Via", "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKclient1"),
        ("Max-Forwards", "70"),
        ("To", "Bob <sip:bob@example.com>;tag=x"),
        ("From", "Alice <sip:alice@example.com>;tag=y"),
        ("Call-ID", "c1"),
        ("CSeq", "2 BYE"),
    ]))
    key = core.send_request(bye, PEER, 0.0)
    assert key == ("z9hG4bKclient1", "192.0.2.1", 5060, "BYE")
    assert sent(core.take_effects()) == [(bye, PEER)]
    core.on_deadline(0.5)  # Timer E
    assert sent(core.take_effects()) == [(bye, PEER)]
    ok = bytes(make_response(bye, 200, "OK"))
    core.receive_datagram(ok, PEER, 0.7)
    assert [m.status for m in delivered(core.take_effects())] == [200]
    core.receive_datagram(ok, PEER, 0.9)
    assert core.take_effects() == []
    core.on_deadline(0.7 + 5.0)  # Timer K ends the transaction
    assert core.take_effects() == []
    assert core.next_deadline() is None


def test_client_timeout_is_reported_with_its_key() -> None:
    core = layer()
    options = Request("OPTIONS", "sip:bob@example.com", Headers([
        ("Via", "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKclient2"),
        ("Max-Forwards", "70"),
        ("To", "<sip:bob@example.com>"),
        ("From", "<sip:alice@example.com>;tag=y"),
        ("Call-ID", "c2"),
        ("CSeq", "1 OPTIONS"),
    ]))
    key = core.send_request(options, PEER, 0.0)
    core.take_effects()
    while (when := core.next_deadline()) is not None:
        core.on_deadline(when)
    assert [e for e in core.take_effects() if not isinstance(e, SendTo)] == [
        TransactionTimeout(key)]


def test_an_invite_given_up_after_its_100_times_out_and_leaves_no_client() -> None:
    core = layer()
    invite = request(branch="z9hG4bKgiveup")
    key = core.send_request(invite, PEER, 0.0)
    core.receive_datagram(bytes(make_response(invite, 100, "Trying")), PEER, 0.1)
    core.take_effects()
    assert core.has_clients()  # a proceeding INVITE has no timer of its own
    core.give_up(key, 40.0)
    assert core.take_effects() == [TransactionTimeout(key)]
    assert not core.has_clients()
    core.give_up(key, 41.0)  # once only
    assert core.take_effects() == []


def test_stray_2xx_to_invite_is_delivered_other_strays_dropped() -> None:
    core = layer()
    invite = request(branch="z9hG4bKgone")
    core.receive_datagram(bytes(make_response(invite, 200, "OK")), PEER, 0.0)
    assert [m.status for m in delivered(core.take_effects())] == [200]
    core.receive_datagram(bytes(make_response(request("BYE"), 200, "OK")), PEER, 0.0)
    assert core.take_effects() == []
