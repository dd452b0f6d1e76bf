"""Limits on failed authentications: answer, then slow down, then refuse for a while."""

from __future__ import annotations

import logging

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from appliance.pbx.sip.authlimit import AuthLimits, FailureLimiter, LimitSettings, Verdict

LIMITS = LimitSettings(slow_after=3, block_after=5, window=60.0, block_for=100.0,
                       max_tracked=50)


def limiter(**changes: float) -> FailureLimiter:
    values = {**LIMITS.__dict__, **changes}
    return FailureLimiter("source", LimitSettings(**values))  # type: ignore[arg-type]


def fail(target: FailureLimiter, key: str, times: int, start: float = 0.0) -> float:
    """`times` failures one second apart from `start`; the time of the last."""
    for step in range(times):
        target.failed(key, start + step)
    return start + times - 1


def test_answer_then_slow_then_refuse_then_answer_again() -> None:
    target = limiter()
    verdicts = []
    for step in range(6):
        verdicts.append(target.verdict("203.0.113.9", float(step)))
        target.failed("203.0.113.9", float(step))
    assert verdicts == [Verdict.ANSWER] * 3 + [Verdict.SLOW] * 2 + [Verdict.REFUSE]
    assert target.verdict("203.0.113.9", 4.0 + 99.0) is Verdict.REFUSE
    assert target.verdict("203.0.113.9", 4.0 + 100.0) is Verdict.ANSWER
    assert len(target) == 0  # the episode is over: a fresh start


def test_failures_are_forgotten_after_a_quiet_window() -> None:
    target = limiter()
    last = fail(target, "u", 4)
    assert target.verdict("u", last + 60.0) is Verdict.SLOW
    assert target.verdict("u", last + 60.5) is Verdict.ANSWER
    target.failed("u", last + 61.0)
    assert target.verdict("u", last + 61.0) is Verdict.ANSWER  # counting from one again


def test_failures_while_refused_do_not_prolong_the_refusal() -> None:
    target = limiter()
    last = fail(target, "u", 5)
    fail(target, "u", 50, start=last + 1)
    assert target.verdict("u", last + 100.0) is Verdict.ANSWER


def test_a_success_clears_a_count_but_not_a_refusal() -> None:
    target = limiter()
    fail(target, "slow", 4)
    target.succeeded("slow")
    assert target.verdict("slow", 5.0) is Verdict.ANSWER
    fail(target, "blocked", 5)
    target.succeeded("blocked")
    assert target.verdict("blocked", 6.0) is Verdict.REFUSE


def test_the_table_is_bounded_and_a_refused_key_that_keeps_trying_stays() -> None:
    target = limiter(max_tracked=10)
    fail(target, "attacker", 5)
    for n in range(1_000):  # a flood from other addresses, within the refusal's 100 s
        now = 5.0 + n * 0.05
        assert target.verdict("attacker", now) is Verdict.REFUSE
        target.failed(f"10.9.{n // 256}.{n % 256}", now)
        assert len(target) <= 10
    assert target.verdict("attacker", 104.0) is Verdict.ANSWER  # its block_for ran out


def test_each_step_is_logged_once_naming_the_key(caplog: pytest.LogCaptureFixture) -> None:
    target = limiter()
    with caplog.at_level(logging.WARNING, logger="appliance.pbx.sip.authlimit"):
        fail(target, "198.51.100.4", 30)
    messages = [record.getMessage() for record in caplog.records]
    assert messages == [
        "3 failed authentications from source 198.51.100.4: answers slowed down",
        "5 failed authentications from source 198.51.100.4: refused for 100 s",
    ]


def test_sources_and_users_are_limited_apart_and_the_strictest_counts() -> None:
    limits = AuthLimits(LIMITS)
    for n in range(5):  # one user guessed from five addresses
        limits.failed(f"192.0.2.{n}", "1001", float(n))
    assert limits.verdict("192.0.2.77", ["1001"], 5.0) is Verdict.REFUSE
    assert limits.verdict("192.0.2.77", ["1002", None], 5.0) is Verdict.ANSWER
    limits.succeeded("1002")
    assert limits.verdict("192.0.2.1", ["1002"], 5.0) is Verdict.ANSWER


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError):
        LimitSettings(slow_after=5, block_after=4)
    with pytest.raises(ValueError):
        LimitSettings(window=0)


# --- the state machine against a model of failure times -------------------------------------

KEYS = ("a", "b", "c")


class LimiterMachine(RuleBasedStateMachine):
    """The limiter against a model that keeps every key's failure times: a key is refused
    from its block_after-th failure of one episode until block_for later, slowed from its
    slow_after-th, and an episode ends after a window without failures."""

    def __init__(self) -> None:
        super().__init__()
        self.limiter = FailureLimiter("user", LIMITS)
        self.now = 0.0
        self.failures: dict[str, list[float]] = {key: [] for key in KEYS}
        self.refused_until: dict[str, float] = {}

    def _settle(self, key: str) -> None:
        until = self.refused_until.get(key)
        if until is not None and self.now >= until:
            del self.refused_until[key]
            self.failures[key] = []
        times = self.failures[key]
        if until is None and times and self.now - times[-1] > LIMITS.window:
            self.failures[key] = []

    def expected(self, key: str) -> Verdict:
        self._settle(key)
        if key in self.refused_until:
            return Verdict.REFUSE
        count = len(self.failures[key])
        return Verdict.SLOW if count >= LIMITS.slow_after else Verdict.ANSWER

    @rule(seconds=st.sampled_from([0.0, 0.5, 1.0, 30.0, 59.0, 61.0, 99.0, 150.0]))
    def wait(self, seconds: float) -> None:
        self.now += seconds

    @rule(key=st.sampled_from(KEYS))
    def fail(self, key: str) -> None:
        self._settle(key)
        if key not in self.refused_until:
            self.failures[key].append(self.now)
            if len(self.failures[key]) >= LIMITS.block_after:
                self.refused_until[key] = self.now + LIMITS.block_for
        self.limiter.failed(key, self.now)

    @rule(key=st.sampled_from(KEYS))
    def succeed(self, key: str) -> None:
        self._settle(key)
        if key not in self.refused_until:
            self.failures[key] = []
        self.limiter.succeeded(key)

    @rule(key=st.sampled_from(KEYS))
    def ask(self, key: str) -> None:
        assert self.limiter.verdict(key, self.now) is self.expected(key)

    @invariant()
    def bounded(self) -> None:
        assert len(self.limiter) <= LIMITS.max_tracked


TestLimiterMachine = LimiterMachine.TestCase
TestLimiterMachine.settings = settings(max_examples=200, stateful_step_count=60, deadline=None)
