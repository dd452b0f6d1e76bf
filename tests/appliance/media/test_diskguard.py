"""The disk guard: one alarm per change of state, with hysteresis between the thresholds."""

from __future__ import annotations

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from appliance.media.diskguard import DiskAlarm, DiskGuard

MB = 1_000_000


def test_low_disk_raises_once_and_recovery_needs_the_upper_threshold() -> None:
    guard = DiskGuard(stop_below=500 * MB, resume_above=1000 * MB)
    assert guard.recording_allowed
    assert guard.update(600 * MB, 1.0) is None
    assert guard.update(499 * MB, 2.0) == DiskAlarm(raised=True, free_bytes=499 * MB, at=2.0)
    assert not guard.recording_allowed
    assert guard.update(400 * MB, 3.0) is None  # still low: no second alarm
    assert guard.update(999 * MB, 4.0) is None  # between the thresholds: still stopped
    assert not guard.recording_allowed
    assert guard.update(1000 * MB, 5.0) == DiskAlarm(raised=False, free_bytes=1000 * MB, at=5.0)
    assert guard.recording_allowed
    assert guard.update(700 * MB, 6.0) is None  # between the thresholds: still allowed


def test_equal_thresholds_switch_at_one_figure() -> None:
    guard = DiskGuard(stop_below=100, resume_above=100)
    assert guard.update(100, 0.0) is None
    assert guard.update(99, 1.0) == DiskAlarm(True, 99, 1.0)
    assert guard.update(100, 2.0) == DiskAlarm(False, 100, 2.0)


def test_resume_below_stop_is_refused() -> None:
    with pytest.raises(ValueError, match="resume_above"):
        DiskGuard(stop_below=1000, resume_above=999)


class GuardMachine(RuleBasedStateMachine):
    """Any run of measurements: alarms alternate, the first is raised, and recording is
    allowed exactly when the last alarm was not raised."""

    def __init__(self) -> None:
        super().__init__()
        self.guard = DiskGuard(stop_below=300, resume_above=700)
        self.alarms: list[DiskAlarm] = []
        self.now = 0.0

    @rule(free=st.integers(0, 1000), step=st.floats(0, 10))
    def measure(self, free: int, step: float) -> None:
        self.now += step
        alarm = self.guard.update(free, self.now)
        if alarm is not None:
            assert alarm.free_bytes == free and alarm.at == self.now
            assert alarm.raised == (free < 300)
            assert alarm.raised or free >= 700
            self.alarms.append(alarm)

    @invariant()
    def alarms_alternate_starting_with_raised(self) -> None:
        assert [alarm.raised for alarm in self.alarms] == [
            n % 2 == 0 for n in range(len(self.alarms))
        ]

    @invariant()
    def allowed_iff_the_last_alarm_was_not_raised(self) -> None:
        last_raised = bool(self.alarms) and self.alarms[-1].raised
        assert self.guard.recording_allowed == (not last_raised)


TestGuardMachine = GuardMachine.TestCase
