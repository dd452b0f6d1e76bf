"""Detail rows of outside calls, from their records alone."""

from appliance.events import (
    CallOffered,
    OutsideCallAnswered,
    OutsideCallEnded,
    OutsideCallStarted,
    RecordingStarted,
)
from appliance.records.outside import outside_call_details


def test_an_answered_call_and_a_refused_one() -> None:
    records = [
        OutsideCallStarted(10.0, -1, "pstn", "0301234", "a1", "dialled"),
        CallOffered(11.0, 1, "pstn", "555", "100", 1),  # a queue call: not a row here
        OutsideCallStarted(12.0, -2, "pstn", "0309999", "a2", "dialled"),
        OutsideCallEnded(12.0, -2, "no_channel", 0),
        OutsideCallAnswered(16.0, -1),
        RecordingStarted(16.0, -1, "r.wav"),
        OutsideCallEnded(76.0, -1, "caller_hangup", 200),
    ]
    refused, answered = outside_call_details(records)
    assert refused[:4] == (-2, "outbound", "pstn", "0309999")
    assert (refused.outcome, refused.ring, refused.talk) == ("no_channel", 0.0, 0.0)
    assert (answered.outcome, answered.cause, answered.ring, answered.talk,
            answered.recording) == ("answered", "caller_hangup", 6.0, 60.0, "r.wav")


def test_an_end_without_its_start_is_no_row() -> None:
    assert list(outside_call_details([OutsideCallEnded(1.0, -5, "busy", 486)])) == []
