"""Message-waiting indication: phones SUBSCRIBE to a mailbox's message-summary (RFC 3842 over
RFC 6665) and hear of its messages in NOTIFYs.

A phone subscribes to `sip:<mailbox number>@<appliance>` (or the box's name, or its own
address for the box its agent owns), authenticating as for a call, to its own box unless the
site lets phones watch any; the 200 creates the subscription's dialog, and a NOTIFY with
`Messages-Waiting` and `Voice-Message: new/old` follows at once and whenever the box's counts
change, until the subscription expires or the phone ends it (`Expires: 0`, answered by a
last NOTIFY with `Subscription-State: terminated`), or a NOTIFY fails: times out, or is
answered with an error and no Retry-After, as a phone that restarted answers 481 (RFC 6665
4.2.2: the subscription is removed; the phone's next refresh gets 481 and subscribes anew).
Subscriptions are kept in memory: a restarted appliance is re-subscribed by the phones'
refreshes (a refresh it does not know gets 481, RFC 6665 4.1.2.2, and the phone subscribes
afresh).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from random import Random

from appliance.clock import Deadlines, TimerHandle
from appliance.config.voicemail import Voicemail
from appliance.net import Address
from appliance.pbx.b2bua.answers import Answers
from appliance.pbx.b2bua.local import LocalAddress
from appliance.pbx.b2bua.phones import Phones
from appliance.pbx.b2bua.wire import user_of_uri
from appliance.pbx.sip.dialog import Dialog, new_tag
from appliance.pbx.sip.layer import TransactionLayer
from appliance.pbx.sip.message import Request, Response, parse_cseq, parse_name_addr
from appliance.pbx.sip.transaction import Key

EVENT = "message-summary"
CONTENT_TYPE = "application/simple-message-summary"
MAX_EXPIRES = 3600
DEFAULT_EXPIRES = 3600


@dataclass
class Subscription:
    dialog: Dialog
    mailbox: str
    peer: Address
    timer: TimerHandle | None = None


def summary(new: int, old: int) -> bytes:
    """The message-summary body (RFC 3842 5.2) for `new` unheard and `old` heard messages."""
    waiting = "yes" if new else "no"
    return f"Messages-Waiting: {waiting}\r\nVoice-Message: {new}/{old}\r\n".encode()


class MessageWaiting:
    """The subscriptions to mailboxes and the counts they are told."""

    def __init__(self, layer: TransactionLayer, answers: Answers, deadlines: Deadlines,
                 here: LocalAddress, rng: Random, phones: Phones) -> None:
        self.layer = layer
        self.phones = phones
        self.answers = answers
        self.deadlines = deadlines
        self.here = here
        self.rng = rng
        self.counts: dict[str, tuple[int, int]] = {}
        """Mailbox name -> (new, old) messages: set by the driver, changed as messages come."""
        self.subscriptions: dict[tuple[str, str], Subscription] = {}  # (Call-ID, our tag)
        self._notifying: dict[Key, tuple[str, str]] = {}  # NOTIFY transaction -> subscription
        self._boxes: dict[str, str] = {}  # number or name -> name
        self._owners: dict[str, str | None] = {}  # name -> the agent who owns it
        self._any = False  # any authenticated phone may subscribe to any box

    def apply(self, voicemail: Voicemail) -> None:
        self._boxes = {key: box.name for box in voicemail.mailboxes
                       for key in (box.number, box.name)}
        self._owners = {box.name: box.agent for box in voicemail.mailboxes}
        self._any = voicemail.subscribe_any

    def set_counts(self, counts: Mapping[str, tuple[int, int]], now: float) -> None:
        """The messages each box holds (after a start, or messages changed on disk)."""
        for mailbox, count in counts.items():
            self.changed(mailbox, count, now)

    def changed(self, mailbox: str, count: tuple[int, int], now: float) -> None:
        """`mailbox` now holds `count` (new, old) messages: its subscribers hear of it."""
        if self.counts.get(mailbox) == count:
            return
        self.counts[mailbox] = count
        for subscription in list(self.subscriptions.values()):
            if subscription.mailbox == mailbox:
                self._notify(subscription, now)

    def subscribe(self, request: Request, source: Address, now: float) -> None:
        """An initial SUBSCRIBE (no To tag), from a phone that authenticates (challenged
        first, as an INVITE): to its own box (its agent's), or any if the site says so
        (`subscribe_any`); 403 otherwise."""
        result = self.phones.authenticate(request, source, now)
        if result is None:
            return
        if result.user is None:
            self.layer.send_response(result.response, now)
            return
        if _event(request) != EVENT:
            self.answers.respond(request, 489, "Bad Event", now, [("Allow-Events", EVENT)])
            return
        mailbox = self._box_for(user_of_uri(request.uri), result.user)
        if mailbox is None:
            self.answers.respond(request, 404, "Not Found", now)
            return
        if not self._any and self._owners.get(mailbox) != result.user:
            self.answers.respond(request, 403, "Forbidden", now)
            return
        tag = new_tag(self.rng)
        dialog = _dialog(request, tag, self.here.via)
        subscription = Subscription(dialog, mailbox, source)
        self._accept(request, subscription, tag, now)

    def _box_for(self, wanted: str, user: str) -> str | None:
        """The box a SUBSCRIBE to `wanted` from `user`'s phone watches: by number or name,
        else, for the phone's own address (what phones such as baresip subscribe to by
        default), the box its agent owns."""
        if wanted in self._boxes:
            return self._boxes[wanted]
        if wanted != user:
            return None
        return next((box for box, owner in self._owners.items() if owner == user), None)

    def in_dialog(self, request: Request, local_tag: str, now: float) -> bool:
        """A SUBSCRIBE in a subscription's dialog (refresh, or `Expires: 0` to end it); False
        if the dialog is not one of ours."""
        subscription = self.subscriptions.get((request.headers.get("Call-ID") or "", local_tag))
        if subscription is None:
            return False
        if request.method != "SUBSCRIBE" or not subscription.dialog.receive_request(request):
            self.answers.respond(request, 500, "Server Internal Error", now)
            return True
        self._accept(request, subscription, local_tag, now)
        return True

    def notify_answered(self, key: Key, response: Response | None) -> bool:
        """The final answer to one of our NOTIFYs (None: it timed out); False if `key` is
        no NOTIFY of ours. A failure removes the subscription, without a last NOTIFY."""
        if key not in self._notifying:
            return False
        if response is not None and response.status < 200:
            return True  # the final answer is still to come
        subscription_key = self._notifying.pop(key)
        if _failed(response):
            self._remove(subscription_key)
        return True

    def _remove(self, key: tuple[str, str]) -> None:
        subscription = self.subscriptions.pop(key, None)
        if subscription is not None and subscription.timer is not None:
            subscription.timer.cancel()

    def _accept(self, request: Request, subscription: Subscription, tag: str,
                now: float) -> None:
        expires = _expires(request)
        extra = [("Expires", str(expires)), ("Contact", self.here.contact)]
        self.answers.respond(request, 200, "OK", now, extra, tag=tag)
        key = (subscription.dialog.call_id, tag)
        if subscription.timer is not None:
            subscription.timer.cancel()
        if expires == 0:
            self.subscriptions.pop(key, None)
            self._notify(subscription, now, "terminated;reason=timeout")
            return
        self.subscriptions[key] = subscription
        subscription.timer = self.deadlines.schedule(now + expires, self._expired, key)
        self._notify(subscription, now, f"active;expires={expires}")

    def _expired(self, now: float, key: tuple[str, str]) -> None:
        subscription = self.subscriptions.pop(key, None)
        if subscription is not None:
            subscription.timer = None
            self._notify(subscription, now, "terminated;reason=timeout")

    def _notify(self, subscription: Subscription, now: float, state: str = "") -> None:
        if not state:
            left = 0 if subscription.timer is None else max(0, round(subscription.timer.when
                                                                     - now))
            state = f"active;expires={left}"
        request = subscription.dialog.make_request("NOTIFY", self.rng)
        headers = request.headers.add("Event", EVENT)
        headers = headers.add("Subscription-State", state)
        headers = headers.add("Contact", self.here.contact)
        headers = headers.add("Content-Type", CONTENT_TYPE)
        body = summary(*self.counts.get(subscription.mailbox, (0, 0)))
        key = self.layer.send_request(Request("NOTIFY", request.uri, headers, body),
                                      subscription.peer, now)
        self._notifying[key] = (subscription.dialog.call_id, subscription.dialog.local_tag)


def _failed(response: Response | None) -> bool:
    """Whether a NOTIFY failed (RFC 6665 4.2.2): no answer, or an error with no Retry-After
    (which would ask us to try again later rather than give up)."""
    if response is None:
        return True
    return response.status >= 300 and response.headers.get("Retry-After") is None


def _event(request: Request) -> str:
    return (request.headers.get("Event") or "").split(";", 1)[0].strip().lower()


def _expires(request: Request) -> int:
    try:
        asked = int(request.headers.get("Expires") or DEFAULT_EXPIRES)
    except ValueError:
        asked = DEFAULT_EXPIRES
    return max(0, min(asked, MAX_EXPIRES))


def _dialog(request: Request, local_tag: str, via: str) -> Dialog:
    """The dialog our 200 to an initial SUBSCRIBE creates (RFC 6665 4.1.2.1)."""
    remote = parse_name_addr(request.headers.get("From") or "")
    local = parse_name_addr(request.headers.get("To") or "")
    contact = request.headers.get("Contact")
    number, _ = parse_cseq(request.headers.get("CSeq") or "")
    return Dialog(call_id=request.headers.get("Call-ID") or "", local_tag=local_tag,
                  remote_tag=remote.tag or "", local_uri=local.uri, remote_uri=remote.uri,
                  remote_target=parse_name_addr(contact).uri if contact else remote.uri,
                  route_set=list(request.headers.get_all("Record-Route")),
                  remote_cseq=number, local_via=via)
