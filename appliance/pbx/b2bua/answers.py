"""The B2BUA's answers to requests. Those that tell a peer its call was answered or has ended
wait until the event log is durable: a peer never hears of an answer or an end the records
could still lose."""

from __future__ import annotations

from collections import deque

from appliance.eventlog import EventLog
from appliance.pbx.sip.layer import TransactionLayer
from appliance.pbx.sip.message import Request, Response, parse_name_addr
from appliance.pbx.sip.transaction import make_response


class Answers:
    """Sends responses through the layer; holds the ones that must wait for the log."""

    def __init__(self, layer: TransactionLayer, log: EventLog) -> None:
        self.layer = layer
        self.log = log
        # Held answers: those of the input being handled, then each behind the log mark that
        # covers it.
        self._unmarked: list[Response] = []
        self._held: deque[tuple[int, Response]] = deque()

    @property
    def waiting(self) -> bool:
        return bool(self._held or self._unmarked)

    def respond(self, request: Request, status: int, reason: str, now: float,
                extra: list[tuple[str, str]] | None = None, body: bytes = b"",
                tag: str | None = None) -> Response:
        response = make_response(request, status, reason, to_tag=tag, extra=extra or (),
                                  sdp=body)
        if 200 <= status < 300 and request.method == "INVITE" and _initial(request):
            self.hold(response, now)  # a call is answered: its record must exist first
        else:
            self.layer.send_response(response, now)
        return response

    def respond_once_durable(self, request: Request, status: int, reason: str, now: float,
                             tag: str | None = None) -> None:
        """A final answer that tells the peer its call has ended (see `hold`)."""
        self.hold(make_response(request, status, reason, to_tag=tag), now)

    def hold(self, response: Response, now: float) -> None:
        """Send `response` once everything the log holds at the end of this input (the call's
        answer or end included) is durable. Meanwhile the transaction layer absorbs the
        request's retransmissions. Sent at once when the log has no durable store
        (simulation)."""
        if self.log.durability is None:
            self.layer.send_response(response, now)
        else:
            self._unmarked.append(response)

    def still_held(self, response: Response) -> bool:
        """Whether `response` waits for the log to be durable (not sent even once yet)."""
        return (any(held is response for held in self._unmarked)
                or any(held is response for _, held in self._held))

    def input_done(self) -> None:
        """The input is handled and its records are in the log: one mark covers them all."""
        if not self._unmarked:
            return
        durability = self.log.durability
        assert durability is not None
        mark = durability.mark()
        self._held.extend((mark, response) for response in self._unmarked)
        self._unmarked.clear()

    def release(self, mark: int, now: float) -> None:
        """The log is durable up to `mark`: send the answers that waited for it."""
        held = self._held
        while held and held[0][0] <= mark:
            self.layer.send_response(held.popleft()[1], now)


def _initial(request: Request) -> bool:
    """Whether `request` starts a dialog (its To has no tag)."""
    return parse_name_addr(request.headers.get("To") or "").tag is None
