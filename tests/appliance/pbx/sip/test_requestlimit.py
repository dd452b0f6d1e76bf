"""The per-source request limit: a token bucket, 503s in debt, drops past the mark, and sources
forgotten once quiet."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from appliance.pbx.sip.requestlimit import RateSettings, RequestLimiter, Verdict

SETTINGS = RateSettings(rate=10.0, burst=5, drop_after=3, max_tracked=4)
FLOODER = ("203.0.113.9", 5060)
PHONE = ("203.0.113.9", 5062)


def burst(limiter: RequestLimiter, source: object, count: int, now: float) -> list[Verdict]:
    return [limiter.check(source, now) for _ in range(count)]  # type: ignore[arg-type]


def test_serve_the_burst_then_refuse_then_drop() -> None:
    limiter = RequestLimiter(SETTINGS)
    verdicts = burst(limiter, FLOODER, 12, 0.0)
    assert verdicts == [Verdict.SERVE] * 5 + [Verdict.REFUSE] * 3 + [Verdict.DROP] * 4
    stats = limiter.stats
    assert (stats.refused, stats.dropped, stats.sources_limited) == (3, 4, 1)


def test_tokens_come_back_at_the_rate() -> None:
    limiter = RequestLimiter(SETTINGS)
    burst(limiter, FLOODER, 5, 0.0)
    assert limiter.check(FLOODER, 0.05) is Verdict.REFUSE  # half a token: refused, in debt
    assert limiter.check(FLOODER, 0.2) is Verdict.SERVE  # 1.5 tokens back, 0.5 owed
    assert limiter.check(FLOODER, 0.2) is Verdict.REFUSE


def test_a_flood_gets_about_rate_answers_a_second() -> None:
    limiter = RequestLimiter(SETTINGS)
    verdicts = [limiter.check(FLOODER, step / 1000) for step in range(10_000)]  # 1000/s, 10 s
    answered = verdicts.count(Verdict.REFUSE) + verdicts.count(Verdict.SERVE)
    assert verdicts.count(Verdict.SERVE) == 5  # the burst; then it never pays its debt
    assert 100 - 1 <= answered - 5 - 3 <= 100 + 1  # rate x 10 s, beside the burst and the mark


def test_other_sources_keep_their_own_buckets() -> None:
    limiter = RequestLimiter(SETTINGS)
    burst(limiter, FLOODER, 50, 0.0)
    assert burst(limiter, PHONE, 5, 0.0) == [Verdict.SERVE] * 5


def test_retry_after_is_the_time_to_a_token() -> None:
    limiter = RequestLimiter(RateSettings(rate=0.5, burst=1, drop_after=10))
    assert limiter.retry_after(FLOODER) == 1
    burst(limiter, FLOODER, 4, 0.0)  # one served, three owed: 4 tokens to come at 0.5 a second
    assert limiter.retry_after(FLOODER) == 8
    assert limiter.check(FLOODER, 8.0) is Verdict.SERVE


def test_a_quiet_source_is_forgotten_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    limiter = RequestLimiter(SETTINGS)
    with caplog.at_level(logging.WARNING, logger="appliance.pbx.sip.requestlimit"):
        burst(limiter, FLOODER, 20, 1.0)
        limiter.expire(1.0 + SETTINGS.forget_after - 0.01)
        assert FLOODER in limiter
        limiter.expire(1.0 + SETTINGS.forget_after)
    assert len(limiter) == 0
    lines = [record.getMessage() for record in caplog.records]
    assert lines == [
        "requests from 203.0.113.9:5060 over the limit (10 a second, 5 at once): answered 503",
        "requests from 203.0.113.9:5060 still coming, 3 refused: dropped unanswered",
        "requests from 203.0.113.9:5060 back under the limit after 0 s: 3 refused, 12 dropped",
    ]


def test_tracked_sources_are_bounded_but_the_active_flooder_stays() -> None:
    limiter = RequestLimiter(SETTINGS)
    for port in range(20):
        limiter.check(FLOODER, 0.0)
        limiter.check(("198.51.100.1", port), 0.0)
        assert len(limiter) <= SETTINGS.max_tracked
    assert FLOODER in limiter
    assert limiter.check(FLOODER, 0.0) is Verdict.DROP


def test_new_settings_keep_the_buckets_clipped() -> None:
    limiter = RequestLimiter(SETTINGS)
    limiter.check(PHONE, 0.0)
    limiter.configure(RateSettings(rate=1.0, burst=2, drop_after=1))
    assert burst(limiter, PHONE, 4, 0.0) == [Verdict.SERVE] * 2 + [Verdict.REFUSE, Verdict.DROP]


@pytest.mark.parametrize("changes", [{"rate": 0.0}, {"rate": float("inf")}, {"burst": 0},
                                     {"drop_after": 0}, {"max_tracked": 0}])
def test_settings_are_checked(changes: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RateSettings(**changes)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.floats(0, 2)), max_size=200),
       st.floats(0, 100))
def test_every_source_is_forgotten_after_the_quiet_period(requests, pause) -> None:
    """Whatever came before, `forget_after` seconds of quiet leave no source behind, and a
    source's first request after that is served like a stranger's."""
    limiter = RequestLimiter(SETTINGS)
    now = 0.0
    for port, gap in requests:
        now += gap
        limiter.check(("192.0.2.1", port), now)
    later = now + SETTINGS.forget_after + pause
    limiter.expire(later)
    assert len(limiter) == 0
    assert burst(limiter, ("192.0.2.1", 0), 5, later) == [Verdict.SERVE] * 5


class BucketMachine(RuleBasedStateMachine):
    """Random requests from a few sources over time against a plain model of the bucket."""

    def __init__(self) -> None:
        super().__init__()
        self.limiter = RequestLimiter(SETTINGS)
        self.now = 0.0
        self.sent: dict[int, list[float]] = {}

    @rule(gap=st.floats(0, 3))
    def wait(self, gap: float) -> None:
        self.now += gap

    @rule(port=st.integers(0, 6))
    def request(self, port: int) -> None:
        verdict = self.limiter.check(("192.0.2.1", port), self.now)
        self.sent.setdefault(port, []).append(self.now)
        recent = [at for at in self.sent[port] if at > self.now - 1.0]
        if len(recent) <= SETTINGS.burst and self._quiet_before(port, len(recent)):
            assert verdict is Verdict.SERVE  # within burst, after a full refill

    @precondition(lambda self: self.sent)
    @rule()
    def expire(self) -> None:
        self.limiter.expire(self.now)

    def _quiet_before(self, port: int, recent: int) -> bool:
        earlier = self.sent[port][:-recent]
        return not earlier or earlier[-1] <= self.now - 1.0 - SETTINGS.forget_after

    @invariant()
    def bounded(self) -> None:
        assert len(self.limiter) <= SETTINGS.max_tracked
        stats = self.limiter.stats
        assert stats.sources_limited <= stats.refused


TestBucketMachine = BucketMachine.TestCase
TestBucketMachine.settings = settings(max_examples=100, stateful_step_count=60, deadline=None)
