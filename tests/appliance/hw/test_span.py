"""E1 spans failing as a whole (hypothesis): no channel of a failed span is seized or takes a
call; every call on it ends at once (E1 has exact disconnect); restoring the span brings all
30 channels back idle; the other span carries on."""

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from appliance.config.gateways import builtin_profiles
from appliance.hw import (
    E1_CHANNELS,
    Answer,
    Ended,
    FarEndAnswer,
    Incoming,
    PortError,
    PortState,
    Release,
    Seize,
)

SPANS = ("1", "2")
channel = st.integers(1, 2 * E1_CHANNELS).map(str)


def test_a_dual_e1_card_has_two_spans_of_30_channels():
    gateway = builtin_profiles()["e1-60"].build("e1")
    assert {span: (names[0], names[-1], len(names)) for span, names in gateway.spans.items()} \
        == {"1": ("1", "30", 30), "2": ("31", "60", 30)}
    assert [gateway.span_of(n) for n in ("1", "30", "31", "60")] == ["1", "1", "2", "2"]
    assert builtin_profiles()["fxo-4"].build("fxo").spans == {}


def test_a_span_down_while_the_gateway_is_down_comes_back_with_it_only_when_restored():
    gateway = builtin_profiles()["e1-60"].build("e1")
    gateway.fail(0.0)
    gateway.fail_span("1", 1.0)
    assert gateway.restore_span("1", 2.0) == []
    gateway.fail_span("2", 3.0)
    gateway.restore(4.0)
    states = {name: port.state for name, port in gateway.ports.items()}
    assert {states[n] for n in gateway.spans["1"]} == {PortState.IDLE}
    assert {states[n] for n in gateway.spans["2"]} == {PortState.OUT_OF_SERVICE}


class SpanMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.gateway = builtin_profiles()["e1-60"].build("e1")
        self.now = 0.0
        self.calls: set[str] = set()  # ports the test put a call on, until it ends

    def span_is_down(self, port: str) -> bool:
        return self.gateway.span_of(port) in self.gateway.spans_down

    def send(self, port: str, event: object) -> list:
        try:
            actions = self.gateway.handle(port, event, self.now)  # type: ignore[arg-type]
        except PortError:
            return []
        assert not self.span_is_down(port), f"channel {port} of a span that is down took {event}"
        return actions

    def settle(self, actions: list) -> None:
        self.calls -= {name for name, action in actions if isinstance(action, Ended)}
        self.calls = {n for n in self.calls if self.gateway.ports[n].in_call}

    @rule(port=channel, number=st.text("0123456789", min_size=1, max_size=8))
    def seize(self, port: str, number: str) -> None:
        self.send(port, Seize(number))
        if self.gateway.ports[port].in_call:
            self.calls.add(port)

    @rule(number=st.just("0301234567"))
    def seize_a_free_channel(self, number: str) -> None:
        port = self.gateway.free_port()
        if port is not None:
            assert not self.span_is_down(port.name), "a free channel on a span that is down"
            self.send(port.name, Seize(number))
            self.calls.add(port.name)

    @rule(port=channel)
    def call_in(self, port: str) -> None:
        self.send(port, Incoming("100", "800"))
        if self.gateway.ports[port].in_call:
            self.calls.add(port)

    @rule(port=channel, event=st.sampled_from([Answer(), FarEndAnswer(), Release()]))
    def line_event(self, port: str, event: object) -> None:
        self.settle(self.send(port, event))

    @rule(dt=st.floats(0, 1))
    def advance(self, dt: float) -> None:
        self.now += dt
        self.settle(self.gateway.on_deadline(self.now))

    @rule(span=st.sampled_from(SPANS))
    def fail_span(self, span: str) -> None:
        on_span = {n for n in self.calls if self.gateway.span_of(n) == span}
        actions = self.gateway.fail_span(span, self.now)
        ended = {name for name, action in actions if action == Ended("failed")}
        assert ended == on_span, "a call on the failed span did not end"
        self.settle(actions)

    @rule(span=st.sampled_from(SPANS))
    def restore_span(self, span: str) -> None:
        was_down = span in self.gateway.spans_down
        self.gateway.restore_span(span, self.now)
        if was_down and not self.gateway.down:
            ports = self.gateway.ports
            assert {ports[n].state for n in self.gateway.spans[span]} == {PortState.IDLE}

    @precondition(lambda self: not self.gateway.down)
    @rule()
    def fail_gateway(self) -> None:
        self.settle(self.gateway.fail(self.now))

    @rule()
    def restore_gateway(self) -> None:
        self.gateway.restore(self.now)

    @invariant()
    def a_span_that_is_down_has_every_channel_out_of_service(self) -> None:
        for span in self.gateway.spans_down:
            states = {self.gateway.ports[n].state for n in self.gateway.spans[span]}
            assert states == {PortState.OUT_OF_SERVICE}

    @invariant()
    def no_call_outlives_its_channel(self) -> None:
        assert all(self.gateway.ports[n].in_call for n in self.calls)


SpanMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=40,
                                         deadline=None)
TestSpanMachine = SpanMachine.TestCase
