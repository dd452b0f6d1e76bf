"""Voicemail figures: the messages callers left, per mailbox, from the log's `VoicemailLeft`
records (those kept: a message of silence does not count), by when they ended."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from appliance.events import VoicemailLeft


@dataclass(frozen=True)
class MailboxStats:
    messages: int
    """Messages left (kept) in the mailbox."""
    mean_seconds: float
    """Their mean length."""


@dataclass(frozen=True)
class VoicemailReport:
    mailboxes: dict[str, MailboxStats]
    """Per mailbox that took a message, sorted by name."""

    def to_dict(self) -> dict[str, Any]:
        return {name: {"messages": s.messages, "mean_seconds": s.mean_seconds}
                for name, s in self.mailboxes.items()}


class VoicemailTally:
    """Messages added up per mailbox; ``report`` is None when none was left."""

    def __init__(self) -> None:
        self.seconds: dict[str, list[float]] = {}

    def add(self, record: VoicemailLeft) -> None:
        if record.kept:
            self.seconds.setdefault(record.mailbox, []).append(record.seconds)

    def report(self) -> VoicemailReport | None:
        if not self.seconds:
            return None
        return VoicemailReport({name: MailboxStats(len(found), sum(found) / len(found))
                                for name, found in sorted(self.seconds.items())})
