"""Detail records of calls that met the PBX features: transfers by kind and recalls, pickup,
callback and supervision, each column's exact value from a hand-built event sequence (the
records as the ACD and the B2BUA log them)."""

from __future__ import annotations

from appliance.events import (
    AgentRung,
    CallAnswered,
    CallbackFailed,
    CallbackGivenUp,
    CallbackPlaced,
    CallbackRequested,
    CallEnded,
    CallForcedOff,
    CallOffered,
    CallPickedUp,
    CallQueued,
    CallTransferred,
    EndCause,
    Record,
    RingNoAnswer,
    SupervisionChanged,
    SupervisionEnded,
    SupervisionStarted,
)
from appliance.records import CallDetail, call_details

HANGUP = EndCause.CALLER_HANGUP


def answered(call: int = 1, agent: str = "a1", t: float = 0.0) -> list[Record]:
    """A call offered at ``t``, queued in sales and answered by ``agent`` 5 s later."""
    return [CallOffered(t, call, "pstn", f"030{call}", "100", 1),
            CallQueued(t, call, "sales", 0, 1), AgentRung(t + 1, call, "sales", agent),
            CallAnswered(t + 5, call, "sales", agent, 5.0)]


def only(records: list[Record]) -> CallDetail:
    [detail] = call_details(records)
    return detail


def transfers(detail: CallDetail) -> tuple[int, int, int, int, int]:
    return (detail.transfers, detail.transfers_to_queue, detail.transfers_to_agent,
            detail.transfers_attended, detail.recalls)


def test_a_blind_transfer_to_a_queue_counts_as_one() -> None:
    detail = only([*answered(), CallTransferred(20, 1, "a1", "support"),
                   CallQueued(20, 1, "support", 0, 1), AgentRung(21, 1, "support", "a2"),
                   CallAnswered(25, 1, "support", "a2", 10.0), CallEnded(60, 1, HANGUP)])
    assert transfers(detail) == (1, 1, 0, 0, 0)


def test_a_blind_transfer_to_an_agent_is_rung_and_taken() -> None:
    detail = only([*answered(), CallTransferred(20, 1, "a1", "agent:a2"),
                   CallQueued(20, 1, "agent:a2", 0, 1), AgentRung(20, 1, "agent:a2", "a2"),
                   CallAnswered(24, 1, "agent:a2", "a2", 9.0), CallEnded(60, 1, HANGUP)])
    assert transfers(detail) == (1, 0, 1, 0, 0)
    assert detail.agent == "a2"


def test_a_blind_transfer_not_taken_is_recalled_to_the_transferring_agent() -> None:
    detail = only([*answered(), CallTransferred(20, 1, "a1", "agent:a2"),
                   CallQueued(20, 1, "agent:a2", 0, 1), AgentRung(20, 1, "agent:a2", "a2"),
                   RingNoAnswer(35, 1, "agent:a2", "a2"),
                   CallQueued(35, 1, "agent:a1", 0, 1), AgentRung(35, 1, "agent:a1", "a1"),
                   CallAnswered(38, 1, "agent:a1", "a1", 23.0), CallEnded(90, 1, HANGUP)])
    assert transfers(detail) == (1, 0, 1, 0, 1)
    assert detail.agent == "a1"


def test_a_recall_the_transferring_agent_misses_goes_back_to_the_queue_once() -> None:
    detail = only([*answered(), CallTransferred(20, 1, "a1", "agent:a2"),
                   CallQueued(20, 1, "agent:a2", 0, 1), AgentRung(20, 1, "agent:a2", "a2"),
                   RingNoAnswer(35, 1, "agent:a2", "a2"),
                   CallQueued(35, 1, "agent:a1", 0, 1), AgentRung(35, 1, "agent:a1", "a1"),
                   RingNoAnswer(50, 1, "agent:a1", "a1"), CallQueued(50, 1, "sales", 0, 1),
                   AgentRung(51, 1, "sales", "a3"), CallAnswered(53, 1, "sales", "a3", 38.0),
                   CallEnded(90, 1, HANGUP)])
    assert transfers(detail) == (1, 0, 1, 0, 1)


def test_an_attended_transfer_is_taken_at_once_without_a_ring() -> None:
    detail = only([*answered(), CallTransferred(40, 1, "a1", "agent:a2"),
                   CallQueued(40, 1, "agent:a2", 0, 1),
                   CallAnswered(40, 1, "agent:a2", "a2", 5.0), CallEnded(80, 1, HANGUP)])
    assert transfers(detail) == (1, 0, 0, 1, 0)


def test_transfers_of_each_kind_add_up_in_one_call() -> None:
    detail = only([*answered(), CallTransferred(20, 1, "a1", "agent:a2"),
                   CallQueued(20, 1, "agent:a2", 0, 1),
                   CallAnswered(20, 1, "agent:a2", "a2", 5.0),
                   CallTransferred(30, 1, "a2", "support"), CallQueued(30, 1, "support", 0, 1),
                   AgentRung(31, 1, "support", "a3"), CallAnswered(33, 1, "support", "a3", 8.0),
                   CallTransferred(40, 1, "a3", "agent:a4"),
                   CallQueued(40, 1, "agent:a4", 0, 1), AgentRung(40, 1, "agent:a4", "a4"),
                   CallAnswered(42, 1, "agent:a4", "a4", 10.0), CallEnded(80, 1, HANGUP)])
    assert transfers(detail) == (3, 1, 1, 1, 0)


def test_a_plain_call_has_no_feature_columns() -> None:
    detail = only([*answered(), CallEnded(60, 1, HANGUP)])
    assert transfers(detail) == (0, 0, 0, 0, 0)
    assert (detail.picked_up_by, detail.pickup, detail.callback_number,
            detail.callback_attempts, detail.callback_outcome, detail.supervised_by,
            detail.supervision_modes, detail.forced_off_by) == (None,) * 8


def test_a_picked_up_call_names_who_and_how() -> None:
    offered = [CallOffered(0, 1, "pstn", "0301", "100", 1), CallQueued(0, 1, "sales", 0, 1),
               AgentRung(1, 1, "sales", "a1")]
    directed = only([*offered, CallPickedUp(4, 1, "a2", "a1", True),
                     AgentRung(4, 1, "sales", "a2"), CallAnswered(4, 1, "sales", "a2", 4.0),
                     CallEnded(30, 1, HANGUP)])
    group = only([*offered, CallPickedUp(4, 1, "a3", "a1", False),
                  AgentRung(4, 1, "sales", "a3"), CallAnswered(4, 1, "sales", "a3", 4.0),
                  CallEnded(30, 1, HANGUP)])
    assert (directed.picked_up_by, directed.pickup, directed.agent) == ("a2", "directed", "a2")
    assert (group.picked_up_by, group.pickup) == ("a3", "group")


def callback_requested() -> list[Record]:
    return [CallOffered(0, 1, "pstn", "0301", "100", 1), CallQueued(0, 1, "sales", 0, 1),
            CallbackRequested(30, 1, "sales", "0309999")]


def test_a_connected_callback_has_its_number_attempts_and_outcome() -> None:
    detail = only([*callback_requested(), AgentRung(100, 1, "sales", "a1"),
                   CallbackPlaced(102, 1, "0309999", 1, "a1"),
                   CallbackFailed(132, 1, 1, "no_answer"), AgentRung(300, 1, "sales", "a1"),
                   CallbackPlaced(302, 1, "0309999", 2, "a1"),
                   CallAnswered(310, 1, "sales", "a1", 310.0), CallEnded(400, 1, HANGUP)])
    assert (detail.callback_number, detail.callback_attempts, detail.callback_outcome) == (
        "0309999", 2, "connected")


def test_a_callback_given_up_says_so() -> None:
    detail = only([*callback_requested(), CallbackPlaced(100, 1, "0309999", 1, ""),
                   CallbackFailed(130, 1, 1, "busy"), CallbackGivenUp(130, 1, 1),
                   CallEnded(130, 1, EndCause.CALLBACK_GIVEN_UP)])
    assert (detail.callback_number, detail.callback_attempts, detail.callback_outcome) == (
        "0309999", 1, "given_up")


def test_a_supervised_call_names_the_supervisor_the_modes_and_the_force_off() -> None:
    detail = only([*answered(), SupervisionStarted(10, 1, "s1", "a1", "listen"),
                   SupervisionChanged(12, 1, "s1", "whisper"),
                   SupervisionChanged(14, 1, "s1", "listen"),
                   SupervisionChanged(16, 1, "s1", "barge"),
                   CallForcedOff(20, 1, "a1", "s1"), CallEnded(20, 1, EndCause.AGENT_HANGUP),
                   SupervisionEnded(20, 1, "s1", "call_ended")])
    assert (detail.supervised_by, detail.supervision_modes, detail.forced_off_by) == (
        "s1", "listen,whisper,barge", "s1")


def test_a_listened_call_not_forced_off() -> None:
    detail = only([*answered(), SupervisionStarted(10, 1, "s1", "a1", "listen"),
                   SupervisionEnded(12, 1, "s1", "supervisor_hangup"),
                   CallEnded(20, 1, HANGUP)])
    assert (detail.supervised_by, detail.supervision_modes, detail.forced_off_by) == (
        "s1", "listen", None)
