"""The campaign dialer on small lists, figure by figure."""

from __future__ import annotations

import pytest

from appliance.eventlog import EventLog
from appliance.events import (
    CampaignAbandoned,
    CampaignBusy,
    CampaignDialed,
    CampaignDone,
    CampaignNumberDone,
    CampaignStarted,
)
from appliance.pbx.features.campaign import Contact, Dialer, DialerSettings, Past

RETRY = {"no_answer": 600.0, "busy": 60.0, "failed": 300.0, "abandoned": 900.0}


def dialer(numbers: list[str], dnc: tuple[str, ...] = (), **settings: float) -> Dialer:
    spec = DialerSettings(retry=RETRY, **settings)  # type: ignore[arg-type]
    made = Dialer("survey", [Contact(n, {"name": n}) for n in numbers], dnc, spec, EventLog())
    made.start(0.0)
    return made


def numbers_of(attempts: list) -> list[str]:
    return [a.contact.number for a in attempts]


def test_one_call_per_free_agent_times_the_ratio_less_those_ringing() -> None:
    d = dialer(["1", "2", "3", "4", "5"], ratio=1.5)
    assert numbers_of(d.dial(2, 0.0)) == ["1", "2", "3"]
    assert d.dial(2, 1.0) == []
    d.not_reached("1", "busy", 2.0)
    assert numbers_of(d.dial(2, 2.0)) == ["4"]


def test_do_not_call_numbers_end_at_start_without_a_call() -> None:
    d = dialer(["1", "2"], dnc=("2",))
    assert numbers_of(d.dial(5, 0.0)) == ["1"]
    done = [r for r in d.log if type(r) is CampaignNumberDone]
    assert [(r.number, r.outcome, r.attempts) for r in done] == [("2", "do_not_call", 0)]


def test_a_busy_number_is_tried_again_after_its_interval_up_to_the_attempts() -> None:
    d = dialer(["1"], attempts=2)
    d.dial(1, 0.0)
    d.not_reached("1", "busy", 10.0)
    assert d.next_deadline() == 70.0
    assert d.dial(1, 69.0) == []
    assert [a.attempt for a in d.dial(1, 70.0)] == [2]
    d.not_reached("1", "busy", 80.0)
    assert d.next_deadline() is None
    kinds = [type(r) for r in d.log]
    assert kinds == [CampaignStarted, CampaignDialed, CampaignBusy, CampaignDialed,
                     CampaignBusy, CampaignNumberDone, CampaignDone]
    assert d.progress() == {"pending": 0, "up": 0, "busy": 1}


def test_answered_without_a_free_agent_is_abandoned_and_retried() -> None:
    d = dialer(["1"])
    d.dial(1, 0.0)
    assert d.answered("1", agent_free=False, now=5.0) is False
    assert [type(r) for r in d.log][-1] is CampaignAbandoned
    assert d.next_deadline() == 905.0
    d.dial(1, 905.0)
    assert d.answered("1", agent_free=True, now=910.0) is True
    last = list(d.log)[-2:]
    assert (last[0].outcome, last[0].attempts) == ("connected", 2)
    assert (type(last[1]), last[1].connected) == (CampaignDone, 1)


def test_the_rate_spaces_the_calls() -> None:
    d = dialer(["1", "2", "3"], max_rate=2.0)
    assert numbers_of(d.dial(3, 0.0)) == ["1"]
    assert d.next_deadline() == 30.0
    assert numbers_of(d.dial(3, 30.0)) == ["2"]


def test_nothing_is_dialed_outside_the_calling_hours_or_when_stopped() -> None:
    spec = DialerSettings(retry=RETRY)
    d = Dialer("x", [Contact("1", {})], (), spec, EventLog(), lambda now: now >= 100.0)
    d.start(0.0)
    assert d.dial(1, 0.0) == []
    assert d.next_deadline() == 60.0
    d.stop(50.0)
    assert d.dial(1, 120.0) == [] and d.next_deadline() is None
    d.start(130.0)
    assert numbers_of(d.dial(1, 130.0)) == ["1"]


def test_an_outcome_for_a_number_without_a_call_up_is_refused() -> None:
    d = dialer(["1"])
    with pytest.raises(ValueError, match="no call up"):
        d.not_reached("1", "busy", 0.0)
    d.dial(1, 0.0)
    with pytest.raises(ValueError, match="not a way"):
        d.not_reached("1", "connected", 0.0)


def restored(numbers: list[str], past: dict, dnc: tuple[str, ...] = (),
             **settings: float) -> Dialer:
    spec = DialerSettings(retry=RETRY, **settings)  # type: ignore[arg-type]
    made = Dialer("survey", [Contact(n, {}) for n in numbers], dnc, spec, EventLog())
    made.restore(past)
    made.start(0.0)
    return made


def test_after_a_restart_numbers_done_are_not_dialed_again() -> None:
    d = restored(["1", "2", "3"], {"1": Past(1, "connected", -50.0, True),
                                   "2": Past(3, "busy", -40.0, True)})
    assert numbers_of(d.dial(5, 0.0)) == ["3"]
    assert d.progress() == {"pending": 0, "up": 1, "connected": 1, "busy": 1}
    assert not [r for r in d.log if type(r) is CampaignNumberDone]


def test_after_a_restart_a_pending_number_keeps_its_attempts_and_retry_time() -> None:
    d = restored(["1"], {"1": Past(1, "busy", -20.0, False)}, attempts=3)
    assert d.dial(1, 0.0) == []
    assert d.next_deadline() == 40.0  # busy at -20, retried 60 s later
    assert [a.attempt for a in d.dial(1, 40.0)] == [2]


def test_a_call_cut_off_by_the_stop_counts_as_a_failed_attempt() -> None:
    d = restored(["1", "2"], {"1": Past(1, "dialed", -10.0, False),
                              "2": Past(2, "dialed", -10.0, False)}, attempts=2)
    assert d.next_deadline() == 290.0  # failed: 300 s
    done = [(r.number, r.outcome, r.attempts) for r in d.log if type(r) is CampaignNumberDone]
    assert done == [("2", "failed", 2)]


def test_a_campaign_all_done_before_the_restart_is_done_at_start() -> None:
    d = restored(["1"], {"1": Past(1, "connected", -5.0, True)})
    assert d.done and d.dial(3, 0.0) == []
    assert [type(r) for r in d.log] == [CampaignStarted, CampaignDone]


def test_restore_comes_before_the_start() -> None:
    d = dialer(["1"])
    with pytest.raises(ValueError, match="too late"):
        d.restore({})
