"""Campaigns sharing one queue's free agents (`campaign_pacing.dial_shared`): figures on
small lists, and hypothesis through random free agents, outcomes, stops and time steps."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from appliance.eventlog import EventLog
from appliance.pbx.features.campaign import Contact, Dialer, DialerSettings
from appliance.pbx.features.campaign_pacing import dial_shared

RETRY = {"no_answer": 30.0, "busy": 10.0, "failed": 20.0, "abandoned": 40.0}


def campaign(name: str, size: int, ratio: float = 1.0, weight: float = 1.0,
             rate: float = 0.0) -> Dialer:
    numbers = [Contact(f"{name}{i:03d}", {}) for i in range(size)]
    made = Dialer(name, numbers, (), DialerSettings(ratio, rate, 2, RETRY, weight), EventLog())
    made.start(0.0)
    return made


def names(placed: list) -> list[str]:
    return [dialer.name for dialer, _ in placed]


def test_two_campaigns_on_one_queue_place_one_call_per_free_agent_between_them() -> None:
    a, b = campaign("a", 5), campaign("b", 5)
    assert names(dial_shared([a, b], 3, 0.0)) == ["a", "b", "a"]
    assert dial_shared([a, b], 3, 1.0) == []


def test_free_agents_are_shared_by_weight() -> None:
    a, b = campaign("a", 10, weight=2.0), campaign("b", 10)
    placed = names(dial_shared([a, b], 6, 0.0))
    assert (placed.count("a"), placed.count("b")) == (4, 2)


def test_a_campaign_with_nothing_due_leaves_its_share_to_the_other() -> None:
    a, b = campaign("a", 1), campaign("b", 5)
    assert names(dial_shared([a, b], 4, 0.0)) == ["a", "b", "b", "b"]


def test_each_call_takes_one_ratio_th_of_a_free_agent() -> None:
    a, b = campaign("a", 10, ratio=2.0), campaign("b", 10)
    placed = names(dial_shared([a, b], 2, 0.0))
    # a: 2 calls (half an agent each), b: 1 call: a, b tie at 1 agent each.
    assert (placed.count("a"), placed.count("b")) == (2, 1)
    assert a.in_use() + b.in_use() == 2.0


class SharedPacing(RuleBasedStateMachine):
    """Across the campaigns of one queue, calls ringing never take more free agents than
    there are (each 1/ratio of one) when `dial_shared` has placed a call."""

    @initialize(shapes=st.lists(st.tuples(st.sampled_from([1.0, 1.5, 2.0, 3.0]),
                                          st.sampled_from([0.5, 1.0, 3.0]),
                                          st.sampled_from([0.0, 30.0])), min_size=1, max_size=3))
    def setup(self, shapes: list[tuple[float, float, float]]) -> None:
        self.dialers = [campaign(f"c{i}", 6, ratio, weight, rate)
                        for i, (ratio, weight, rate) in enumerate(shapes)]
        self.now = 0.0
        self.up: dict[str, Dialer] = {}

    def in_use(self) -> float:
        return sum(dialer.in_use() for dialer in self.dialers)

    @rule(seconds=st.sampled_from([0.0, 2.0, 15.0]))
    def wait(self, seconds: float) -> None:
        self.now += seconds

    @rule(free=st.integers(0, 5))
    def dial(self, free: int) -> None:
        before = self.in_use()
        placed = dial_shared(self.dialers, free, self.now)
        for dialer, attempt in placed:
            assert attempt.contact.number not in self.up
            self.up[attempt.contact.number] = dialer
        if placed:
            assert self.in_use() <= free + 1e-9
        else:  # nothing placed: nobody had room, or nothing was due
            assert self.in_use() == before

    @precondition(lambda self: self.up)
    @rule(data=st.data(), how=st.sampled_from(["busy", "no_answer", "answered", "abandoned"]))
    def outcome(self, data: st.DataObject, how: str) -> None:
        number = data.draw(st.sampled_from(sorted(self.up)))
        dialer = self.up.pop(number)
        if how in ("answered", "abandoned"):
            dialer.answered(number, how == "answered", self.now)
        else:
            dialer.not_reached(number, how, self.now)

    @rule(data=st.data())
    def stop_or_start(self, data: st.DataObject) -> None:
        dialer = data.draw(st.sampled_from(self.dialers))
        if dialer.running:
            dialer.stop(self.now)
        else:
            dialer.start(self.now)

    @invariant()
    def ringing_is_what_was_placed(self) -> None:
        if hasattr(self, "dialers"):
            assert sum(dialer.ringing for dialer in self.dialers) == len(self.up)


SharedPacing.TestCase.settings = settings(max_examples=150, stateful_step_count=40,
                                          deadline=None)
TestSharedPacing = SharedPacing.TestCase
