"""A per-source rate limit on requests that are not a call's own, sans-I/O.

A phone module gone wrong can send SUBSCRIBEs (or REGISTERs, OPTIONS...) as fast as it can,
without waiting for answers; handling them all delays everyone's calls. Each source address
(host and port: phones behind one NAT keep their own buckets) has a token bucket of `burst`
tokens refilled at `rate` a second:

- a request that finds a token takes it and is served (`Verdict.SERVE`);
- one that finds none is refused with 503 + Retry-After (`Verdict.REFUSE`), and is still
  charged: the bucket goes into debt, so a source that ignores Retry-After stays refused;
- a request that would take the debt beyond `drop_after` is dropped unanswered
  (`Verdict.DROP`, not charged): a flood gets about `rate` 503s a second back, whatever it
  sends.

A source is forgotten once its bucket has had time to fill again (`forget_after` seconds
without a request), so memory holds only the sources active lately, and at most
`max_tracked` of them (the least recently active dropped first; a flooding source stays
active, so a flood from other addresses cannot push it out). Entering the refusals, entering
the drops and being forgotten after either are each logged once per source.
"""

from __future__ import annotations

import enum
import logging
import math
from collections.abc import Hashable
from dataclasses import dataclass

from appliance.net import hostport
from appliance.pbx.sip.sourcetable import SourceTable, check_max_tracked

logger = logging.getLogger(__name__)


class Verdict(enum.IntEnum):
    """What to do with a request, mildest first."""

    SERVE = 0
    REFUSE = 1
    DROP = 2


@dataclass(frozen=True)
class RateSettings:
    """The bucket of every source (see the module docstring)."""

    rate: float = 100.0
    burst: int = 400
    drop_after: int = 200
    max_tracked: int = 10_000

    def __post_init__(self) -> None:
        if not (self.rate > 0 and math.isfinite(self.rate)):
            raise ValueError(f"rate must be a positive number; got {self.rate}")
        if min(self.burst, self.drop_after) < 1:
            raise ValueError("burst and drop_after must be at least 1")
        check_max_tracked(self.max_tracked)

    @property
    def forget_after(self) -> float:
        """Seconds without a request after which any bucket is full again."""
        return (self.burst + self.drop_after) / self.rate


@dataclass
class _Bucket:
    level: float  # tokens left; below zero, the requests refused and not yet paid for
    at: float  # when `level` was counted
    since: float  # first request of this stretch of activity
    refused: int = 0
    dropped: int = 0


@dataclass
class LimitStats:
    """Counts since the limiter was made (for logs, benchmarks and tests)."""

    sources_limited: int = 0  # stretches of activity in which a source was refused
    refused: int = 0
    dropped: int = 0


class RequestLimiter:
    """Token buckets per source; `check` gives each request's verdict at `now`."""

    def __init__(self, settings: RateSettings) -> None:
        self.settings = settings
        self.stats = LimitStats()
        self._buckets: SourceTable[Hashable, _Bucket] = SourceTable(settings.max_tracked)

    def __len__(self) -> int:
        return len(self._buckets)

    def __contains__(self, source: Hashable) -> bool:
        return source in self._buckets

    def configure(self, settings: RateSettings) -> None:
        """New settings; buckets keep their level, clipped to the new burst."""
        self.settings = settings
        self._buckets.max_tracked = settings.max_tracked
        for bucket in self._buckets.values():
            bucket.level = min(bucket.level, settings.burst)

    def check(self, source: Hashable, now: float) -> Verdict:
        """The verdict on one request from `source` at `now` (never earlier than the last)."""
        self.expire(now)
        bucket = self._bucket(source, now)
        if bucket.level >= 1:
            bucket.level -= 1
            return Verdict.SERVE
        if bucket.level - 1 >= -self.settings.drop_after:
            bucket.level -= 1
            self._refused(source, bucket)
            return Verdict.REFUSE
        self._dropped(source, bucket)
        return Verdict.DROP

    def retry_after(self, source: Hashable) -> int:
        """Whole seconds (at least 1) until `source`, if it sends nothing more, has a token
        again: the Retry-After of its 503."""
        bucket = self._buckets.get(source)
        if bucket is None or bucket.level >= 1:
            return 1
        return max(1, math.ceil((1 - bucket.level) / self.settings.rate))

    def expire(self, now: float) -> None:
        """Forget the sources quiet for `forget_after` seconds (their buckets are full)."""
        buckets, quiet = self._buckets, self.settings.forget_after
        while (oldest := buckets.oldest()) is not None:
            source, bucket = oldest
            if bucket.at + quiet > now:
                return
            buckets.discard(source)
            if bucket.refused or bucket.dropped:
                logger.warning("requests from %s back under the limit after %.0f s: %d "
                               "refused, %d dropped", _name(source), bucket.at - bucket.since,
                               bucket.refused, bucket.dropped)

    def _bucket(self, source: Hashable, now: float) -> _Bucket:
        """`source`'s bucket refilled up to `now`, now the most recently active."""
        settings = self.settings
        bucket = self._buckets.get(source)
        if bucket is None:
            return self._buckets.add(source, _Bucket(float(settings.burst), now, now))
        elapsed = max(0.0, now - bucket.at)
        bucket.level = min(float(settings.burst), bucket.level + elapsed * settings.rate)
        bucket.at = now
        self._buckets.mark_active(source)
        return bucket

    def _refused(self, source: Hashable, bucket: _Bucket) -> None:
        bucket.refused += 1
        self.stats.refused += 1
        if bucket.refused == 1:
            self.stats.sources_limited += 1
            logger.warning("requests from %s over the limit (%g a second, %d at once): "
                           "answered 503", _name(source), self.settings.rate,
                           self.settings.burst)

    def _dropped(self, source: Hashable, bucket: _Bucket) -> None:
        bucket.dropped += 1
        self.stats.dropped += 1
        if bucket.dropped == 1:
            logger.warning("requests from %s still coming, %d refused: dropped unanswered",
                           _name(source), bucket.refused)


def _name(source: Hashable) -> str:
    """`host:port` for an address, else the key as it is."""
    if isinstance(source, tuple) and len(source) == 2:
        return hostport((str(source[0]), int(source[1])))
    return str(source)
