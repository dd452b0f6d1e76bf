"""The legs' state tables on their own: every (state, event) a table leaves out raises, the rows
it has lead where they say, from every state a leg can reach an end, a relayed re-INVITE ends
once, and a dialog's re-INVITE exchange reaches every state, refuses the crossing ones and goes
back to idle."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.pbx.legs import AgentLeg, CallerLeg, FeatureLeg, Leg, LegEvent, LegState
from appliance.pbx.legs.machine import LegStateError, Table, next_state
from appliance.pbx.legs.offer import (
    GLARE,
    OFFER_TABLE,
    STILL_ANSWERING,
    OfferEvent,
    OfferState,
    Refusal,
    next_offer,
)
from appliance.pbx.legs.reinvite import Relay, RelayEvent, RelayState
from appliance.pbx.sip.headers import Headers
from appliance.pbx.sip.message import Request

S, E = LegState, LegEvent
LEGS: list[type[Leg]] = [CallerLeg, AgentLeg, FeatureLeg]
PAIRS = list(itertools.product(LegState, LegEvent))


def _refused(table: Table) -> list[tuple[LegState, LegEvent]]:
    return [(state, event) for state, event in PAIRS if event not in table.get(state, {})]


@pytest.mark.parametrize("kind", LEGS, ids=lambda kind: kind.__name__)
def test_every_event_the_table_leaves_out_raises(kind: type[Leg]) -> None:
    refused = _refused(kind.table)
    assert refused  # each role refuses something: the tables are not all-permissive
    for state, event in refused:
        with pytest.raises(LegStateError, match=f"{event.name} is not allowed in {state.name}"):
            next_state(kind.table, state, event)


@pytest.mark.parametrize("kind", LEGS, ids=lambda kind: kind.__name__)
def test_a_refused_event_leaves_the_leg_where_it_was(kind: type[Leg]) -> None:
    leg = _leg(kind)
    state, event = next((s, e) for s, e in _refused(kind.table) if s is kind.initial)
    with pytest.raises(LegStateError):
        leg.fire(event)
    assert leg.state is state


@pytest.mark.parametrize("kind", LEGS, ids=lambda kind: kind.__name__)
def test_every_state_of_a_role_can_end_and_ended_stays_ended(kind: type[Leg]) -> None:
    table = kind.table
    for state in table:
        assert S.ENDED in _reachable(table, state), state
    assert set(table[S.ENDED].values()) == {S.ENDED}


@pytest.mark.parametrize(("kind", "state", "event", "after"), [
    (CallerLeg, S.ANSWERED, E.CANCEL, S.ANSWERED),  # CANCEL crossing our 200: too late
    (CallerLeg, S.ANSWERED, E.PEER_BYE, S.ENDED),  # BYE before ACK
    (CallerLeg, S.ANSWERED, E.ACK_TIMEOUT, S.ENDED),  # lost ACK
    (CallerLeg, S.INVITED, E.CANCEL, S.ENDED),
    (AgentLeg, S.CANCELLING, E.PEER_ANSWER, S.ENDED),  # CANCEL crossing the phone's 200
    (AgentLeg, S.CANCEL_PENDING, E.PEER_ANSWER, S.ENDED),
    (AgentLeg, S.CANCEL_PENDING, E.PROVISIONAL, S.CANCELLING),  # now the CANCEL may go
    (AgentLeg, S.CANCELLING, E.PEER_REFUSAL, S.ENDED),  # 486 after CANCEL
    (AgentLeg, S.CALLING, E.STOP, S.CANCEL_PENDING),
    (FeatureLeg, S.ANSWERED, E.ACK, S.CONFIRMED),
])
def test_the_race_rows(kind: type[Leg], state: LegState, event: LegEvent,
                       after: LegState) -> None:
    leg = _leg(kind)
    leg.state = state
    assert leg.fire(event) is state
    assert leg.state is after


def test_a_caller_answered_cannot_be_answered_again_nor_an_agent_cancelled_twice() -> None:
    caller = _leg(CallerLeg)
    caller.fire(E.ANSWER)
    with pytest.raises(LegStateError):
        caller.fire(E.ANSWER)
    agent = _leg(AgentLeg)
    agent.fire(E.PEER_ANSWER)
    with pytest.raises(LegStateError):
        agent.fire(E.STOP)  # an answered phone is no longer ringing


def _reachable(table: Table, start: LegState) -> set[LegState]:
    seen, todo = {start}, [start]
    while todo:
        for after in table.get(todo.pop(), {}).values():
            if after not in seen:
                seen.add(after)
                todo.append(after)
    return seen


def _leg(kind: type[Leg]) -> Leg:
    invite = Request("INVITE", "sip:a1@192.0.2.1", Headers([("Call-ID", "c1")]))
    return kind(1, "a1", invite, ("z9hG4bK1", "192.0.2.1:5060", 1, "INVITE"), "tag",
                ("192.0.2.1", 5060))


def test_a_relayed_reinvite_ends_once_and_a_bye_during_it_terminates_it() -> None:
    for event, after in [(RelayEvent.SENDER_ENDED, RelayState.TERMINATED),  # BYE during it
                         (RelayEvent.ANSWER, RelayState.ANSWERED),
                         (RelayEvent.NO_RESPONSE, RelayState.REFUSED)]:
        relay = Relay(_leg(CallerLeg), Request("INVITE", "sip:x", Headers([])),
                      ("z9hG4bK2", "192.0.2.1:5060", 2, "INVITE"))
        assert relay.fire(event) is after
        for late in RelayEvent:  # over: whatever comes later is refused
            with pytest.raises(LegStateError):
                relay.fire(late)
        assert relay.state is after


# --- a dialog's re-INVITE exchange (offer.py) ------------------------------------------------

OS, OE = OfferState, OfferEvent


def test_every_offer_state_is_reached_from_idle_and_leads_back_to_it() -> None:
    seen, todo = {OS.IDLE}, [OS.IDLE]
    while todo:
        for step in OFFER_TABLE[todo.pop()].values():
            if isinstance(step, OfferState) and step not in seen:
                seen.add(step)
                todo.append(step)
    assert seen == set(OfferState)
    for state in OfferState:
        assert state is OS.IDLE or next_offer(state, OE.ANSWERED) is OS.IDLE


def test_every_offer_event_the_table_leaves_out_raises() -> None:
    refused = [(state, event) for state, event in itertools.product(OfferState, OfferEvent)
               if event not in OFFER_TABLE[state]]
    assert refused == [(OS.IDLE, OE.ANSWERED)]  # no answer to a re-INVITE nobody sent
    for state, event in refused:
        with pytest.raises(LegStateError, match=f"{event.name} is not allowed in {state.name}"):
            next_offer(state, event)


@pytest.mark.parametrize(("state", "event", "refusal"), [
    (OS.OUR_OFFER, OE.PEER_REINVITE, GLARE),  # re-INVITEs crossing (RFC 3261 14.1)
    (OS.PEER_OFFER, OE.PEER_REINVITE, STILL_ANSWERING),  # the peer's second (14.2)
    (OS.PEER_OFFER, OE.OUR_REINVITE, GLARE),  # the other leg's cannot be relayed yet
    (OS.OUR_OFFER, OE.OUR_REINVITE, GLARE),
])
def test_the_refusing_rows(state: OfferState, event: OfferEvent, refusal: Refusal) -> None:
    assert next_offer(state, event) == refusal


def test_glare_is_491_and_a_second_reinvite_of_the_peer_500_with_retry_after() -> None:
    assert (GLARE.status, GLARE.reason, GLARE.headers) == (491, "Request Pending", ())
    assert STILL_ANSWERING.status == 500
    assert dict(STILL_ANSWERING.headers).keys() == {"Retry-After"}


def test_a_new_leg_has_no_reinvite_in_progress() -> None:
    for kind in LEGS:
        assert _leg(kind).offer is OS.IDLE


@settings(max_examples=200)
@given(st.sampled_from(LEGS), st.lists(st.sampled_from(list(LegEvent)), max_size=30))
def test_any_event_sequence_moves_by_the_table_or_raises_leaving_the_state(
        kind: type[Leg], events: list[LegEvent]) -> None:
    leg = _leg(kind)
    for event in events:
        before = leg.state
        allowed = kind.table.get(before, {})
        if event in allowed:
            assert leg.fire(event) is before
            assert leg.state is allowed[event]
        else:
            with pytest.raises(LegStateError):
                leg.fire(event)
            assert leg.state is before
        assert before is not S.ENDED or leg.state is S.ENDED  # nothing comes back from ENDED
