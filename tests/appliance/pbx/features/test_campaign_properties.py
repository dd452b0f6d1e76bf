"""Properties of the campaign dialer, driven by hypothesis through random free agents, time
steps, outcomes, stops and starts."""

from __future__ import annotations

import math
from collections import Counter

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from appliance.eventlog import EventLog
from appliance.events import CampaignDialed, CampaignDone, CampaignNumberDone
from appliance.pbx.features.campaign import Contact, Dialer, DialerSettings

NUMBERS = [f"55501{i:02d}" for i in range(8)]
RETRY = {"no_answer": 30.0, "busy": 10.0, "failed": 20.0, "abandoned": 40.0}


def open_hours(now: float) -> bool:
    """Open the first 60 seconds of every 100."""
    return now % 100.0 < 60.0


class DialerMachine(RuleBasedStateMachine):
    @initialize(dnc=st.sets(st.sampled_from(NUMBERS), max_size=3),
                attempts=st.integers(1, 3), ratio=st.sampled_from([1.0, 1.5, 2.0]),
                rate=st.sampled_from([0.0, 6.0, 60.0]))
    def setup(self, dnc: set[str], attempts: int, ratio: float, rate: float) -> None:
        self.log = EventLog()
        self.dnc, self.attempts, self.ratio, self.rate = dnc, attempts, ratio, rate
        settings_ = DialerSettings(ratio, rate, attempts, RETRY)
        self.dialer = Dialer("c", [Contact(n, {}) for n in NUMBERS], dnc, settings_, self.log,
                             open_hours)
        self.now = 0.0
        self.up: dict[str, float] = {}  # number -> when dialed
        self.retry_at: dict[str, float] = {}
        self.last_dial = -math.inf
        self.dialer.start(self.now)

    @rule(seconds=st.sampled_from([0.0, 1.0, 7.0, 25.0, 45.0]))
    def wait(self, seconds: float) -> None:
        self.now += seconds

    @rule(free=st.integers(0, 4))
    def dial(self, free: int) -> None:
        placed = self.dialer.dial(free, self.now)
        for attempt in placed:
            number = attempt.contact.number
            assert number not in self.dnc
            assert number not in self.up
            assert attempt.attempt <= self.attempts
            assert open_hours(self.now)
            assert self.now >= self.retry_at.get(number, 0.0)
            if self.rate:
                assert self.now - self.last_dial >= 60.0 / self.rate - 1e-9
            self.last_dial = self.now
            self.up[number] = self.now
        if placed:
            assert len(self.up) <= math.floor(free * self.ratio + 1e-9)

    @precondition(lambda self: self.up)
    @rule(data=st.data(), how=st.sampled_from(["no_answer", "busy", "failed", "answered",
                                                "abandoned"]))
    def outcome(self, data: st.DataObject, how: str) -> None:
        number = data.draw(st.sampled_from(sorted(self.up)))
        del self.up[number]
        if how in ("answered", "abandoned"):
            handed_on = self.dialer.answered(number, how == "answered", self.now)
            assert handed_on == (how == "answered")
        else:
            self.dialer.not_reached(number, how, self.now)
        if how != "answered":
            self.retry_at[number] = self.now + RETRY[how]

    @rule()
    def stop(self) -> None:
        self.dialer.stop(self.now)

    @rule()
    def start(self) -> None:
        self.dialer.start(self.now)

    @invariant()
    def books_agree(self) -> None:
        records = list(self.log)
        done = Counter(r.number for r in records if type(r) is CampaignNumberDone)
        assert all(count == 1 for count in done.values())
        dialed = Counter(r.number for r in records if type(r) is CampaignDialed)
        assert all(count <= self.attempts for count in dialed.values())
        assert self.dialer.ringing == len(self.up)
        finals = sum(1 for r in records if type(r) is CampaignDone)
        assert finals == (1 if len(done) == len(NUMBERS) else 0)
        assert all(number in done for number in self.dnc)

    def teardown(self) -> None:
        """Answer everything still up, then run the list to its end: every number ends."""
        if not hasattr(self, "dialer"):
            return
        dialer = self.dialer
        dialer.start(self.now)
        for _ in range(200):
            for number in list(self.up):
                dialer.not_reached(number, "busy", self.now)
                del self.up[number]
            for attempt in dialer.dial(4, self.now):
                self.up[attempt.contact.number] = self.now
            self.now += 10.0
        done = Counter(r.number for r in self.log if type(r) is CampaignNumberDone)
        assert done == Counter(NUMBERS)
        assert sum(1 for r in self.log if type(r) is CampaignDone) == 1


DialerMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40,
                                           deadline=None)
TestDialer = DialerMachine.TestCase
