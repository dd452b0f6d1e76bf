"""Limits on failed digest authentications, per source address and per user, sans-I/O.

Someone guessing passwords gets wrong-credential answers (403, or 400 for malformed ones).
Each source address and each user named has a count of such failures; the count is forgotten
after `window` seconds without a failure, and a success clears the user's. While the count is
under `slow_after` requests are answered normally; from `slow_after` on, answers are delayed
(`Verdict.SLOW`); at `block_after` the key is refused outright for `block_for` seconds
(`Verdict.REFUSE`: a 403 without looking at the credentials), after which it starts afresh.
Entering each step is logged once, naming the key.

Memory is bounded: each table holds at most `max_tracked` keys, the least recently active
dropped first. A refused key that keeps trying stays active, so a flood from other addresses
cannot push it out.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from appliance.pbx.sip.sourcetable import SourceTable, check_max_tracked

logger = logging.getLogger(__name__)


class Verdict(enum.IntEnum):
    """How to treat a request, mildest first."""

    ANSWER = 0
    SLOW = 1
    REFUSE = 2


@dataclass(frozen=True)
class LimitSettings:
    """The thresholds of a `FailureLimiter` (see the module docstring)."""

    slow_after: int = 5
    block_after: int = 20
    window: float = 600.0
    block_for: float = 300.0
    max_tracked: int = 10_000

    def __post_init__(self) -> None:
        if not 1 <= self.slow_after <= self.block_after:
            raise ValueError("need 1 <= slow_after <= block_after")
        if self.window <= 0 or self.block_for <= 0:
            raise ValueError("window and block_for must be positive")
        check_max_tracked(self.max_tracked)


@dataclass
class _Record:
    failures: int
    last_failure: float
    refused_until: float | None = None


class FailureLimiter:
    """Failed authentications counted per key (what `kind` names: "source", "user")."""

    def __init__(self, kind: str, settings: LimitSettings) -> None:
        self.kind = kind
        self.settings = settings
        self._records: SourceTable[str, _Record] = SourceTable(settings.max_tracked)

    def __len__(self) -> int:
        return len(self._records)

    def verdict(self, key: str, now: float) -> Verdict:
        """How to treat a request for `key` at `now`. A refused key that asks again stays
        among the most recently active."""
        record = self._current(key, now)
        if record is None:
            return Verdict.ANSWER
        if record.refused_until is not None:
            self._records.mark_active(key)
            return Verdict.REFUSE
        return Verdict.SLOW if record.failures >= self.settings.slow_after else Verdict.ANSWER

    def failed(self, key: str, now: float) -> None:
        """One more failure for `key` at `now`; logs when it starts slowing or refusing."""
        settings = self.settings
        record = self._current(key, now)
        if record is None:
            record = self._records.add(key, _Record(0, now))
        elif record.refused_until is not None:
            return  # already refused; the refusal runs its course
        else:
            self._records.mark_active(key)
        record.failures += 1
        record.last_failure = now
        if record.failures >= settings.block_after:
            record.refused_until = now + settings.block_for
            logger.warning("%d failed authentications from %s %s: refused for %g s",
                           record.failures, self.kind, key, settings.block_for)
        elif record.failures == settings.slow_after:
            logger.warning("%d failed authentications from %s %s: answers slowed down",
                           record.failures, self.kind, key)

    def succeeded(self, key: str) -> None:
        """`key` authenticated: its failures are forgotten (unless it is refused)."""
        record = self._records.get(key)
        if record is not None and record.refused_until is None:
            self._records.discard(key)

    def _current(self, key: str, now: float) -> _Record | None:
        """`key`'s record, after dropping it if its refusal or its window has run out."""
        record = self._records.get(key)
        if record is None:
            return None
        if record.refused_until is not None:
            ended = now >= record.refused_until
        else:
            ended = now - record.last_failure > self.settings.window
        if ended:
            self._records.discard(key)
            return None
        return record


class AuthLimits:
    """One `FailureLimiter` for source addresses and one for users."""

    def __init__(self, settings: LimitSettings) -> None:
        self.settings = settings
        self.sources = FailureLimiter("source", settings)
        self.users = FailureLimiter("user", settings)

    def verdict(self, host: str, users: Iterable[str | None], now: float) -> Verdict:
        """The strictest verdict for a request from `host` naming `users` (e.g. its From
        user and the username of its credentials; None is skipped)."""
        verdict = self.sources.verdict(host, now)
        for user in users:
            if user is not None:
                verdict = max(verdict, self.users.verdict(user, now))
        return verdict

    def failed(self, host: str, user: str | None, now: float) -> None:
        self.sources.failed(host, now)
        if user is not None:
            self.users.failed(user, now)

    def succeeded(self, user: str) -> None:
        """Only the user's count is cleared: a source that holds one valid account must not
        wipe the failures it piles up guessing others."""
        self.users.succeeded(user)
