"""Property: a transfer to an agent, blind or attended, ends with each leg connected or
released, whatever happens to it - the target answers, is busy or lets it ring, the
transferring agent is rung back and does the same, the caller or an agent hangs up on the
way. The B2BUA's invariants are checked after every input (`CheckedLab`); at the end nothing
is left in the appliance and every party's call is over."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sim.sipua import UserAgent
from tests.appliance.pbx.b2bua.test_attended_transfer import consulting
from tests.appliance.pbx.b2bua.test_races import CheckedLab
from tests.appliance.pbx.b2bua.test_transfer import talking, transfer_lab
from tests.appliance.pbx.b2bua.test_transfer_to_ring_group import BOX, group_lab, referred

STEPS = ("answer", "busy", "no_answer", "caller_hangs_up", "agent_hangs_up")


def calls_in(ua: UserAgent, state: str) -> list[int]:
    return [call.id for call in ua.calls.values() if call.state == state]


def step(lab: CheckedLab, what: str, call: int) -> None:
    phones = list(lab.phones.values())
    if what == "answer" or what == "busy":
        for phone in phones:
            for incoming in calls_in(phone, "incoming"):
                lab.do(phone, "answer" if what == "answer" else "reject", incoming)
    elif what == "caller_hangs_up":
        lab.do(lab.gateway, "hangup", call)
    elif what == "agent_hangs_up":
        for phone in phones:
            for answered in calls_in(phone, "answered"):
                lab.do(phone, "hangup", answered)
    lab.run(16.0 if what == "no_answer" else 0.5)  # no answer: past a ring timeout


def connected_or_released(lab: CheckedLab, call: int) -> None:
    """The caller is either gone or with exactly one answering agent, or waiting for one."""
    talking_agents = [user for user, phone in lab.phones.items() if calls_in(phone, "answered")]
    if lab.gateway.calls[call].state == "ended":
        lab.run(1.0)
        assert not any(calls_in(p, "answered") for p in lab.phones.values())
    else:
        assert len(talking_agents) <= 1, talking_agents


def transferred(lab: CheckedLab, attended: bool) -> int:
    """a1's caller transferred to a2: blind (rung), or attended (a2 consulted first, the
    caller handed to them at once); the gateway's call."""
    if attended:
        call, incoming, consultation, _ = consulting(lab)
        lab.do(lab.phones["a1"], "refer_replacing", incoming, consultation, "a2")
    else:
        call, incoming = talking(lab)
        lab.do(lab.phones["a1"], "refer", incoming, "a2")
    lab.run(0.5)
    return call


@settings(max_examples=60, deadline=None)
@given(st.booleans(), st.lists(st.sampled_from(STEPS), max_size=5))
def test_every_transfer_ends_with_each_leg_connected_or_released(
        attended: bool, steps: list[str]) -> None:
    lab = transfer_lab()
    call = transferred(lab, attended)
    walk(lab, call, steps)


def walk(lab: CheckedLab, call: int, steps: list[str]) -> None:
    """Take `steps`, the caller connected or released after each; then the caller hangs up
    (if still there), every phone lets go, and nothing is left anywhere."""
    for what in steps:
        step(lab, what, call)
        connected_or_released(lab, call)
    if lab.gateway.calls[call].state != "ended":
        lab.do(lab.gateway, "hangup", call)
    lab.run(1.0)
    for phone in lab.phones.values():
        assert not calls_in(phone, "answered")
        for ringing in calls_in(phone, "incoming"):
            lab.do(phone, "reject", ringing)
    lab.settle()
    assert all(c.state == "ended" for ua in (lab.gateway, *lab.phones.values())
               for c in ua.calls.values())


GROUP_THENS = ("", "202", "voicemail:desk", "queue:service")


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(GROUP_THENS), st.lists(st.sampled_from(STEPS), max_size=5))
def test_every_transfer_to_a_ring_group_ends_with_each_leg_connected_or_released(
        then: str, steps: list[str]) -> None:
    """The same, for a caller blind-transferred to ring group 600, whose `then` - none (the
    agent rung back), a phone, a mailbox or a queue - takes the call nobody answers."""
    lab = group_lab(more=BOX, media=then.startswith("voicemail"), **({"then": then} if then
                                                                     else {}))
    call = referred(lab)
    walk(lab, call, steps)
