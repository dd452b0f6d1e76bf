"""The port state machine, kind by kind, driven by events alone."""

import pytest

from appliance.hw import (
    Answer,
    CallerNumber,
    Connected,
    Dialed,
    Digit,
    DigitReceived,
    DisconnectTone,
    Ended,
    FarEndAnswer,
    FarEndDisconnect,
    Idle,
    Incoming,
    Offered,
    Port,
    PortError,
    PortState,
    Release,
    Ring,
    Seize,
    e1_channel,
    fxo_trunk,
    fxs_station,
    sip_station,
    sip_trunk,
)


def run_until(port: Port, until: float) -> list:
    """Fire the port's timers up to `until`, as a driver would."""
    actions = []
    while (deadline := port.next_deadline()) is not None and deadline <= until:
        actions += port.on_deadline(deadline)
    return actions


def test_fxo_call_cannot_be_answered_before_caller_id():
    port = Port("1", fxo_trunk())
    assert port.handle(Incoming(), 0.0) == []
    with pytest.raises(PortError, match="incoming: Answer not allowed"):
        port.handle(Answer(), 1.0)
    port.handle(CallerNumber("13800138000"), 2.0)
    assert port.state is PortState.INCOMING
    assert run_until(port, 10.0) == [Offered("13800138000", "")]
    assert port.handle(Answer(), 5.0) == [Connected()]


def test_fxo_offers_on_the_second_ring():
    caps = fxo_trunk()
    assert caps.answerable_after == 5.0  # 1 s ring + 4 s silence
    port = Port("1", caps)
    port.handle(Incoming(), 100.0)
    assert port.next_deadline() == 105.0


def test_fxo_gateway_that_waited_for_clip_offers_at_once():
    port = Port("1", fxo_trunk())
    assert port.handle(Incoming(caller="100", rang_for=5.0), 0.0) == [Offered("100", "")]


def test_fxo_caller_hang_up_is_noticed_after_the_detection_delay():
    port = Port("1", fxo_trunk(disconnect_delay=6.0, guard_time=0.5))
    port.handle(Incoming(caller="100", rang_for=5.0), 0.0)
    port.handle(Answer(), 0.0)
    assert port.handle(FarEndDisconnect(), 60.0) == []
    assert port.state is PortState.UNNOTICED and port.in_call
    assert run_until(port, 65.9) == []
    assert run_until(port, 66.0) == [Ended("far_end")]
    assert port.state is PortState.CLEARING
    assert run_until(port, 66.5) == [Idle()]


def test_fxo_busy_tone_detected_releases_at_once():
    port = Port("1", fxo_trunk(guard_time=0.0))
    port.handle(Incoming(caller="100", rang_for=5.0), 0.0)
    port.handle(Answer(), 0.0)
    assert port.handle(DisconnectTone(), 30.0) == [Ended("far_end"), Idle()]


def test_agent_hang_up_frees_a_line_whose_caller_left_unnoticed():
    port = Port("1", fxo_trunk(guard_time=0.0))
    port.handle(Incoming(caller="100", rang_for=5.0), 0.0)
    port.handle(Answer(), 0.0)
    port.handle(FarEndDisconnect(), 10.0)
    assert port.handle(Release(), 12.0) == [Idle()]
    assert port.next_deadline() is None


def test_fxo_caller_giving_up_while_ringing_is_noticed_when_no_ring_follows():
    port = Port("1", fxo_trunk(guard_time=0.0))
    port.handle(Incoming(), 0.0)
    port.handle(FarEndDisconnect(), 3.0)
    assert run_until(port, 8.0) == [Ended("abandoned"), Idle()]


def test_fxo_dials_digit_by_digit():
    port = Port("1", fxo_trunk(dial_tone_wait=1.0, digit_time=0.2))
    port.handle(Seize("12345"), 0.0)
    assert port.next_deadline() == pytest.approx(2.0)
    assert run_until(port, 2.0) == [Dialed()]
    assert port.handle(FarEndAnswer(), 9.0) == [Connected()]


def test_seizing_a_busy_port_raises_and_changes_nothing():
    port = Port("1", fxo_trunk())
    port.handle(Seize("1"), 0.0)
    with pytest.raises(PortError):
        port.handle(Seize("2"), 0.1)
    assert (port.state, port.called) == (PortState.DIALING, "1")


def test_e1_has_numbers_in_the_setup_and_exact_hang_up():
    port = Port("1", e1_channel(release_time=0.03))
    assert port.handle(Incoming("100", "4008001234"), 0.0) == [Offered("100", "4008001234")]
    port.handle(Answer(), 0.0)
    assert port.handle(FarEndDisconnect(), 20.0) == [Ended("far_end")]
    assert run_until(port, 20.03) == [Idle()]


def test_fxs_phone_dials_then_is_offered():
    port = Port("7", fxs_station(interdigit_timeout=4.0))
    port.handle(Incoming(caller="1007"), 0.0)
    for when, key in enumerate("800", start=1):
        port.handle(Digit(key), float(when))
    assert run_until(port, 6.9) == []
    assert run_until(port, 7.0) == [Offered("1007", "800")]


def test_stations_are_rung_and_trunks_are_not():
    station = Port("1", sip_station())
    assert station.handle(Ring("100"), 0.0) == [Dialed()]
    assert station.handle(FarEndAnswer(), 1.0) == [Connected()]
    with pytest.raises(PortError, match="trunk port"):
        Port("1", sip_trunk()).handle(Ring("100"), 0.0)
    with pytest.raises(PortError, match="station port"):
        Port("1", fxs_station()).handle(Seize("100"), 0.0)


def test_digits_in_a_call_come_out():
    port = Port("1", sip_trunk())
    port.handle(Incoming("1", "2"), 0.0)
    port.handle(Answer(), 0.0)
    assert port.handle(Digit("5"), 1.0) == [DigitReceived("5")]


def test_capabilities_say_what_differs():
    assert not fxo_trunk().has_called_number and e1_channel().has_called_number
    assert fxo_trunk().release_bound() == 6.5
    assert e1_channel().dial_time("12345678") == pytest.approx(0.05)
