"""Line appearances (the issue's acceptance): over random queue calls, calls between phones,
blind transfers, pickups, answers, refusals and hang-ups, no phone ever has more calls ringing
or up than its line appearances, and the ACD rings an agent for at most one queue call, and
only one whose phone is on no call at all."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.appliance.pbx.b2bua.harness import Lab, live_site

USERS = ("a1", "a2", "a3")
LIVE = ("calling", "ringing", "incoming", "answered")
STEPS = st.tuples(
    st.sampled_from(["queue", "queue", "dial", "dial", "dial", "answer", "answer", "answer",
                     "reject", "hangup", "transfer", "transfer", "pickup", "caller_gone",
                     "wait"]),
    st.sampled_from(USERS), st.sampled_from(USERS))


def lab_with(lines: list[int]) -> Lab:
    phones = {user: {"lines": count} for user, count in zip(USERS, lines, strict=True)}
    lab = Lab(live_site(agents=3, sip={"extension_ring_timeout": 8}, phone=phones))
    lab.register_all()
    return lab


def watch_queue_rings(lab: Lab, busy_rings: list[tuple[str, int]]) -> None:
    """Note every queue call the ACD rings an agent for while their phone has a call."""
    side = lab.box.agent_side
    ring = side.ring

    def noted(call: int, agent: str, now: float) -> None:
        if call > 0 and lab.box.legs.lines_in_use[agent]:
            busy_rings.append((agent, call))
        ring(call, agent, now)

    side.ring = noted  # type: ignore[method-assign]


def live_calls(lab: Lab, user: str, states: tuple[str, ...] = LIVE) -> list[int]:
    return [c.id for c in lab.phones[user].calls.values() if c.state in states]


def callers(lab: Lab) -> list[int]:
    return [c.id for c in lab.gateway.calls.values() if c.state in LIVE]


def step(lab: Lab, kind: str, one: str, other: str) -> None:
    phone = lab.phones[one]
    incoming = live_calls(lab, one, ("incoming",))
    up = live_calls(lab, one, ("answered",))
    if kind == "queue":
        lab.do(lab.gateway, "call", "100")
    elif kind == "dial":
        lab.do(phone, "call", other)
    elif kind == "answer" and incoming:
        lab.do(phone, "answer", incoming[0])
    elif kind == "reject" and incoming:
        lab.do(phone, "reject", incoming[-1])
    elif kind == "hangup" and live_calls(lab, one):
        lab.do(phone, "hangup", live_calls(lab, one)[0])
    elif kind == "transfer" and up:
        lab.do(phone, "refer", up[-1], other)
    elif kind == "pickup":
        lab.do(phone, "call", "*8" if one == other else f"**{other}")
    elif kind == "caller_gone" and callers(lab):
        lab.do(lab.gateway, "hangup", callers(lab)[0])
    lab.run(12 if kind == "wait" else 0.3)


def check(lab: Lab, lines: list[int]) -> None:
    for user, count in zip(USERS, lines, strict=True):
        assert lab.box.legs.lines_in_use[user] <= count, user
        assert len(live_calls(lab, user, ("incoming", "answered"))) <= count, user
        queue_rings = [leg for (call, agent), leg in lab.box.legs.rings.items()
                       if call > 0 and agent == user and not leg.ended]
        assert len(queue_rings) <= 1, user


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(1, 3), min_size=3, max_size=3), st.lists(STEPS, max_size=24))
def test_no_phone_is_rung_beyond_its_lines_nor_offered_a_queue_call_while_on_a_call(lines,
                                                                                    steps):
    lab = lab_with(lines)
    busy_rings: list[tuple[str, int]] = []
    watch_queue_rings(lab, busy_rings)
    for kind, one, other in steps:
        step(lab, kind, one, other)
        check(lab, lines)
    assert busy_rings == []
