"""A SIP user agent for the testbed: a caller's line or an agent's phone, sans-I/O.

It speaks to the appliance the way a real phone or gateway does - REGISTER with digest
authentication, INVITE/CANCEL/BYE, re-INVITE, answering session refreshes - on the same
transaction layer and dialogs as the appliance itself. Drivers feed it datagrams and time
(`receive_datagram`, `on_deadline`) and carry out `take_datagrams()`; what happens to its
calls comes out of `take_events()`, or, with a `listener`, is told to it as soon as the input
that caused it has been handled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from random import Random

from appliance.clock import Deadlines
from appliance.net import Address, hostport
from appliance.pbx.sip.auth import digest_response, format_auth_params, parse_auth_params
from appliance.pbx.sip.dialog import Dialog, new_branch, new_tag
from appliance.pbx.sip.digest import DigestAuthenticator
from appliance.pbx.sip.endpoint import Endpoint
from appliance.pbx.sip.headers import Headers
from appliance.pbx.sip.layer import CancelRequested
from appliance.pbx.sip.message import Request, Response, parse_cseq, parse_name_addr
from appliance.pbx.sip.transaction import (
    T1,
    T2,
    Key,
    make_cancel,
    make_response,
    transaction_key,
)

METHODS = frozenset({"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "INFO", "UPDATE", "REFER",
                     "NOTIFY"})


def offer_sdp(host: str, port: int, direction: str = "sendrecv", session: int = 1) -> bytes:
    """A G.711 audio offer, as a phone would make; `session` is the o= line's session id."""
    return (f"v=0\r\no=ua {session} 1 IN IP4 {host}\r\ns=-\r\nc=IN IP4 {host}\r\n"
            f"t=0 0\r\nm=audio {port} RTP/AVP 0 8\r\na={direction}\r\n").encode()


def session_of(body: bytes) -> int | None:
    """The session id of an SDP body's o= line (RFC 8866 5.2), or None without one."""
    start = body.find(b"o=")
    if start < 0:
        return None
    fields = body[start + 2:body.find(b"\r\n", start)].split()
    return int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None


@dataclass
class UaCall:
    """One call of the user agent."""

    id: int
    outgoing: bool
    invite: Request
    state: str = "calling"  # calling, ringing, incoming, answered, ended
    dialog: Dialog | None = None
    local_tag: str = ""
    status: int = 0  # the final response to our INVITE
    remote_body: bytes = b""
    cancelled: bool = False
    ack: Request | None = None
    ok: Response | None = None  # our 2xx, until its ACK
    history: list[str] = field(default_factory=list)
    sipfrag: bytes = b""  # the last NOTIFY's message/sipfrag (a transfer's or park's outcome)
    local_body: bytes = b""  # our SDP (offer or answer): where we receive, also after a re-INVITE


@dataclass(frozen=True)
class UaEvent:
    kind: str  # registered, register_failed, incoming, ringing, answered, failed, ended, ...
    call: int = 0
    status: int = 0


Listener = Callable[["UserAgent", UaEvent], None]


class UserAgent(Endpoint):
    def __init__(self, user: str, password: str, local: Address, server: Address,
                 rng: Random, deadlines: Deadlines | None = None) -> None:
        self.user = user
        self.password = password
        self.local = local
        self.server = server
        self.rng = rng
        super().__init__(deadlines if deadlines is not None else Deadlines(), METHODS,
                         frozenset({"timer"}))
        self.calls: dict[int, UaCall] = {}
        self.events: list[UaEvent] = []
        self._next_call = 0
        self._by_invite: dict[Key, UaCall] = {}
        self._by_dialog: dict[tuple[str, str], UaCall] = {}
        self._register_cseq = 0
        self._register_call_id = f"{rng.getrandbits(64):016x}@{local[0]}"
        self._register_tag = new_tag(rng)
        self._registers: dict[Key, Request] = {}  # REGISTERs waiting for their answer
        self._reinvites: dict[Key, UaCall] = {}  # our re-INVITEs waiting for their answer
        self._refers: dict[Key, UaCall] = {}  # our REFERs waiting for their answer
        self._subscribes: dict[Key, Request] = {}  # our SUBSCRIBEs waiting for their answer
        # (Call-ID, our tag) of our subscriptions; the NOTIFYs they brought, oldest first.
        self._subscriptions: set[tuple[str, str]] = set()
        self.notifies: list[Request] = []
        self.ignore_all = False  # a phone that vanished: hears nothing, answers nothing
        # Tell when the far end takes our answer (its ACK: a "confirmed" event); only the
        # live load needs it, so the simulated worlds' event lists stay as they were.
        self.reports_confirmed = False
        # A gateway that asks callers for digest credentials: INVITEs without good ones are
        # answered with its challenge (or 403) and never become calls.
        self.challenger: DigestAuthenticator | None = None
        # Told each event once the input that caused it is handled (then not in take_events).
        self.listener: Listener | None = None

    # --- driver side ------------------------------------------------------------------------

    def receive_datagram(self, data: bytes, source: Address, now: float) -> None:
        if not self.ignore_all:
            super().receive_datagram(data, source, now)
            self.tell_listener()

    def on_deadline(self, now: float) -> None:
        super().on_deadline(now)
        self.tell_listener()

    def take_events(self) -> list[UaEvent]:
        events, self.events = self.events, []
        return events

    def tell_listener(self) -> None:
        """Hand the events so far to the listener, if there is one."""
        if self.listener is not None and self.events:
            for event in self.take_events():
                self.listener(self, event)

    @property
    def _hostport(self) -> str:
        return hostport(self.local)

    @property
    def _contact(self) -> str:
        return f"<sip:{self.user}@{self._hostport}>"

    def _via(self) -> str:
        return f"SIP/2.0/UDP {self._hostport};branch={new_branch(self.rng)};rport"

    # --- registration -----------------------------------------------------------------------

    def register(self, now: float, expires: int = 3600,
                 authorization: str | None = None) -> None:
        self._register_cseq += 1
        uri = f"sip:{self.server[0]}:{self.server[1]}"
        aor = f"<sip:{self.user}@{self.server[0]}>"
        pairs = [
            ("Via", self._via()), ("Max-Forwards", "70"),
            ("From", f"{aor};tag={self._register_tag}"), ("To", aor),
            ("Call-ID", self._register_call_id), ("CSeq", f"{self._register_cseq} REGISTER"),
            ("Contact", self._contact), ("Expires", str(expires)),
        ]
        if authorization:
            pairs.append(("Authorization", authorization))
        request = Request("REGISTER", uri, Headers(pairs))
        self._registers[self.layer.send_request(request, self.server, now)] = request
        self._pump(now)

    def _register_answered(self, request: Request, response: Response, now: float) -> None:
        if response.status == 401 and "Authorization" not in request.headers:
            expires = int(request.headers.get("Expires") or "3600")
            self.register(now, expires, self._authorization(request, response))
        elif 200 <= response.status < 300:
            self.events.append(UaEvent("registered", status=response.status))
        else:
            self.events.append(UaEvent("register_failed", status=response.status))

    def _authorization(self, request: Request, response: Response) -> str:
        challenges = [parse_auth_params(value)[1]
                      for value in response.headers.get_all("WWW-Authenticate")]
        challenge = challenges[0]
        algorithm = challenge.get("algorithm", "MD5")
        cnonce = f"{self.rng.getrandbits(32):08x}"
        digest = digest_response(algorithm, self.user, challenge["realm"], self.password,
                                 request.method, request.uri, challenge["nonce"], "00000001",
                                 cnonce, "auth")
        params = {"username": self.user, "realm": challenge["realm"],
                  "nonce": challenge["nonce"], "uri": request.uri, "response": digest,
                  "algorithm": algorithm, "cnonce": cnonce, "qop": "auth", "nc": "00000001"}
        if "opaque" in challenge:
            params["opaque"] = challenge["opaque"]
        return format_auth_params("Digest", params)

    # --- calls ------------------------------------------------------------------------------

    def call(self, now: float, target: str, body: bytes | None = None,
             authorization: str | None = None, caller: str | None = None) -> int:
        """INVITE `target` (a user part or URI) through the server; returns the call's id.
        `caller` is the From user (a gateway's calling number), our own user by default."""
        uri = target if ":" in target else f"sip:{target}@{self.server[0]}:{self.server[1]}"
        tag = new_tag(self.rng)
        body = offer_sdp(self.local[0], 40000) if body is None else body
        pairs = [
            ("Via", self._via()), ("Max-Forwards", "70"),
            ("From", f"<sip:{caller or self.user}@{self.local[0]}>;tag={tag}"),
            ("To", f"<{uri}>"),
            ("Call-ID", f"{self.rng.getrandbits(64):016x}@{self.local[0]}"),
            ("CSeq", "1 INVITE"), ("Contact", self._contact),
            ("Allow", ", ".join(sorted(METHODS))), ("Content-Type", "application/sdp"),
        ]
        if authorization:
            pairs.append(("Authorization", authorization))
        invite = Request("INVITE", uri, Headers(pairs), body)
        self._next_call += 1
        call = UaCall(self._next_call, True, invite, local_tag=tag, local_body=body)
        self.calls[call.id] = call
        self._by_invite[self.layer.send_request(invite, self.server, now)] = call
        self._by_dialog[(invite.headers.get("Call-ID") or "", tag)] = call
        self._pump(now)
        return call.id

    def ring(self, now: float, call_id: int) -> None:
        call = self.calls[call_id]
        self._reply(call.invite, 180, "Ringing", now, call.local_tag)

    def answer(self, now: float, call_id: int, body: bytes | None = None) -> None:
        call = self.calls[call_id]
        if call.state != "incoming":
            return
        body = offer_sdp(self.local[0], 42000) if body is None else body
        call.dialog = Dialog.from_uas(call.invite, call.local_tag, local_via=self._via())
        call.state, call.local_body = "answered", body
        call.ok = self._reply(call.invite, 200, "OK", now, call.local_tag, body,
                              [("Contact", self._contact)])
        self.deadlines.schedule(now + T1, self._retransmit_ok, call, T1, now + 64 * T1)

    def _retransmit_ok(self, now: float, call: UaCall, wait: float, give_up: float) -> None:
        """Our 2xx again until its ACK comes (RFC 3261 13.3.1.4)."""
        if call.ok is None or call.state != "answered" or now >= give_up:
            return
        self.layer.send_response(call.ok, now)
        self._pump(now)
        wait = min(2 * wait, T2)
        self.deadlines.schedule(now + wait, self._retransmit_ok, call, wait, give_up)

    def reject(self, now: float, call_id: int, status: int = 486, reason: str = "Busy Here",
               extra: list[tuple[str, str]] | None = None) -> None:
        """Refuse incoming call `call_id` with `status`, adding the `extra` headers."""
        call = self.calls[call_id]
        call.state = "ended"
        self._reply(call.invite, status, reason, now, call.local_tag, extra=extra)
        self._forget(call)

    def hangup(self, now: float, call_id: int) -> None:
        """BYE an answered call; CANCEL one of ours still ringing."""
        call = self.calls.get(call_id)
        if call is None or call.state == "ended":
            return
        if call.dialog is not None:
            self._send_in_dialog(call, "BYE", now)
            call.state = "ended"
            self.events.append(UaEvent("ended", call.id))
            self._forget(call)
        elif call.outgoing:
            call.cancelled = True
            self._cancel(call, now)
        self._pump(now)

    def reinvite(self, now: float, call_id: int, body: bytes) -> None:
        call = self.calls[call_id]
        self._reinvites[self._send_in_dialog(call, "INVITE", now, body)] = call
        self._pump(now)

    def refer(self, now: float, call_id: int, target: str, subscribe: bool = True) -> None:
        """Blind-transfer the other party of the call to `target` (a user part or URI), as a
        phone's transfer key does (RFC 3515, RFC 5589 6.1): a REFER, its answer told as
        `refer_accepted` or `refer_failed`, the outcome as `transfer_notified` (the
        sipfrag's status). The phone does not hang up itself: the transferee ends the call.
        `subscribe=False` asks for no NOTIFY (RFC 4488)."""
        call = self.calls[call_id]
        uri = target if ":" in target else f"sip:{target}@{self.server[0]}:{self.server[1]}"
        extra = [("Refer-To", f"<{uri}>"), ("Referred-By", self._contact)]
        if not subscribe:
            extra.append(("Refer-Sub", "false"))
        self._refers[self._send_in_dialog(call, "REFER", now, extra=extra)] = call
        self._pump(now)

    def refer_replacing(self, now: float, call_id: int, consultation: int,
                        target: str) -> None:
        """Attended transfer (RFC 5589 7): REFER the other party of the call to `target`
        (a user part), replacing our answered call `consultation` with it (Replaces, RFC
        3891: its Call-ID, the peer's tag as to-tag and ours as from-tag, percent-encoded in
        the Refer-To URI). Told as `refer` tells it."""
        dialog = self.calls[consultation].dialog
        assert dialog is not None
        replaces = f"{dialog.call_id};to-tag={dialog.remote_tag};from-tag={dialog.local_tag}"
        escaped = replaces.replace("@", "%40").replace(";", "%3B").replace("=", "%3D")
        self.refer(now, call_id,
                   f"sip:{target}@{self.server[0]}:{self.server[1]}?Replaces={escaped}")

    def press(self, now: float, call_id: int, digit: str) -> None:
        """A key press sent as SIP INFO (application/dtmf-relay), as some gateways do."""
        body = f"Signal={digit}\r\nDuration=160\r\n".encode()
        self._send_in_dialog(self.calls[call_id], "INFO", now, body, "application/dtmf-relay")
        self._pump(now)

    def _cancel(self, call: UaCall, now: float) -> None:
        self.layer.send_request(make_cancel(call.invite), self.server, now)

    def _send_in_dialog(self, call: UaCall, method: str, now: float, body: bytes = b"",
                        content_type: str = "application/sdp",
                        extra: list[tuple[str, str]] | None = None) -> Key:
        assert call.dialog is not None
        request = call.dialog.make_request(method, self.rng)
        headers = request.headers
        for name, value in extra or ():
            headers = headers.add(name, value)
        if method == "INVITE":
            headers = headers.add("Contact", self._contact)
        if body:
            headers = headers.add("Content-Type", content_type)
        return self.layer.send_request(Request(method, request.uri, headers, body), self.server,
                                       now)

    def _reply(self, request: Request, status: int, reason: str, now: float, tag: str,
               body: bytes = b"", extra: list[tuple[str, str]] | None = None) -> Response:
        response = make_response(request, status, reason, to_tag=tag, extra=extra or (),
                                 sdp=body)
        self.layer.send_response(response, now)
        self._pump(now)
        return response

    def subscribe(self, now: float, target: str, event: str = "message-summary",
                  expires: int = 3600) -> str:
        """SUBSCRIBE to `event` of `target` (a user at the server); the subscription's
        Call-ID. Its NOTIFYs land in `notifies` (event "notified"); the answer is event
        "subscribed" or "subscribe_failed" with its status."""
        call_id = f"{self.rng.getrandbits(64):016x}@{self.local[0]}"
        tag = new_tag(self.rng)
        uri = f"sip:{target}@{self.server[0]}:{self.server[1]}"
        pairs = [
            ("Via", self._via()), ("Max-Forwards", "70"),
            ("From", f"<sip:{self.user}@{self.server[0]}>;tag={tag}"), ("To", f"<{uri}>"),
            ("Call-ID", call_id), ("CSeq", "1 SUBSCRIBE"), ("Contact", self._contact),
            ("Event", event), ("Expires", str(expires)),
            ("Accept", "application/simple-message-summary"),
        ]
        self._subscriptions.add((call_id, tag))
        self._send_subscribe(Request("SUBSCRIBE", uri, Headers(pairs)), now)
        return call_id

    def _send_subscribe(self, request: Request, now: float) -> None:
        self._subscribes[self.layer.send_request(request, self.server, now)] = request
        self._pump(now)

    # --- what arrives ------------------------------------------------------------------------

    def _deliver(self, message: object, now: float) -> None:
        if type(message) is Response:
            self._on_response(message, now)
        elif type(message) is Request:
            self._on_request(message, now)
        elif type(message) is CancelRequested:
            call = self._by_invite.get(message.invite_key)
            if call is not None and call.state == "incoming":
                self._reply(call.invite, 487, "Request Terminated", now, call.local_tag)
                call.state = "ended"
                self.events.append(UaEvent("cancelled", call.id))
                self._forget(call)

    def _on_response(self, response: Response, now: float) -> None:
        key = transaction_key(response)
        if key in self._registers:
            if response.status >= 200:
                self._register_answered(self._registers.pop(key), response, now)
            return
        if key in self._reinvites:
            if response.status >= 200:
                self._reinvite_answered(self._reinvites.pop(key), response, now)
            return
        if key in self._subscribes:
            if response.status >= 200:
                request = self._subscribes.pop(key)
                if (response.status == 401 and "Authorization" not in request.headers
                        and self.password):
                    headers = request.headers.replace("Via", self._via())
                    headers = headers.replace("CSeq", "2 SUBSCRIBE").add(
                        "Authorization", self._authorization(request, response))
                    self._send_subscribe(Request("SUBSCRIBE", request.uri, headers), now)
                    return
                kind = "subscribed" if response.status < 300 else "subscribe_failed"
                self.events.append(UaEvent(kind, 0, response.status))
            return
        if key in self._refers:
            if response.status >= 200:
                kind = "refer_accepted" if response.status < 300 else "refer_failed"
                self.events.append(UaEvent(kind, self._refers.pop(key).id, response.status))
            return
        call = self._by_invite.get(key)
        if call is None:
            if 200 <= response.status < 300 and key[3] == "INVITE":
                self._ack_again(response, now)
            return
        status = response.status
        if status < 200:
            if status >= 180 and call.state == "calling":
                call.state = "ringing"
                self.events.append(UaEvent("ringing", call.id, status))
            return
        if status < 300 and call.dialog is None and call.state != "ended":
            call.dialog = Dialog.from_uac(call.invite, response)
            call.remote_body = response.body
            call.ack = call.dialog.make_ack(1, self.rng)
            self.layer.send_request(call.ack, self.server, now)
            if call.cancelled:  # the CANCEL/200 race: we hang up at once
                call.state = "answered"
                self.hangup(now, call.id)
                return
            call.state = "answered"
            self.events.append(UaEvent("answered", call.id, status))
            return
        if status < 300:  # our 200 retransmitted: our ACK was lost
            self._reinvite_answered(call, response, now)
            return
        if status == 401 and "Authorization" not in call.invite.headers and self.password:
            self._invite_with_credentials(call, response, now)
            return
        if call.state in ("calling", "ringing"):
            call.status = status
            call.state = "ended"
            self.events.append(UaEvent("failed", call.id, status))
            self._forget(call)

    def _reinvite_answered(self, call: UaCall, response: Response, now: float) -> None:
        """ACK a 2xx to an INVITE of ours in a dialog (a failure needs no ACK from us: the
        layer sends it)."""
        if response.status < 300 and call.dialog is not None:
            number, _ = parse_cseq(response.headers.get("CSeq") or "")
            call.ack = call.dialog.make_ack(number, self.rng)
            self.layer.send_request(call.ack, self.server, now)

    def _invite_with_credentials(self, call: UaCall, challenge: Response, now: float) -> None:
        """Answer a 401 as phones do: the same INVITE, next CSeq, with credentials."""
        old = call.invite
        authorization = self._authorization(old, challenge)
        headers = old.headers.replace("Via", self._via()).replace("CSeq", "2 INVITE")
        headers = headers.add("Authorization", authorization)
        self._by_invite.pop(transaction_key(old), None)
        call.invite = Request("INVITE", old.uri, headers, old.body)
        self._by_invite[self.layer.send_request(call.invite, self.server, now)] = call

    def _ack_again(self, response: Response, now: float) -> None:
        from_tag = parse_name_addr(response.headers.get("From") or "").tag or ""
        call = self._by_dialog.get((response.headers.get("Call-ID") or "", from_tag))
        if call is not None and call.ack is not None:
            self.layer.send_request(call.ack, self.server, now)

    def _on_request(self, request: Request, now: float) -> None:
        to_tag = parse_name_addr(request.headers.get("To") or "").tag
        method = request.method
        if to_tag is None and method == "INVITE":
            self._incoming(request, now)
            return
        call = self._by_dialog.get((request.headers.get("Call-ID") or "", to_tag or ""))
        if method == "ACK":
            if call is not None and call.ok is not None:
                call.ok = None
                if self.reports_confirmed:
                    self.events.append(UaEvent("confirmed", call.id))  # our answer is taken
            return
        if call is None and method == "NOTIFY" and (
                (request.headers.get("Call-ID") or "", to_tag or "") in self._subscriptions):
            self._reply(request, 200, "OK", now, to_tag or "")
            self.notifies.append(request)
            self.events.append(UaEvent("notified"))
            return
        if call is None:
            self._reply(request, 481, "Call/Transaction Does Not Exist", now, "x")
            return
        if method == "BYE":
            self._reply(request, 200, "OK", now, call.local_tag)
            call.state = "ended"
            self.events.append(UaEvent("ended_by_peer", call.id))
            self._forget(call)
        elif method == "INVITE":
            call.remote_body = request.body or call.remote_body
            self._reply(request, 200, "OK", now, call.local_tag,
                        call.local_body or offer_sdp(self.local[0], 42000),
                        [("Contact", self._contact)])
            self.events.append(UaEvent("reinvited", call.id))
        else:
            self._reply(request, 200, "OK", now, call.local_tag)
            if method == "NOTIFY" and request.body.startswith(b"SIP/2.0 "):
                call.sipfrag = request.body
                status = int(request.body[8:11]) if request.body[8:11].isdigit() else 0
                self.events.append(UaEvent("transfer_notified", call.id, status))

    def _incoming(self, request: Request, now: float) -> None:
        if self.challenger is not None:
            refusal = self.challenger.verify(request, now).response
            if refusal is not None:
                self.layer.send_response(refusal, now)
                self._pump(now)
                self.events.append(UaEvent("challenged", 0, refusal.status))
                return
        self._next_call += 1
        call = UaCall(self._next_call, False, request, state="incoming",
                      local_tag=new_tag(self.rng), remote_body=request.body)
        self.calls[call.id] = call
        self._by_invite[transaction_key(request)] = call
        self._by_dialog[(request.headers.get("Call-ID") or "", call.local_tag)] = call
        self.events.append(UaEvent("incoming", call.id))

    def _timed_out(self, key: Key, now: float) -> None:
        call = self._by_invite.get(key)
        if call is not None and call.state in ("calling", "ringing"):
            call.state = "ended"
            self.events.append(UaEvent("failed", call.id, 408))
            self._forget(call)

    def _forget(self, call: UaCall) -> None:
        self._by_invite.pop(transaction_key(call.invite), None)
        if call.state == "ended":
            key = (call.invite.headers.get("Call-ID") or "", call.local_tag)
            self._by_dialog.pop(key, None)
