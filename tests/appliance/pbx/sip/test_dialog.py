"""RFC 3261 12 dialogs: creation on both sides, in-dialog requests, CSeq and target refresh."""

from __future__ import annotations

import random

from appliance.pbx.sip import Dialog, Headers, Request, Response, new_branch, new_tag

INVITE = Request("INVITE", "sip:bob@biloxi.example.com", Headers([
    ("Via", "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds"),
    ("Max-Forwards", "70"),
    ("To", "Bob <sip:bob@biloxi.example.com>"),
    ("From", "Alice <sip:alice@atlanta.example.com>;tag=1928301774"),
    ("Call-ID", "a84b4c76e66710"),
    ("CSeq", "314159 INVITE"),
    ("Contact", "<sip:alice@pc33.atlanta.example.com>"),
]))

OK = Response(200, "OK", Headers([
    ("Via", "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds"),
    ("Record-Route", "<sip:p2.example.com;lr>"),
    ("Record-Route", "<sip:p1.example.com;lr>"),
    ("To", "Bob <sip:bob@biloxi.example.com>;tag=a6c85cf"),
    ("From", "Alice <sip:alice@atlanta.example.com>;tag=1928301774"),
    ("Call-ID", "a84b4c76e66710"),
    ("CSeq", "314159 INVITE"),
    ("Contact", "<sip:bob@192.0.2.4>"),
]))

BRANCH = "z9hG4bKfixed"


def uac() -> Dialog:
    return Dialog.from_uac(INVITE, OK)


def in_dialog(method: str, cseq: int, contact: str | None = None) -> Request:
    pairs = [
        ("Via", "SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKnew"),
        ("Max-Forwards", "70"),
        ("From", "<sip:bob@biloxi.example.com>;tag=a6c85cf"),
        ("To", "<sip:alice@atlanta.example.com>;tag=1928301774"),
        ("Call-ID", "a84b4c76e66710"),
        ("CSeq", f"{cseq} {method}"),
    ]
    if contact:
        pairs.append(("Contact", contact))
    return Request(method, "sip:alice@pc33.atlanta.example.com", Headers(pairs))


def test_uac_dialog_state() -> None:
    dialog = uac()
    assert dialog.id == ("a84b4c76e66710", "1928301774", "a6c85cf")
    assert dialog.local_uri == "sip:alice@atlanta.example.com"
    assert dialog.remote_uri == "sip:bob@biloxi.example.com"
    assert dialog.remote_target == "sip:bob@192.0.2.4"
    assert dialog.route_set == ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    assert dialog.local_cseq == 314159
    assert dialog.remote_cseq is None
    assert dialog.secure is False


def test_uac_bye_exact_headers() -> None:
    dialog = uac()
    bye = dialog.make_request("BYE", BRANCH)
    assert bye.method == "BYE"
    assert bye.uri == "sip:bob@192.0.2.4"
    assert list(bye.headers) == [
        ("Via", "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKfixed"),
        ("Max-Forwards", "70"),
        ("From", "<sip:alice@atlanta.example.com>;tag=1928301774"),
        ("To", "<sip:bob@biloxi.example.com>;tag=a6c85cf"),
        ("Call-ID", "a84b4c76e66710"),
        ("CSeq", "314160 BYE"),
        ("Route", "<sip:p1.example.com;lr>"),
        ("Route", "<sip:p2.example.com;lr>"),
    ]
    assert dialog.local_cseq == 314160


def test_cseq_increments_per_request() -> None:
    dialog = uac()
    rng = random.Random(1)
    first = dialog.make_request("INFO", rng)
    second = dialog.make_request("BYE", rng)
    assert first.headers.get("CSeq") == "314160 INFO"
    assert second.headers.get("CSeq") == "314161 BYE"
    assert first.headers.get("Via") != second.headers.get("Via")


def test_ack_for_2xx_keeps_invite_cseq() -> None:
    dialog = uac()
    ack = dialog.make_ack(314159, BRANCH)
    assert ack.method == "ACK"
    assert ack.uri == "sip:bob@192.0.2.4"
    assert ack.headers.get("CSeq") == "314159 ACK"
    assert ack.headers.get_all("Route") == ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    assert dialog.local_cseq == 314159
    assert dialog.make_request("ACK", BRANCH).headers.get("CSeq") == "314159 ACK"


def test_uas_dialog_keeps_route_order() -> None:
    incoming = Request("INVITE", "sip:bob@192.0.2.4", Headers([
        *((name, value) for name, value in INVITE.headers if name != "Via"),
        ("Via", "SIP/2.0/UDP p1.example.com;branch=z9hG4bKp1"),
        ("Record-Route", "<sip:p1.example.com;lr>"),
        ("Record-Route", "<sip:p2.example.com;lr>"),
    ]))
    dialog = Dialog.from_uas(incoming, "a6c85cf", local_via="SIP/2.0/UDP 192.0.2.4")
    assert dialog.id == ("a84b4c76e66710", "a6c85cf", "1928301774")
    assert dialog.route_set == ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    assert dialog.remote_target == "sip:alice@pc33.atlanta.example.com"
    assert dialog.remote_cseq == 314159
    bye = dialog.make_request("BYE", BRANCH)
    assert bye.uri == "sip:alice@pc33.atlanta.example.com"
    assert list(bye.headers) == [
        ("Via", "SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKfixed"),
        ("Max-Forwards", "70"),
        ("From", "<sip:bob@biloxi.example.com>;tag=a6c85cf"),
        ("To", "<sip:alice@atlanta.example.com>;tag=1928301774"),
        ("Call-ID", "a84b4c76e66710"),
        ("CSeq", "1 BYE"),
        ("Route", "<sip:p1.example.com;lr>"),
        ("Route", "<sip:p2.example.com;lr>"),
    ]


def test_strict_route_puts_target_last() -> None:
    dialog = uac()
    dialog.route_set = ["<sip:strict.example.com>", "<sip:p2.example.com;lr>"]
    bye = dialog.make_request("BYE", BRANCH)
    assert bye.uri == "sip:strict.example.com"
    assert bye.headers.get_all("Route") == ["<sip:p2.example.com;lr>", "<sip:bob@192.0.2.4>"]


def test_no_route_set_no_route_header() -> None:
    dialog = uac()
    dialog.route_set = []
    bye = dialog.make_request("BYE", BRANCH)
    assert "Route" not in bye.headers
    assert bye.uri == "sip:bob@192.0.2.4"


def test_out_of_order_request_rejected() -> None:
    dialog = uac()
    assert dialog.receive_request(in_dialog("INFO", 10)) is True
    assert dialog.remote_cseq == 10
    assert dialog.receive_request(in_dialog("INFO", 9)) is False
    assert dialog.remote_cseq == 10
    assert dialog.receive_request(in_dialog("BYE", 11)) is True
    assert dialog.remote_cseq == 11


def test_reinvite_updates_target() -> None:
    dialog = uac()
    assert dialog.receive_request(in_dialog("INVITE", 5, "<sip:bob@198.51.100.7:5070>"))
    assert dialog.remote_target == "sip:bob@198.51.100.7:5070"
    assert dialog.make_request("BYE", BRANCH).uri == "sip:bob@198.51.100.7:5070"
    assert dialog.receive_request(in_dialog("INFO", 6, "<sip:elsewhere@192.0.2.99>"))
    assert dialog.remote_target == "sip:bob@198.51.100.7:5070"


def test_stale_reinvite_does_not_refresh_target() -> None:
    dialog = uac()
    assert dialog.receive_request(in_dialog("INFO", 5))
    assert not dialog.receive_request(in_dialog("INVITE", 4, "<sip:bob@198.51.100.7>"))
    assert dialog.remote_target == "sip:bob@192.0.2.4"


def test_sips_request_uri_marks_secure() -> None:
    invite = Request("INVITE", "sips:bob@biloxi.example.com", INVITE.headers)
    assert Dialog.from_uac(invite, OK).secure is True


def test_tags_and_branches_from_rng() -> None:
    assert new_tag(random.Random(7)) == new_tag(random.Random(7))
    branch = new_branch(random.Random(7))
    assert branch.startswith("z9hG4bK") and len(branch) == 23
    assert new_branch(random.Random(7)) == branch
