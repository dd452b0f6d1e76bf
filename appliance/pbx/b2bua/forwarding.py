"""Each phone's call forwarding: what the site file sets (`Phone.forward`), changed by the
phone's own feature codes. A change is a `ForwardingChanged` record; the records keep the
last one of each phone and condition (their `forwarding` table), and the appliance hands them
back at start (`restore`), so that a phone's forwarding outlives a restart."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from appliance.eventlog import EventLog
from appliance.events import ForwardingChanged, new

if TYPE_CHECKING:
    from appliance.config.live import Forward, Sip

_NO_ANSWER_AFTER = 20.0  # seconds a phone without a site setting rings before it forwards


class Forwarding:
    """Where calls to each phone go instead, by condition (always, busy, no_answer)."""

    def __init__(self, log: EventLog) -> None:
        self.log = log
        self.site: dict[str, Forward] = {}
        # The phones' own settings, by (phone, condition): a target, or "" for "off".
        self.changes: dict[tuple[str, str], str] = {}

    def apply(self, sip: Sip) -> None:
        self.site = {phone.user: phone.forward for phone in sip.phones}

    def restore(self, changes: Iterable[ForwardingChanged]) -> None:
        """Take the phones' settings made before a restart, oldest first."""
        for change in changes:
            self.changes[(change.phone, change.condition)] = change.target

    def change(self, phone: str, condition: str, target: str, now: float) -> None:
        """Phone `phone` sets (`target`) or clears (`""`) its forwarding for `condition`;
        this wins over the site file's until the phone changes it again."""
        self.changes[(phone, condition)] = target
        self.log.append(new(ForwardingChanged, (now, phone, condition, target)))

    def target(self, phone: str, condition: str) -> str | None:
        """Where a call to `phone` goes under `condition`; None: nowhere else."""
        changed = self.changes.get((phone, condition))
        if changed is not None:
            return changed or None
        forward = self.site.get(phone)
        return None if forward is None else getattr(forward, condition)

    def no_answer_after(self, phone: str) -> float:
        """How long `phone` rings before its no-answer forwarding takes the call."""
        forward = self.site.get(phone)
        return _NO_ANSWER_AFTER if forward is None else forward.no_answer_after
