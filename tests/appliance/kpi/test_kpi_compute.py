"""KPIs of small hand-written event logs, with every figure checked exactly."""

from __future__ import annotations

import json

import pytest

from appliance.events import (
    AgentRung,
    AgentState,
    AgentStateChanged,
    CallAbandoned,
    CallAnnounced,
    CallAnswered,
    CallBlocked,
    CallEnded,
    CallHeld,
    CallOffered,
    CallOverflowed,
    CallQueued,
    CallResumed,
    CallTransferred,
    EndCause,
    OverflowCause,
    Record,
    RingNoAnswer,
)
from appliance.kpi import (
    CENTER_ENDS,
    CallStats,
    KpiReport,
    KpiSettings,
    QueueKpiSettings,
    compute_kpis,
)

S = AgentState


class Log:
    """Writes the records of call and agent lives; ``records`` puts them in time order."""

    def __init__(self) -> None:
        self._records: list[Record] = []

    @property
    def records(self) -> list[Record]:
        return sorted(self._records, key=lambda record: record.t)  # stable for equal t

    def add(self, *records: Record) -> Log:
        self._records.extend(records)
        return self

    def agent(self, t: float, agent: str, state: AgentState, reason: str = "", call: int = 0):
        return self.add(AgentStateChanged(t, agent, state, reason, call))

    def offer(self, t: float, call: int, queue: str | None = "sales") -> Log:
        self.add(CallOffered(t, call, "pstn", f"ani{call}", "400", 1))
        return self.queue(t, call, queue) if queue else self

    def queue(self, t: float, call: int, queue: str = "sales") -> Log:
        return self.add(CallQueued(t, call, queue, 0, 1))

    def ring(self, t: float, call: int, agent: str, queue: str = "sales") -> Log:
        self.add(AgentRung(t, call, queue, agent))
        return self.agent(t, agent, S.RINGING, call=call)

    def answer(self, t: float, call: int, agent: str, wait: float, queue: str = "sales") -> Log:
        self.add(CallAnswered(t, call, queue, agent, wait))
        return self.agent(t, agent, S.TALKING, call=call)

    def hold(self, t: float, call: int, agent: str) -> Log:
        self.add(CallHeld(t, call, agent))
        return self.agent(t, agent, S.HELD, call=call)

    def resume(self, t: float, call: int, agent: str) -> Log:
        self.add(CallResumed(t, call, agent))
        return self.agent(t, agent, S.TALKING, call=call)

    def hang_up(self, t: float, call: int, agent: str) -> Log:
        self.add(CallEnded(t, call, EndCause.CALLER_HANGUP))
        return self.agent(t, agent, S.WRAP_UP, call=call)

    def transfer(self, t: float, call: int, agent: str, target: str) -> Log:
        self.add(CallTransferred(t, call, agent, target))
        self.agent(t, agent, S.WRAP_UP, call=call)
        return self.queue(t, call, target)

    def abandon(self, t: float, call: int, wait: float, queue: str = "sales") -> Log:
        return self.add(
            CallAbandoned(t, call, queue, 1, wait), CallEnded(t, call, EndCause.ABANDONED)
        )

    def overflow(self, t: float, call: int, queue: str, target: str) -> Log:
        self.add(CallOverflowed(t, call, queue, OverflowCause.MAX_WAIT, target))
        if target in ("voicemail", "busy"):
            return self.add(CallEnded(t, call, EndCause(target)))
        return self.queue(t, call, target)

    def block(self, t: float, call: int) -> Log:
        self.offer(t, call, queue=None)
        return self.add(CallBlocked(t, call, "pstn"), CallEnded(t, call, EndCause.BLOCKED))

    def answered_call(
        self, call: int, agent: str, offered: float, rung: float, answered: float, ended: float
    ) -> Log:
        """A call that waits in "sales", rings ``agent``, is answered and hung up."""
        self.offer(offered, call).ring(rung, call, agent)
        self.answer(answered, call, agent, answered - offered)
        return self.hang_up(ended, call, agent)


def kpis(log: Log, **settings) -> KpiReport:
    return compute_kpis(log.records, KpiSettings(**settings))


def assert_conserved(stats: CallStats) -> None:
    assert stats.offered == sum(getattr(stats, end) for end in CENTER_ENDS)


def assert_queue_conserved(stats: CallStats) -> None:
    ends = stats.answered + stats.abandoned + stats.overflowed_out + stats.in_system
    assert stats.offered == ends


# --- single calls -------------------------------------------------------------------


def test_answered_call_gives_every_call_and_agent_figure():
    log = Log().agent(0, "a1", S.READY)
    log.answered_call(1, "a1", offered=10, rung=15, answered=18, ended=78)
    log.agent(88, "a1", S.READY).agent(100, "a1", S.LOGGED_OUT)

    report = kpis(log)

    center = report.center
    assert (center.offered, center.answered, center.entered_queue, center.waited) == (1, 1, 1, 1)
    assert (center.handled, center.answered_within_sl, center.in_system) == (1, 1, 0)
    assert center.answer_rate == 1.0
    assert center.blocked_rate == 0.0
    assert center.service_level == 1.0
    assert center.abandon_rate == 0.0
    assert center.avg_abandon_time is None
    assert center.asa == 8.0
    assert center.att == 60.0
    assert center.acw == 10.0
    assert center.aht == 70.0
    assert center.avg_hold_time is None
    assert center.transfer_rate == 0.0
    assert center.queue_placement_rate == 1.0
    assert report.queues["sales"] == center

    agent = report.agents["a1"]
    assert agent.logged_in_time == 100.0
    assert (agent.ready_time, agent.ringing_time, agent.talk_time) == (27.0, 3.0, 60.0)
    assert (agent.hold_time, agent.wrap_up_time, agent.not_ready_time) == (0.0, 10.0, 0.0)
    assert agent.calls_handled == 1
    assert agent.occupancy == 0.7
    assert agent.occupancy_talk_only == 0.6
    assert agent.calls_per_hour == 36.0
    assert report.center_agents == agent


def test_call_rung_as_it_enters_the_queue_did_not_wait():
    log = Log().agent(0, "a1", S.READY).answered_call(1, "a1", 10, 10, 14, 20)
    center = kpis(log).center
    assert center.waited == 0
    assert center.queue_placement_rate == 0.0
    assert center.asa == 4.0


def test_blocked_and_unrouted_calls_never_reach_a_queue():
    log = Log().block(5, 1)
    log.offer(6, 2, queue=None).add(CallEnded(6, 2, EndCause.NO_ROUTE))

    report = kpis(log)

    center = report.center
    assert (center.offered, center.blocked, center.no_route, center.entered_queue) == (2, 1, 1, 0)
    assert center.blocked_rate == 0.5
    assert center.answer_rate == 0.0
    assert center.service_level is None
    assert center.abandon_rate is None
    assert center.asa is None
    assert center.att is None
    assert center.aht is None
    assert center.transfer_rate is None
    assert center.queue_placement_rate == 0.0
    assert report.queues == {}
    assert_conserved(center)


ROUTED_AWAY = (EndCause.BLACKLISTED, EndCause.CLOSED, EndCause.AGENT_UNREACHABLE)


def routed_away(log: Log, t: float, first_call: int) -> Log:
    """One call of each cause routing sends away, from ``first_call`` on, at ``t``."""
    for call, cause in enumerate(ROUTED_AWAY, first_call):
        log.offer(t, call, queue=None).add(CallEnded(t + 1, call, cause))
    return log


def test_calls_routing_sends_away_count_each_as_offered_but_not_blocked():
    log = routed_away(Log().answered_call(1, "a1", 0, 1, 2, 60), 10, 2)
    log.offer(1900, 5, queue=None).add(CallEnded(1901, 5, EndCause.CLOSED))

    report = kpis(log)

    center = report.center
    assert (center.offered, center.answered, center.blacklisted, center.closed,
            center.agent_unreachable) == (5, 1, 1, 2, 1)
    assert (center.blocked, center.no_route, center.abandoned, center.entered_queue) == (
        0, 0, 0, 1)
    assert center.blocked_rate == 0.0  # trunks were free for them
    assert center.answer_rate == 1 / 5  # they reached the center: offered
    assert_conserved(center)
    first, second = report.intervals[:2]
    assert (first.calls.blacklisted, first.calls.closed, first.calls.agent_unreachable) == (
        1, 1, 1)
    assert (second.calls.offered, second.calls.closed, second.calls.blacklisted) == (1, 1, 0)
    assert_conserved(first.calls)
    assert all(q.blacklisted == q.closed == q.agent_unreachable == 0
               for q in report.queues.values())
    assert report.to_dict()["center"]["closed"] == 2


def test_short_abandons_are_reported_apart_and_left_out_of_the_abandon_rate():
    log = Log().agent(0, "a1", S.READY)
    log.offer(0, 1).abandon(10, 1, wait=10)  # short: 10 s <= 20 s
    log.offer(0, 2).abandon(50, 2, wait=50)
    log.answered_call(3, "a1", offered=0, rung=1, answered=5, ended=60)

    center = kpis(log).center

    assert (center.abandoned, center.abandoned_in_queue, center.short_abandoned) == (2, 2, 1)
    assert center.abandon_rate == 0.5  # (2 - 1) / (3 - 1)
    assert center.avg_abandon_time == 50.0
    assert center.service_level == 1 / 3
    assert_conserved(center)


def test_a_queue_short_abandon_threshold_overrides_the_default():
    log = Log()
    log.offer(0, 1).abandon(10, 1, wait=10)
    log.offer(0, 2).abandon(50, 2, wait=50)

    center = kpis(log, queues={"sales": QueueKpiSettings(short_abandon=5)}).center

    assert center.short_abandoned == 0
    assert center.abandon_rate == 1.0
    assert center.avg_abandon_time == 30.0


def test_overflow_waits_per_queue_from_entering_that_queue_and_per_call_from_the_first():
    log = Log().agent(0, "a2", S.READY)
    log.offer(0, 1, "sales").overflow(30, 1, "sales", "support")
    log.ring(40, 1, "a2", "support").answer(45, 1, "a2", wait=45, queue="support")
    log.hang_up(100, 1, "a2")
    log.offer(0, 2, "sales").overflow(60, 2, "sales", "voicemail")

    report = kpis(log)

    center = report.center
    assert (center.offered, center.answered, center.voicemail) == (2, 1, 1)
    assert center.overflowed_out == 1
    assert center.asa == 45.0
    assert center.answered_within_sl == 0
    assert center.service_level == 0.0
    assert_conserved(center)
    sales = report.queues["sales"]
    assert (sales.offered, sales.answered, sales.overflowed_out, sales.voicemail) == (2, 0, 2, 1)
    assert sales.asa is None
    assert sales.service_level == 0.0
    assert sales.waited == 2
    support = report.queues["support"]
    assert (support.offered, support.answered, support.waited) == (1, 1, 1)
    assert support.asa == 15.0
    assert support.service_level == 1.0
    assert support.att == 55.0
    for queue in report.queues.values():
        assert_queue_conserved(queue)


def test_service_level_uses_the_threshold_of_the_answering_queue():
    log = Log().agent(0, "a2", S.READY)
    log.offer(0, 1, "sales").overflow(2, 1, "sales", "support")
    log.ring(14, 1, "a2", "support").answer(15, 1, "a2", wait=15, queue="support")
    log.hang_up(30, 1, "a2")
    tight = {"support": QueueKpiSettings(sl_threshold=10)}

    assert kpis(log).center.service_level == 1.0
    report = kpis(log, queues=tight)
    assert report.center.service_level == 0.0
    assert report.queues["support"].service_level == 0.0  # 13 s in support > 10 s


def test_transferred_call_counts_answered_once_and_handled_by_both_agents():
    log = Log().agent(0, "a1", S.READY).agent(0, "a2", S.READY)
    log.offer(0, 1, "sales").ring(0, 1, "a1").answer(10, 1, "a1", wait=10)
    log.transfer(70, 1, "a1", "support").agent(85, "a1", S.READY)
    log.ring(75, 1, "a2", "support").answer(80, 1, "a2", wait=10, queue="support")
    log.hang_up(200, 1, "a2").agent(230, "a2", S.READY)

    report = kpis(log)

    center = report.center
    assert (center.answered, center.handled, center.transferred) == (1, 2, 1)
    assert center.transfer_rate == 1.0
    assert center.asa == 10.0  # the first answer's wait
    assert center.att == 90.0  # (60 + 120) / 2 answers
    assert center.acw == 22.5  # (15 + 30) / 2
    assert center.aht == 112.5
    assert center.waited == 0
    assert_conserved(center)
    sales, support = report.queues["sales"], report.queues["support"]
    assert (sales.answered, sales.transferred, sales.att, sales.acw) == (1, 1, 60.0, 15.0)
    assert sales.transfer_rate == 1.0
    assert (support.offered, support.answered, support.transferred) == (1, 1, 0)
    assert (support.asa, support.att, support.acw, support.waited) == (10.0, 120.0, 30.0, 1)
    assert report.agents["a1"].calls_handled == 1
    assert report.agents["a2"].calls_handled == 1
    assert report.center_agents.calls_handled == 2


def test_hold_time_is_inside_talk_time_and_averaged_over_held_calls():
    log = Log().agent(0, "a1", S.READY).agent(0, "a2", S.READY)
    log.offer(0, 1).ring(0, 1, "a1").answer(0, 1, "a1", wait=0)
    log.hold(20, 1, "a1").resume(30, 1, "a1").hold(40, 1, "a1").resume(45, 1, "a1")
    log.hang_up(100, 1, "a1").agent(100, "a1", S.READY)
    log.answered_call(2, "a2", offered=0, rung=0, answered=0, ended=50)
    log.agent(50, "a2", S.READY)

    report = kpis(log)

    center = report.center
    assert center.held == 1
    assert center.avg_hold_time == 15.0
    assert center.att == 75.0  # (100 + 50) / 2
    assert center.acw == 0.0  # both agents went straight back to ready
    assert report.queues["sales"].held == 1
    assert report.agents["a1"].hold_time == 15.0
    assert report.agents["a1"].talk_time == 85.0


def test_a_call_ended_while_on_hold_ends_its_hold():
    log = Log().agent(0, "a1", S.READY)
    log.offer(0, 1).ring(0, 1, "a1").answer(0, 1, "a1", wait=0)
    log.hold(20, 1, "a1").hang_up(50, 1, "a1").agent(50, "a1", S.READY)

    center = kpis(log).center

    assert center.avg_hold_time == 30.0
    assert center.att == 50.0


def test_wrap_up_gives_acw_and_not_ready_reasons_are_kept():
    log = Log().agent(0, "a1", S.READY)
    log.answered_call(1, "a1", offered=0, rung=0, answered=0, ended=40)
    log.agent(52, "a1", S.NOT_READY, "lunch").agent(100, "a1", S.NOT_READY, "training")
    log.agent(130, "a1", S.LOGGED_OUT)

    report = kpis(log)

    assert report.center.acw == 12.0
    assert report.center.aht == 52.0
    agent = report.agents["a1"]
    assert agent.wrap_up_time == 12.0
    assert agent.not_ready_time == 78.0
    assert agent.not_ready_by_reason == {"lunch": 48.0, "training": 30.0}
    assert agent.occupancy == 1.0  # never ready: every available second was on calls
    assert agent.occupancy_talk_only == 40.0 / 52.0


def test_talk_and_wrap_up_still_going_at_the_end_are_left_out_of_the_means():
    log = Log().agent(0, "a1", S.READY).agent(0, "a2", S.READY)
    log.answered_call(1, "a1", offered=0, rung=0, answered=0, ended=30)  # wrap-up never ends
    log.offer(0, 2).ring(0, 2, "a2").answer(0, 2, "a2", wait=0)  # still talking
    log.block(60, 3)

    center = kpis(log).center

    assert center.answered == 2
    assert center.in_system == 0
    assert center.att == 30.0
    assert center.acw is None
    assert center.aht is None


def test_ring_no_answer_is_counted_for_the_agent():
    log = Log().agent(0, "a1", S.READY).agent(0, "a2", S.READY)
    log.offer(0, 1).ring(2, 1, "a1").add(RingNoAnswer(17, 1, "sales", "a1"))
    log.agent(17, "a1", S.NOT_READY, "no_answer")
    log.ring(17, 1, "a2").answer(20, 1, "a2", wait=20).hang_up(40, 1, "a2")

    report = kpis(log)

    assert report.agents["a1"].ring_no_answer == 1
    assert report.agents["a1"].ringing_time == 15.0
    assert report.agents["a1"].not_ready_by_reason == {"no_answer": 23.0}
    assert report.center_agents.ring_no_answer == 1
    assert report.center.answered_within_sl == 1  # 20 s is within 20 s


def test_records_the_kpis_do_not_use_are_skipped():
    log = Log().offer(0, 1).add(CallAnnounced(5, 1, "sales", 1, 30.0)).abandon(40, 1, wait=40)
    assert kpis(log).center.abandoned == 1


# --- windows and intervals -------------------------------------------------------------


def test_window_leaves_out_calls_offered_outside_it_and_clips_agent_time():
    log = Log().agent(0, "a1", S.READY)
    log.answered_call(1, "a1", offered=50, rung=120, answered=125, ended=145)  # warm-up call
    log.agent(150, "a1", S.READY)
    log.offer(150, 2).abandon(180, 2, wait=30)
    log.offer(390, 3).ring(390, 3, "a1").answer(395, 3, "a1", wait=5)
    log.hang_up(450, 3, "a1").agent(460, "a1", S.READY)  # answered in the window, ends after
    log.offer(400, 4).abandon(410, 4, wait=10)  # offered at the window's end
    log.agent(500, "a1", S.LOGGED_OUT)

    report = kpis(log, window_start=100, window_end=400)

    center = report.center
    assert (center.offered, center.answered, center.abandoned) == (2, 1, 1)
    assert center.att == 55.0  # followed past the window's end
    assert center.acw == 10.0
    assert_conserved(center)
    agent = report.agents["a1"]
    assert agent.logged_in_time == 300.0
    assert (agent.ringing_time, agent.talk_time, agent.wrap_up_time) == (10.0, 25.0, 5.0)
    assert agent.ready_time == 260.0
    assert agent.calls_handled == 2  # answers at 125 and 395, both inside the window


def test_agent_time_is_split_at_interval_boundaries():
    log = Log().agent(1500, "a1", S.READY)
    log.answered_call(1, "a1", offered=1780, rung=1790, answered=1795, ended=1900)
    log.agent(1960, "a1", S.READY).agent(2000, "a1", S.LOGGED_OUT)

    report = kpis(log, clock_origin=8 * 3600)

    first, second = report.intervals
    assert (first.label, first.start, first.end) == ("08:00-08:30", 0.0, 1800.0)
    assert (second.label, second.start, second.end) == ("08:30-09:00", 1800.0, 2000.0)
    assert (first.agents.ready_time, first.agents.ringing_time) == (290.0, 5.0)
    assert first.agents.talk_time == 5.0
    assert (second.agents.talk_time, second.agents.wrap_up_time) == (100.0, 60.0)
    assert second.agents.ready_time == 40.0
    assert first.agents_logged_in_avg == 300.0 / 1800.0
    assert second.agents_logged_in_avg == 1.0
    assert first.occupancy == 5.0 / 300.0
    assert second.occupancy == 0.8
    assert (first.calls.offered, second.calls.offered) == (1, 0)
    assert first.calls.att == 105.0  # the call belongs to the interval of its offer
    assert first.queues["sales"].answered == 1
    assert second.queues["sales"].offered == 0
    assert report.center_agents.logged_in_time == 500.0


def test_intervals_are_aligned_on_the_clock_and_clipped_to_the_window():
    log = Log().block(700, 1).block(2000, 2).block(3700, 3)

    report = kpis(log, window_start=600, window_end=3600, clock_origin=8 * 3600 + 600)

    assert [(i.label, i.start, i.end) for i in report.intervals] == [
        ("08:00-08:30", 600.0, 1200.0),
        ("08:30-09:00", 1200.0, 3000.0),
        ("09:00-09:30", 3000.0, 3600.0),
    ]
    assert [i.calls.offered for i in report.intervals] == [1, 1, 0]


def test_intervals_of_a_minute_show_seconds_only_when_needed():
    report = kpis(Log().block(10, 1).block(100, 2), interval=90, clock_origin=12 * 3600)
    assert [i.label for i in report.intervals] == ["12:00:00-12:01:30", "12:01:30-12:03:00"]


def test_interval_figures_add_up_to_the_center():
    log = Log().agent(0, "a1", S.READY)
    log.answered_call(1, "a1", offered=100, rung=110, answered=115, ended=2000)
    log.offer(1900, 2).abandon(1950, 2, wait=50).block(5500, 3)

    report = kpis(log)

    assert [i.calls.offered for i in report.intervals] == [1, 1, 0, 1]
    assert sum(i.calls.offered for i in report.intervals) == report.center.offered
    assert sum(i.calls.abandoned for i in report.intervals) == report.center.abandoned
    assert sum(i.agents.logged_in_time for i in report.intervals) == 5500.0


# --- undefined figures, conservation, the dict form -------------------------------------


def test_an_empty_log_defines_no_rate():
    report = compute_kpis([], KpiSettings())

    center = report.center
    assert center.offered == 0
    for name in (
        "blocked_rate",
        "answer_rate",
        "service_level",
        "abandon_rate",
        "avg_abandon_time",
        "asa",
        "att",
        "avg_hold_time",
        "acw",
        "aht",
        "transfer_rate",
        "queue_placement_rate",
    ):
        assert getattr(center, name) is None, name
    assert report.center_agents.occupancy is None
    assert report.center_agents.calls_per_hour is None
    assert report.intervals == []
    assert report.agents == {}


def test_every_offered_call_has_exactly_one_outcome():
    log = Log().agent(0, "a1", S.READY)
    log.block(0, 1)
    log.offer(1, 2, queue=None).add(CallEnded(1, 2, EndCause.NO_ROUTE))
    log.answered_call(3, "a1", offered=2, rung=3, answered=4, ended=50)
    log.offer(5, 4).abandon(9, 4, wait=4)
    log.offer(6, 5).overflow(36, 5, "sales", "voicemail")
    log.offer(7, 6).overflow(37, 6, "sales", "busy")
    log.offer(8, 7)  # still waiting at the end
    log.offer(9, 8, queue=None).add(CallEnded(10, 8, EndCause.CALLER_HANGUP))  # left in the IVR
    log.offer(11, 9).overflow(41, 9, "sales", "support")  # waiting in support at the end
    log.agent(60, "a1", S.READY)

    report = kpis(log)

    center = report.center
    assert (center.offered, center.blocked, center.no_route, center.answered) == (9, 1, 1, 1)
    assert (center.abandoned, center.abandoned_in_queue, center.short_abandoned) == (2, 1, 1)
    assert (center.voicemail, center.busy, center.in_system) == (1, 1, 2)
    assert center.entered_queue == 6
    assert_conserved(center)
    sales = report.queues["sales"]
    assert (sales.offered, sales.overflowed_out, sales.in_system) == (6, 3, 1)
    assert (report.queues["support"].offered, report.queues["support"].in_system) == (1, 1)
    for queue in report.queues.values():
        assert_queue_conserved(queue)


def test_to_dict_is_plain_json():
    log = Log().agent(0, "a1", S.READY)
    log.answered_call(1, "a1", offered=0, rung=0, answered=2, ended=20)
    log.agent(25, "a1", S.NOT_READY, "break").agent(30, "a1", S.LOGGED_OUT)
    report = kpis(log, queues={"sales": QueueKpiSettings(sl_threshold=15)})

    data = json.loads(json.dumps(report.to_dict()))

    assert data["center"]["asa"] == 2.0
    assert data["center"]["avg_hold_time"] is None
    assert data["queues"]["sales"]["answered"] == 1
    assert data["agents"]["a1"]["not_ready_by_reason"] == {"break": 5.0}
    assert data["intervals"][0]["label"] == "00:00-00:30"
    assert data["settings"]["queues"] == {"sales": {"sl_threshold": 15, "short_abandon": 20.0}}


def test_settings_are_checked():
    with pytest.raises(ValueError):
        KpiSettings(interval=0)
    with pytest.raises(ValueError):
        KpiSettings(window_start=10, window_end=5)
