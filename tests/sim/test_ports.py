"""Gateway ports in call fidelity, against DOMAIN.md's "Ports: analog vs digital" table:
no first-ring answer on analog with caller ID, routing by line where there is no called
number, late-disconnect occupancy of calls x detection delay, and the calls of a failed
gateway ending."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import pytest
import yaml

from appliance.config import Site, parse_site
from appliance.config.gateways import builtin_profiles
from appliance.events import (
    CallAbandoned,
    CallAnswered,
    CallBlocked,
    CallEnded,
    CallOffered,
    CallQueued,
    EndCause,
    LineBusy,
    PortCall,
    PortFailed,
    PortLateRelease,
    PortRestored,
    PortRingLost,
    Record,
)
from appliance.kpi.compute import compute_kpis
from sim.experiment import kpi_settings
from sim.world import RunSpec, World
from tests.appliance.config.test_gateways import MY_CARD
from tests.factories import site_dict

FXO = dict(builtin_profiles()["fxo-4"].layout())["1"]
E1 = dict(builtin_profiles()["e1-30"].layout())["1"]
CALLER_GONE = (EndCause.CALLER_HANGUP, EndCause.ABANDONED)


def port_site(profile: str = "fxo-4", channels: int = 4, *, lines: dict[str, str] | None = None,
              calls_per_hour: float = 60, faults: dict[str, Any] | None = None,
              call_types: list[dict[str, Any]] | None = None, folder: Path | None = None,
              **gateway: Any) -> Site:
    """Six agents behind one gateway whose ports 1..`channels` serve the trunk group "pstn"
    (`lines`: a port range per line; `gateway`: more of the gateway's settings), the site
    file in `folder`."""
    kind = "e1" if profile.startswith("e1-") else "analog"
    data = site_dict(agents=6, trunks=channels, traffic={
        "calls_per_hour": calls_per_hour,
        "call_types": call_types or [{
            "name": "general", "trunk_group": "pstn",
            "talk_time": {"dist": "exponential", "mean": 120},
            "patience": {"dist": "exponential", "mean": 90}}],
        **({"faults": faults} if faults else {})})
    data["trunk_groups"][0]["kind"] = kind
    if kind == "e1" and channels > 30:
        data["trunk_groups"][0]["spans"] = -(-channels // 30)
    mapped = [{"ports": ports, "trunk_group": "pstn", "line": line}
              for line, ports in (lines or {}).items()]
    data["gateways"] = [{"name": "card", "profile": profile, "address": "127.0.0.1:5070",
                         "ports": mapped or [{"ports": f"1-{channels}", "trunk_group": "pstn"}],
                         **gateway}]
    return parse_site(yaml.safe_dump(data), source="<test>", folder=folder)


def run(site: Site, hours: float = 8, seed: int = 1) -> list[Record]:
    return World(site, RunSpec(hours=hours, seed=seed)).run().records


def of(records: list[Record], kind: type) -> list[Any]:
    return [r for r in records if type(r) is kind]


def test_an_analog_call_with_caller_id_is_never_answered_on_the_first_ring() -> None:
    records = run(port_site())
    rang_at = {r.call: r.t - r.answer_delay for r in of(records, PortCall)}
    answered = of(records, CallAnswered)
    assert len(answered) > 300
    assert FXO.answerable_after >= 5.0  # the second ring of China's 1 s on / 4 s off
    assert all(r.t - rang_at[r.call] >= FXO.answerable_after for r in answered)
    assert {r.answer_delay for r in of(records, PortCall)} == {FXO.answerable_after}


def test_an_e1_call_is_offered_at_once() -> None:
    records = run(port_site("e1-30", 30, calls_per_hour=120))
    assert {r.answer_delay for r in of(records, PortCall)} == {0.0}
    assert of(records, PortLateRelease) == []  # hang-ups are exact


def test_a_sites_own_profile_and_line_settings_drive_the_simulated_ports(tmp_path) -> None:
    (tmp_path / "my-card.yaml").write_text(MY_CARD)  # answers on the third ring
    site = port_site("my-card.yaml", folder=tmp_path, disconnect={"delay": 12.0})
    caps = dict(site.gateways[0].product().layout())["1"]
    records = run(site)
    assert {round(r.answer_delay, 9) for r in of(records, PortCall)} == {10.0}
    late = {round(r.seconds, 9) for r in of(records, PortLateRelease)}
    # The site's detection delay (not the card's 4 s), or the ring that does not come.
    assert late == {12.0 + caps.release_time, caps.ring_gone_delay + caps.release_time}


def test_lines_route_calls_where_there_is_no_called_number() -> None:
    call_types = [{"name": name, "trunk_group": "pstn", "line": name,
                   "talk_time": {"dist": "exponential", "mean": 60}}
                  for name in ("sales", "support")]
    data = site_dict(agents=6, trunks=4, extra_queues=[{"name": "sales"}], traffic={
        "calls_per_hour": 60, "call_types": call_types},
        routes=[{"trunk_group": "pstn", "line": "sales", "queue": "sales"}])
    site = port_site(lines={"sales": "1-2", "support": "3-4"}, call_types=call_types)
    data["trunk_groups"][0]["kind"] = "analog"
    data["gateways"] = [g.model_dump(exclude_none=True) for g in site.gateways]
    records = run(parse_site(yaml.safe_dump(data), source="<test>"))
    line_of = {r.call: r.line for r in of(records, PortCall)}
    queues = {r.call: r.queue for r in of(records, CallQueued)}
    assert {line_of[c] for c in queues} == {"sales", "support"}
    assert all((queue == "sales") == (line_of[call] == "sales")
               for call, queue in queues.items())
    ports = {r.call: r.port for r in of(records, PortCall)}
    assert all((ports[c] in ("1", "2")) == (line == "sales") for c, line in line_of.items())


def test_a_line_with_every_port_busy_gives_its_callers_busy_tone() -> None:
    call_types = [{"name": "sales", "trunk_group": "pstn", "line": "sales",
                   "talk_time": {"dist": "exponential", "mean": 300}}]
    data = site_dict(agents=6, trunks=4, traffic={"calls_per_hour": 60,
                                                   "call_types": call_types})
    data["trunk_groups"][0]["kind"] = "analog"
    data["gateways"] = [{"name": "card", "profile": "fxo-4", "address": "127.0.0.1:5070",
                         "ports": [{"ports": "1", "trunk_group": "pstn", "line": "sales"},
                                   {"ports": "2-4", "trunk_group": "pstn", "line": "other"}]}]
    records = run(parse_site(yaml.safe_dump(data), source="<test>"))
    assert of(records, LineBusy)
    assert {r.port for r in of(records, PortCall)} == {"1"}
    assert of(records, CallBlocked) == []  # the group had free ports: nothing reached it

    retrying = [{**call_types[0], "retrial": {"after_busy": 1.0, "max_attempts": 2}}]
    records = run(port_site(lines={"sales": "1", "other": "2-4"}, call_types=retrying))
    assert max(r.attempt for r in of(records, CallOffered)) == 2  # busy tone, then again


def test_a_caller_who_hangs_up_while_the_port_rings_is_a_lost_ring_not_an_abandon() -> None:
    impatient = [{"name": "general", "trunk_group": "pstn",
                  "talk_time": {"dist": "exponential", "mean": 120},
                  "patience": {"dist": "exponential", "mean": 10}}]
    site = port_site(call_types=impatient)
    records = run(site)
    lost = of(records, PortRingLost)
    assert len(lost) > 50  # some 40 % of callers give up within the 5 s before the 2nd ring
    assert all(0 < r.rang < FXO.answerable_after for r in lost)
    offered_at = {r.call: r.t for r in of(records, CallOffered)}
    # No call is offered only for its caller to leave at that very instant.
    assert all(r.t > offered_at[r.call] for r in of(records, CallAbandoned))
    report = compute_kpis(records, kpi_settings(site, 0, 8 * 3600))
    assert report.ports is not None
    assert report.ports.groups["pstn"].lost_rings == len(lost)
    assert report.center.offered == len(offered_at)  # lost rings never reached the center
    e1 = run(port_site("e1-30", 30, call_types=impatient))
    assert of(e1, PortRingLost) == []  # answerable at once


def late_occupancy_error(seed: int) -> tuple[int, float]:
    """(calls whose caller hung up, relative error of the seized time after hang-ups against
    calls x (detection delay + guard time), a caller leaving a still-ringing call - offered
    or not yet (a lost ring) - counted at the ring's period)."""
    records = run(port_site(calls_per_hour=90), hours=8, seed=seed)
    on_port = {r.call for r in of(records, PortCall)}
    answered = {r.call for r in of(records, CallAnswered)}
    gone = [r for r in of(records, CallEnded) if r.call in on_port and r.cause in CALLER_GONE]
    talking = sum(1 for r in gone if r.call in answered)
    ringing = len(gone) - talking + len(of(records, PortRingLost))
    predicted = (talking * (FXO.disconnect_delay + FXO.release_time)
                 + ringing * (FXO.ring_gone_delay + FXO.release_time))
    late = of(records, PortLateRelease)
    assert len(late) == talking + ringing  # every caller's hang-up, and nothing else
    return len(gone), sum(r.seconds for r in late) / predicted - 1.0


def test_late_disconnect_occupancy_is_calls_times_the_detection_delay() -> None:
    runs = [late_occupancy_error(seed) for seed in range(1, 6)]
    errors = [error for _calls, error in runs]
    half_width = 2.776 * statistics.stdev(errors) / len(errors) ** 0.5  # t(0.975, 4)
    assert all(calls > 300 for calls, _error in runs)
    assert abs(statistics.mean(errors)) <= half_width + 1e-9
    assert half_width < 0.01


def test_late_disconnect_costs_blocking_the_kpis_show() -> None:
    site = port_site(calls_per_hour=150)
    report = compute_kpis(run(site), kpi_settings(site, 0, 8 * 3600))
    assert report.ports is not None
    stats = report.ports.groups["pstn"]
    assert stats.answer_delay_mean == pytest.approx(FXO.answerable_after)
    assert stats.late_seconds >= stats.late_releases * FXO.ring_gone_delay > 0
    assert stats.blocked == report.center.blocked > 0
    e1_site = port_site("e1-30", 4, calls_per_hour=150)
    e1 = compute_kpis(run(e1_site), kpi_settings(e1_site, 0, 8 * 3600))
    assert e1.ports is not None
    assert e1.ports.groups["pstn"].late_seconds == 0
    assert e1.center.blocked < report.center.blocked


def test_every_call_on_a_failed_gateway_ends() -> None:
    faults = {"gateway_failures_per_day": 24, "repair": {"dist": "fixed", "value": 300}}
    records = run(port_site(calls_per_hour=120, faults=faults), hours=8, seed=2)
    failed = of(records, PortFailed)
    lost = [r for r in failed if r.call]
    assert len({r.t for r in failed}) >= 3 and lost
    ended = {r.call: r.t for r in of(records, CallEnded)}
    assert all(ended[r.call] == r.t for r in lost)
    assert len(of(records, PortRestored)) == len(failed)
    down = sorted({r.t for r in failed})
    up = sorted({r.t for r in of(records, PortRestored)})
    calls = [r.t for r in of(records, PortCall)]
    assert not any(start < t < end for start, end in zip(down, up, strict=True) for t in calls)
    report = compute_kpis(records, kpi_settings(port_site(), 0, 8 * 3600))
    assert report.ports is not None and report.ports.groups["pstn"].calls_lost == len(lost)


def test_the_same_seed_fails_the_same_lines() -> None:
    faults = {"line_failures_per_day": 6}
    site = port_site(faults=faults)
    assert run(site, 4, seed=5) == run(site, 4, seed=5)


def test_a_site_without_gateways_rings_no_port() -> None:
    world = World(parse_site(yaml.safe_dump(site_dict(traffic={
        "calls_per_hour": 60, "call_types": [{
            "name": "general", "trunk_group": "pstn",
            "talk_time": {"dist": "fixed", "value": 60}}]})), source="<test>"),
        RunSpec(hours=1, seed=1))
    assert world.ports is None
    assert not any(type(r).__name__.startswith(("Port", "LineBusy")) for r in world.run().records)


def test_dialing_out_on_analog_takes_time_per_digit() -> None:
    world = World(port_site(), RunSpec(hours=1, seed=1))
    assert world.ports is not None
    assert world.ports.dial_time("pstn", "12345678") == pytest.approx(
        FXO.setup_time + 8 * FXO.digit_time)
    assert world.ports.dial_time("elsewhere", "123") == 0.0


def span_failures(records: list[Record]) -> list[tuple[float, str]]:
    """(when, span) of each span failure: its 30 channels' `PortFailed` at one moment."""
    at: dict[float, list[int]] = {}
    for r in of(records, PortFailed):
        at.setdefault(r.t, []).append(int(r.port))
    assert all(sorted(ports) in (list(range(1, 31)), list(range(31, 61)))
               for ports in at.values()), "a failure took other than one whole span"
    return [(t, "1" if ports[0] <= 30 else "2") for t, ports in sorted(at.items())]


def test_a_failed_span_ends_its_calls_and_the_other_span_takes_the_next_ones() -> None:
    faults = {"span_failures_per_day": 12, "span_repair": {"dist": "fixed", "value": 900}}
    records = run(port_site("e1-60", 60, calls_per_hour=120, faults=faults), hours=8, seed=3)
    failures = span_failures(records)
    lost = [r for r in of(records, PortFailed) if r.call]
    assert len(failures) >= 2 and lost
    ended = {r.call: r.t for r in of(records, CallEnded)}
    assert all(ended[r.call] == r.t for r in lost)
    for t, span in failures:
        during = [int(r.port) for r in of(records, PortCall) if t < r.t < t + 900]
        assert all((p > 30) == (span == "1") for p in during), "a call on a span that is down"
    report = compute_kpis(records, kpi_settings(port_site("e1-60", 60), 0, 8 * 3600))
    assert report.ports is not None and report.ports.groups["pstn"].calls_lost == len(lost)


def test_spans_fail_at_the_configured_rate() -> None:
    # Each span is up for Exp(mean 1800 s), then down 600 s: a renewal process whose count
    # in T = 48 h has mean T / 2400 = 72 and variance T * 1800^2 / 2400^3 = 40.5 a span.
    faults = {"span_failures_per_day": 48, "span_repair": {"dist": "fixed", "value": 600}}
    records = run(port_site("e1-60", 60, calls_per_hour=10, faults=faults), hours=48, seed=4)
    failures = span_failures(records)
    assert abs(len(failures) - 144) <= 3 * (2 * 40.5) ** 0.5
    assert {span for _t, span in failures} == {"1", "2"}
    assert len(of(records, PortRestored)) == 30 * len(failures)
