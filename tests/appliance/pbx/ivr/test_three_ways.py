"""One random valid flow and one random caller, played three ways: on the engine alone
(`FlowRun`), through call control (`CallControl`, call fidelity) and through the B2BUA over
the simulated network (SIP fidelity, keys as SIP INFO). The path must be the same: flows and
nodes entered, digits collected per node, lookups, variables set and the exit; not the times.

Times are chosen so that the network's latency cannot reorder anything: every timer of a flow
falls on a multiple of 0.5 s after the answer or after a key, and the i-th key comes 0.25 +
0.01 * i s off that grid, far more than the 2 ms by which SIP delays a key. The wall clock reads
the same at the flow's start in every world, 0.1 s past a second, so TIME never crosses a second
where another world would not.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from random import Random
from typing import Any, Protocol

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.clock import Deadlines
from appliance.config import Site
from appliance.eventlog import EventLog
from appliance.events import (
    IvrDigits,
    IvrExited,
    IvrFlowEntered,
    IvrLookedUp,
    IvrNodeEntered,
    IvrVariableSet,
)
from appliance.media.speech import say
from appliance.pbx.actions import LookUp
from appliance.pbx.callcontrol import CallControl
from appliance.pbx.ivr import FlowRun
from appliance.wallclock import from_origin
from sim.sipnet import LinkQuality
from tests.appliance.pbx.b2bua.harness import Lab, live_site
from tests.appliance.pbx.ivr.harness import prompt_seconds
from tests.appliance.pbx.ivr.test_run_properties import KEYS, bound, ivr_sections

LATENCY = 0.001  # one way; no jitter, no loss
ANI, DNIS = "13800138000", "100"
START = datetime(2026, 3, 2, 9, 30, 0, 100_000)
"""The wall clock when the flow starts, in every world."""
MOST_KEYS = 12  # 0.25 + 0.01 * 12 stays well off the 0.5 s grid
PATH = (IvrFlowEntered, IvrNodeEntered, IvrDigits, IvrLookedUp, IvrVariableSet, IvrExited)

Script = list[tuple[float, str]]
"""(seconds after the caller is answered, a key or "hangup"), in time order."""

NO_ANSWER = object()
Answer = dict[str, str] | None | object


def answer(key: str) -> Answer:
    """The lookup every world asks: found, not found, failed or never answered (the lookup's
    time limit then ends it), by the key alone."""
    if not key:
        return {}
    pick = sum(map(ord, key)) % 4
    return [{"a": key[-3:], "b": "x"}, {}, None, NO_ANSWER][pick]


@st.composite
def scripts(draw: st.DrawFn) -> Script:
    gaps = draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.5, 6.0]), max_size=MOST_KEYS))
    keys = draw(st.lists(st.sampled_from(KEYS), min_size=len(gaps), max_size=len(gaps)))
    if draw(st.booleans()):
        gaps.append(draw(st.sampled_from([0.0, 1.0, 4.0])))
        keys.append("hangup")
    script: Script = []
    grid = 0.0
    for index, (gap, key) in enumerate(zip(gaps, keys, strict=True)):
        grid += gap
        script.append((grid + 0.25 + 0.01 * index, key))
    return script


def path(log: EventLog) -> list[tuple[Any, ...]]:
    """The IVR's records without their times and call ids."""
    return [tuple(record)[2:] for record in log if isinstance(record, PATH)]


def left(log: EventLog) -> bool:
    return any(isinstance(record, IvrExited) for record in log)


# --- the engine alone and call control: driven by hand ---------------------------------------


class World(Protocol):
    log: EventLog
    deadlines: Deadlines

    def start(self, now: float) -> None: ...
    def press(self, now: float, key: str) -> None: ...
    def hang_up(self, now: float) -> None: ...
    def lookups(self) -> list[LookUp]: ...
    def lookup_done(self, now: float, call: int, fields: Any) -> None: ...


class Engine:
    """`FlowRun` on its own, as the property tests drive it."""

    def __init__(self, site: Site) -> None:
        assert site.ivr is not None
        self.log, self.deadlines, self.outbox = EventLog(), Deadlines(), []
        self.run = FlowRun(1, site.ivr, "f0", ani=ANI, dnis=DNIS, clock=from_origin(START),
                           deadlines=self.deadlines, prompt_seconds=prompt_seconds,
                           speaker=say, outbox=self.outbox, log=self.log)

    def start(self, now: float) -> None:
        self.run.start(now)

    def press(self, now: float, key: str) -> None:
        self.run.digit(key, now)

    def hang_up(self, now: float) -> None:
        self.run.hang_up(now)

    def lookups(self) -> list[LookUp]:
        asked = [action for action in self.outbox if isinstance(action, LookUp)]
        self.outbox.clear()
        return asked

    def lookup_done(self, now: float, call: int, fields: Any) -> None:
        self.run.lookup_done(fields, now)


class Control:
    """Call control: a call offered on the route to flow f0."""

    def __init__(self, site: Site) -> None:
        self.log = EventLog()
        self.cc = CallControl(site, self.log, Random(1), wallclock=from_origin(START),
                              prompt_seconds=prompt_seconds, speaker=say)
        self.deadlines = self.cc.deadlines
        self.call = 0

    def start(self, now: float) -> None:
        self.call = self.cc.offer_call(now, "pstn", ANI, DNIS)

    def press(self, now: float, key: str) -> None:
        self.cc.caller_digit(now, self.call, key)

    def hang_up(self, now: float) -> None:
        self.cc.caller_hangup(now, self.call)

    def lookups(self) -> list[LookUp]:
        return [action for action in self.cc.take_actions() if isinstance(action, LookUp)]

    def lookup_done(self, now: float, call: int, fields: Any) -> None:
        self.cc.lookup_done(now, call, fields)


def serve(world: World, now: float) -> None:
    """Answer the lookups asked, and those their answers lead to, at once."""
    while asked := world.lookups():
        for lookup in asked:
            fields = answer(lookup.key)
            if fields is not NO_ANSWER:
                world.lookup_done(now, lookup.call, fields)


def wait(world: World, until: float) -> None:
    """Fire the world's timers up to `until`, answering lookups as they are asked."""
    while (when := world.deadlines.next_deadline()) is not None and when <= until:
        world.deadlines.run_due(when)
        serve(world, when)


def after_the_caller(site: Site, script: Script) -> float:
    """A time by which the flow has left the IVR, whatever it is: silent branches never loop."""
    assert site.ivr is not None
    return (script[-1][0] if script else 0.0) + bound(site.ivr) + 1.0


def by_hand(world: World, site: Site, script: Script) -> list[tuple[Any, ...]]:
    world.start(0.0)
    serve(world, 0.0)
    for when, what in script:
        wait(world, when)
        world.hang_up(when) if what == "hangup" else world.press(when, what)
        serve(world, when)
    wait(world, after_the_caller(site, script))
    assert left(world.log)
    return path(world.log)


# --- the B2BUA over the simulated network -----------------------------------------------------


def answering_lookups(lab: Lab) -> None:
    """After every datagram and every timer, the box's lookups are answered at once."""
    box = lab.box
    receive, wake = box.receive_datagram, box.on_deadline

    def serve_box(now: float) -> None:
        while asked := box.take_lookups():
            for lookup in asked:
                fields = answer(lookup.key)
                if fields is not NO_ANSWER:
                    box.lookup_done(lookup.call, fields, now)  # type: ignore[arg-type]

    def received(data: bytes, source: tuple[str, int], now: float) -> None:
        receive(data, source, now)
        serve_box(now)

    def woken(now: float) -> None:
        wake(now)
        serve_box(now)

    box.receive_datagram = received  # type: ignore[method-assign]
    box.on_deadline = woken  # type: ignore[method-assign]


def gateway_does(lab: Lab, call: int, what: str) -> Callable[[], None]:
    def act() -> None:
        placed = lab.gateway.calls.get(call)
        if placed is None or placed.dialog is None or placed.state == "ended":
            return  # the flow has hung up already
        if what == "hangup":
            lab.do(lab.gateway, "hangup", call)
        else:
            lab.do(lab.gateway, "press", call, what)

    return act


def over_sip(site: Site, script: Script) -> list[tuple[Any, ...]]:
    # The INVITE reaches the box (and the flow starts) one latency after the call at 0.
    clock = from_origin(START - timedelta(seconds=LATENCY))
    lab = Lab(site, quality=LinkQuality(latency=LATENCY), wallclock=clock,
              prompt_seconds=prompt_seconds)
    answering_lookups(lab)
    call = lab.do(lab.gateway, "call", DNIS, None, None, ANI)
    lab.run(2 * LATENCY)
    assert "answered" in [event.kind for event in lab.gateway.take_events()]
    for when, what in script:
        lab.net.at(2 * LATENCY + when, gateway_does(lab, call, what))
    lab.run(2 * LATENCY + after_the_caller(site, script))
    assert left(lab.log)
    return path(lab.log)


# --- the property -----------------------------------------------------------------------------


def site_of(section: dict[str, Any]) -> Site:
    """A site whose calls on trunk group pstn go to flow f0; the flows' agent is a1."""
    for flow in section["flows"]:
        for node in flow["nodes"]:
            if node["kind"] == "to_agent":
                node["agent"] = "a1"
    return live_site(agents=1, routes=[{"trunk_group": "pstn", "flow": "f0"}],
                     more={"ivr": section})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ivr_sections(), scripts())
def test_a_random_flow_takes_the_same_path_on_the_engine_in_call_and_in_sip_fidelity(
        section: dict[str, Any], script: Script) -> None:
    site = site_of(section)
    engine = by_hand(Engine(site), site, script)
    assert by_hand(Control(site), site, script) == engine
    assert over_sip(site, script) == engine
