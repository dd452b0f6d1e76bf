"""Every port kind's state machine under random events (hypothesis): no port is seized twice;
a port whose far end hung up, or that the appliance released, is idle within its kind's bound;
every call on a failed gateway ends."""

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from appliance.hw import (
    Answer,
    CallerNumber,
    Capabilities,
    Digit,
    DisconnectTone,
    Ended,
    FarEndAnswer,
    FarEndDisconnect,
    Gateway,
    Idle,
    Incoming,
    Port,
    PortError,
    PortState,
    Release,
    Ring,
    Seize,
    e1_channel,
    fxo_trunk,
    fxs_station,
    sip_station,
    sip_trunk,
)

PORTS = 2
port_index = st.integers(0, PORTS - 1)
number = st.text("0123456789", min_size=1, max_size=12)
FREE = (PortState.IDLE, PortState.OUT_OF_SERVICE)
LINE_EVENTS = st.sampled_from([CallerNumber("100"), FarEndAnswer(), FarEndDisconnect(),
                               DisconnectTone(), Digit("5"), Answer(), Release()])


class PortMachine(RuleBasedStateMachine):
    caps: Capabilities

    def __init__(self) -> None:
        super().__init__()
        self.gateway = Gateway("gw", [Port(str(n), self.caps) for n in range(PORTS)])
        self.now = 0.0
        self.idle_by: dict[str, float] = {}  # port -> when it must be free again
        self.ended: list[str] = []

    def send(self, index: int, event: object) -> None:
        name = str(index)
        port = self.gateway.ports[name]
        before = (port.state, port.caller, port.called, port.next_deadline())
        try:
            actions = self.gateway.handle(name, event, self.now)  # type: ignore[arg-type]
        except PortError:
            assert (port.state, port.caller, port.called, port.next_deadline()) == before
            return
        if isinstance(event, Seize | Ring):
            assert before[0] is PortState.IDLE, "a busy port was seized"
        if port.state is not before[0]:
            self.expect_idle(name, event, before[0])
        self.note(actions)

    def expect_idle(self, name: str, event: object, state: PortState) -> None:
        """Note when a port an event changed must be free again at the latest."""
        if state not in FREE and state is not PortState.CLEARING:
            if isinstance(event, FarEndDisconnect) and name not in self.idle_by:
                self.idle_by[name] = self.now + self.caps.release_bound()
            if isinstance(event, Release | DisconnectTone):
                self.idle_by[name] = self.now + self.caps.release_time

    def note(self, actions: list) -> None:
        for name, action in actions:
            if isinstance(action, Idle):
                self.idle_by.pop(name, None)
            if isinstance(action, Ended):
                self.ended.append(name)

    @rule(index=port_index, dialed=number)
    def seize(self, index: int, dialed: str) -> None:
        self.send(index, Seize(dialed))

    @rule(dialed=number)
    def seize_a_free_port(self, dialed: str) -> None:
        port = self.gateway.free_port()
        if port is not None and self.caps.role.value == "trunk":
            self.send(int(port.name), Seize(dialed))
            assert port.state is not PortState.IDLE

    @rule(index=port_index)
    def ring(self, index: int) -> None:
        self.send(index, Ring("100"))

    @rule(index=port_index, caller=st.sampled_from([None, "100"]), rang=st.floats(0, 6))
    def incoming(self, index: int, caller: str | None, rang: float) -> None:
        self.send(index, Incoming(caller, "800" if self.caps.has_called_number else None, rang))

    @rule(index=port_index, event=LINE_EVENTS)
    def line_event(self, index: int, event: object) -> None:
        self.send(index, event)

    @rule(index=port_index)
    def far_end_hangs_up(self, index: int) -> None:
        self.send(index, FarEndDisconnect())

    @rule(index=port_index)
    def answer(self, index: int) -> None:
        self.send(index, Answer())

    @rule(dt=st.floats(0, 10))
    def advance(self, dt: float) -> None:
        until = self.now + dt
        while (deadline := self.gateway.next_deadline()) is not None and deadline <= until:
            self.now = max(self.now, deadline)
            self.note(self.gateway.on_deadline(self.now))
        self.now = until

    @rule()
    def fail_gateway(self) -> None:
        in_call = {name for name, port in self.gateway.ports.items() if port.in_call}
        self.ended.clear()
        self.note(self.gateway.fail(self.now))
        assert set(self.ended) == in_call, "a call on the failed gateway did not end"
        assert all(p.state is PortState.OUT_OF_SERVICE for p in self.gateway.ports.values())
        assert self.gateway.next_deadline() is None
        self.idle_by.clear()

    @rule()
    def restore_gateway(self) -> None:
        self.note(self.gateway.restore(self.now))

    @invariant()
    def released_ports_are_idle_within_their_bound(self) -> None:
        for name, bound in self.idle_by.items():
            if self.now > bound:
                state = self.gateway.ports[name].state
                assert state in FREE, f"port {name} still {state.value} after {bound}"


def machine_for(caps: Capabilities) -> type[PortMachine]:
    machine = type(f"{caps.kind}Machine", (PortMachine,), {"caps": caps})
    machine.TestCase.settings = settings(max_examples=40, stateful_step_count=40,
                                         deadline=None)
    return machine


TestFxoTrunk = machine_for(fxo_trunk()).TestCase
TestFxoTrunkWithoutClip = machine_for(fxo_trunk(clip=False, answer_on_ring=1)).TestCase
TestFxsStation = machine_for(fxs_station()).TestCase
TestE1Channel = machine_for(e1_channel()).TestCase
TestSipTrunk = machine_for(sip_trunk()).TestCase
TestSipStation = machine_for(sip_station()).TestCase
