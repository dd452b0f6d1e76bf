"""The reduction follows calls through the IVR: their path, exit and outcome, and the KPIs
and detail records read them alike."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.events import (
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallOffered,
    CallQueued,
    EndCause,
    IvrDigits,
    IvrExited,
    IvrExitKind,
    IvrFlowEntered,
    IvrLookedUp,
    IvrNodeEntered,
    IvrVariableSet,
    Record,
)
from appliance.kpi import CENTER_ENDS, KpiSettings, compute_kpis
from appliance.kpi.report import NodeStats
from appliance.records import call_details
from appliance.reduce import CallState, EventReducer, Outcome, ReductionListener, outcome_of
from tests.appliance.kpi.test_kpi_properties import call_life
from tests.appliance.pbx.ivr.test_callcontrol_ivr import control
from tests.appliance.test_reduce import SETTINGS as REDUCE_SETTINGS
from tests.appliance.test_reduce import assert_agree, ended_calls_only, total

SETTINGS = KpiSettings(interval=3600.0)
Q = IvrExitKind.QUEUE


def offered(t: float, call: int) -> CallOffered:
    return CallOffered(t, call, "pstn", "13800000000", "400", 1)


def menu(t: float, call: int, flow: str = "main") -> list[Record]:
    return [offered(t, call), IvrFlowEntered(t, call, flow),
            IvrNodeEntered(t, call, flow, "menu", "play_option")]


def exited(t: float, call: int, kind: IvrExitKind, target: str = "",
           variables: dict[str, str] | None = None) -> IvrExited:
    return IvrExited(t, call, kind, target, "en", variables or {})


def day() -> list[Record]:
    """Five calls: completed in the IVR, on to a queue and answered, abandoned in the IVR,
    hung up by it, and one that never met the IVR and abandoned in the queue."""
    return [
        *menu(0.0, 1),
        IvrDigits(4.0, 1, "menu", "2", "count"),
        IvrNodeEntered(4.0, 1, "main", "find", "access_db"),
        IvrLookedUp(5.0, 1, "crm", "13800000000", "found"),
        IvrVariableSet(5.0, 1, "balance", "12.30"),
        IvrNodeEntered(5.0, 1, "main", "done", "stop_flow"),
        exited(7.0, 1, IvrExitKind.COMPLETED, variables={"balance": "12.30"}),
        CallEnded(7.0, 1, EndCause.IVR_COMPLETED),
        *menu(10.0, 2),
        IvrNodeEntered(12.0, 2, "main", "sales", "to_queue"),
        exited(12.0, 2, Q, "sales"),
        CallQueued(12.0, 2, "sales", 7, 1),
        CallAnswered(20.0, 2, "sales", "a1", 8.0),
        CallEnded(80.0, 2, EndCause.CALLER_HANGUP),
        *menu(100.0, 3),
        exited(103.0, 3, IvrExitKind.ABANDONED),
        CallEnded(103.0, 3, EndCause.IVR_ABANDONED),
        *menu(200.0, 4, "night"),
        exited(206.0, 4, IvrExitKind.HANG_UP),
        CallEnded(206.0, 4, EndCause.IVR_HANG_UP),
        offered(300.0, 5),
        CallQueued(300.0, 5, "sales", 0, 1),
        CallAbandoned(340.0, 5, "sales", 1, 40.0),
        CallEnded(340.0, 5, EndCause.ABANDONED),
    ]


class _Closed(ReductionListener):
    def __init__(self) -> None:
        self.calls: dict[int, CallState] = {}

    def call_closed(self, call: CallState) -> None:
        self.calls[call.offered.call] = call


def reduced(records: list[Record], end: float | None = None) -> dict[int, CallState]:
    listener = _Closed()
    reducer = EventReducer(listener)
    last = reducer.feed_all(records)
    reducer.finish(end if end is not None else last or 0.0)
    return listener.calls


def test_calls_that_end_in_the_ivr_have_outcomes_of_their_own() -> None:
    outcomes = {n: call.outcome for n, call in reduced(day()).items()}
    assert outcomes == {1: Outcome.IVR_COMPLETED, 2: Outcome.ANSWERED,
                        3: Outcome.IVR_ABANDONED, 4: Outcome.IVR_HANG_UP,
                        5: Outcome.ABANDONED}


def test_the_path_holds_each_node_with_its_time_the_lookups_and_the_variables() -> None:
    path = reduced(day())[1].ivr
    assert path is not None
    assert [(s.node, s.seconds) for s in path.steps] == [("menu", 4.0), ("find", 1.0),
                                                         ("done", 2.0)]
    assert (path.exit, path.seconds, path.language) == (IvrExitKind.COMPLETED, 7.0, "en")
    assert path.lookups == [("crm", "13800000000", "found")]
    assert path.variables == {"balance": "12.30"}
    assert path.path_text() == "main/menu > main/find > main/done > completed"
    assert reduced(day())[5].ivr is None


def test_a_call_left_up_in_the_ivr_counts_its_time_to_the_end_of_the_records() -> None:
    call = reduced(menu(0.0, 1), end=30.0)[1]
    assert call.outcome is Outcome.IN_SYSTEM
    assert call.ivr is not None and (call.ivr.seconds, call.ivr.steps[0].seconds) == (30, 30)


def test_an_ivr_exit_decides_the_outcome_of_a_call_not_yet_ended() -> None:
    call = reduced([*menu(0.0, 1), exited(5.0, 1, IvrExitKind.COMPLETED)], end=5.0)[1]
    assert call.outcome is Outcome.IVR_COMPLETED


@pytest.mark.parametrize(("cause", "outcome"), [
    (EndCause.IVR_COMPLETED, Outcome.IVR_COMPLETED),
    (EndCause.IVR_HANG_UP, Outcome.IVR_HANG_UP),
    (EndCause.IVR_ABANDONED, Outcome.IVR_ABANDONED),
    (EndCause.BLACKLISTED, Outcome.BLACKLISTED),
    (EndCause.CLOSED, Outcome.CLOSED),
    (EndCause.AGENT_UNREACHABLE, Outcome.AGENT_UNREACHABLE),
])
def test_ivr_and_routing_causes_map_to_their_outcomes(cause, outcome) -> None:
    assert outcome_of(CallState(offered(0.0, 1)), cause) is outcome


def test_the_kpis_count_the_ivr_calls_by_their_exit() -> None:
    report = compute_kpis(day(), SETTINGS)
    center, ivr = report.center, report.ivr
    assert ivr is not None
    assert (center.offered, center.answered, center.abandoned) == (5, 1, 1)
    c = ivr.center
    assert (c.entered, c.completed, c.abandoned, c.hung_up, c.to_queue, c.in_ivr) == (
        4, 1, 1, 1, 1, 0)
    assert c.answered == 1
    assert c.mean_time == pytest.approx((7 + 2 + 3 + 6) / 4)
    assert c.answer_rate == pytest.approx((1 + 1) / 5)  # (completed + answered) / offered
    main = ivr.flows["main"]
    assert (main.entered, main.completed, main.to_queue, main.abandoned) == (3, 1, 1, 1)
    assert main.nodes["menu"] == NodeStats(3, (4 + 2 + 3) / 3)
    assert main.nodes["find"] == NodeStats(1, 1.0)
    assert ivr.flows["night"].hung_up == 1
    (interval,) = ivr.intervals
    assert interval.calls == c and interval.flows["main"] == main


def test_the_center_outcomes_add_up_to_the_offered_calls_with_the_ivr_ends() -> None:
    report = compute_kpis(day(), SETTINGS)
    c, ivr = report.center, report.ivr.center  # type: ignore[union-attr]
    ends = sum(getattr(c, end) for end in CENTER_ENDS)
    assert ends + ivr.completed + ivr.hung_up + ivr.abandoned == c.offered


def test_a_flow_left_for_another_counts_the_exit_in_the_flow_it_left_from() -> None:
    records = [*menu(0.0, 1), IvrFlowEntered(3.0, 1, "billing"),
               IvrNodeEntered(3.0, 1, "billing", "bye", "stop_flow"),
               exited(5.0, 1, IvrExitKind.COMPLETED), CallEnded(5.0, 1, EndCause.IVR_COMPLETED)]
    ivr = compute_kpis(records, SETTINGS).ivr
    assert ivr is not None
    assert (ivr.flows["main"].to_flow, ivr.flows["main"].completed) == (1, 0)
    assert (ivr.flows["billing"].completed, ivr.flows["billing"].mean_time) == (1, 2.0)


def test_a_report_without_ivr_calls_has_no_ivr_section() -> None:
    report = compute_kpis(day()[-4:], SETTINGS)
    assert report.ivr is None and "ivr" not in report.to_dict()


def test_the_detail_record_holds_the_path_language_variables_and_lookups() -> None:
    details = {d.call: d for d in call_details(day())}
    first = details[1]
    assert first.ivr_path == "main/menu > main/find > main/done > completed"
    assert (first.ivr_exit, first.language, first.abandoned) == ("completed", "en", False)
    assert json.loads(first.ivr_variables or "") == {"balance": "12.30"}
    assert json.loads(first.ivr_lookups or "") == [
        {"lookup": "crm", "key": "13800000000", "result": "found"}]
    nodes = json.loads(first.ivr_nodes or "")
    assert nodes["nodes"][0] == ["main", "menu", "play_option", 4.0]
    assert nodes["digits"] == [["menu", "2", "count"]]
    assert details[2].ivr_path == "main/menu > main/sales > queue:sales"
    assert details[5].ivr_path is None and details[5].language is None


def test_a_call_queued_after_the_ivr_waits_from_its_queueing_not_its_offer() -> None:
    cc, log = control()
    call = cc.offer_call(1.0, "pstn", "13800000000", "100")
    cc.on_deadline(3.0)
    cc.caller_digit(4.0, call, "1")  # to sales, at 4.0
    assert cc.agent_answer(9.0, "a1", call)
    cc.caller_hangup(30.0, call)
    (detail,) = call_details(list(log))
    assert (detail.queued_at, detail.wait) == (4.0, 5.0)
    report = compute_kpis(list(log), SETTINGS)
    assert report.center.asa == 5.0
    assert report.ivr is not None and report.ivr.center.to_queue == 1
    assert report.ivr.center.mean_time == 3.0


# --- random calls through the IVR ------------------------------------------------------

IVR_ENDS = {IvrExitKind.COMPLETED: EndCause.IVR_COMPLETED,
            IvrExitKind.HANG_UP: EndCause.IVR_HANG_UP,
            IvrExitKind.ABANDONED: EndCause.IVR_ABANDONED}


@st.composite
def ivr_stay(draw, call: int, t: float) -> tuple[list[Record], float]:
    """A random path through one or two flows from ``t``: the records and when it ends."""
    records: list[Record] = []
    for flow in draw(st.sampled_from([["main"], ["main", "billing"]])):
        records.append(IvrFlowEntered(t, call, flow))
        for node in draw(st.lists(st.sampled_from(["menu", "find", "ask", "bye"]), min_size=1,
                                  max_size=4)):
            records.append(IvrNodeEntered(t, call, flow, node, "play_digit"))
            if draw(st.booleans()):
                records.append(IvrDigits(t, call, node, "12", "count"))
            if node == "find":
                records.append(IvrLookedUp(t, call, "crm", "ani", "found"))
                records.append(IvrVariableSet(t, call, "balance", "1"))
            t += draw(st.sampled_from([0.0, 0.5, 2.0, 7.5]))
    return records, t


@st.composite
def ivr_call(draw, call: int) -> list[Record]:
    """A call through the IVR: it ends there (or the records stop), or goes on to a queue
    and lives on as ``call_life`` draws it."""
    life = draw(call_life(call))
    offer = life[0]
    stay, t = draw(ivr_stay(call, offer.t))
    kind = draw(st.sampled_from([*IVR_ENDS, IvrExitKind.QUEUE, None]))
    if kind is None:
        return [offer, *stay]
    if kind is not IvrExitKind.QUEUE:
        return [offer, *stay, exited(t, call, kind), CallEnded(t, call, IVR_ENDS[kind])]
    shift = t - offer.t
    rest = [r._replace(t=r.t + shift) for r in life[1:]]
    return [offer, *stay, exited(t, call, kind, "sales"), *rest]


@st.composite
def ivr_logs(draw) -> list[Record]:
    calls = [draw(ivr_call(n)) if draw(st.booleans()) else draw(call_life(n))
             for n in range(1, draw(st.integers(1, 6)) + 1)]
    return sorted((r for records in calls for r in records), key=lambda r: r.t)


@settings(max_examples=150, deadline=None)
@given(ivr_logs())
def test_records_and_kpis_agree_on_every_call_through_the_ivr(records) -> None:
    records = ended_calls_only(records)
    report = compute_kpis(records, REDUCE_SETTINGS)
    details = call_details(records)
    assert_agree(report.center, details)
    ivr_details = [d for d in details if d.ivr_path is not None]
    if not ivr_details:
        assert report.ivr is None
        return
    ivr = report.ivr
    assert ivr is not None
    assert ivr.center.entered == len(ivr_details)
    for count, cause in (("completed", EndCause.IVR_COMPLETED),
                         ("hung_up", EndCause.IVR_HANG_UP),
                         ("abandoned", EndCause.IVR_ABANDONED)):
        assert getattr(ivr.center, count) == sum(d.cause is cause for d in details)
    assert ivr.center.to_queue == sum(d.ivr_exit == "queue" for d in details)
    node_seconds = [n[3] for d in ivr_details for n in json.loads(d.ivr_nodes or "")["nodes"]]
    assert total(ivr.center.mean_time, ivr.center.entered) == pytest.approx(sum(node_seconds))
    c = report.center
    ends = sum(getattr(c, end) for end in CENTER_ENDS)
    assert ends + ivr.center.completed + ivr.center.hung_up + ivr.center.abandoned == c.offered
    assert ivr.center.answer_rate == pytest.approx((ivr.center.completed + c.answered)
                                                   / c.offered)
    for name, flow in ivr.flows.items():
        assert flow.entered == sum(name in (d.ivr_path or "") for d in details)
