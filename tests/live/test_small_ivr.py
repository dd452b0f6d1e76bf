"""The small reference site's example menu (`appliance/sites/small-ivr.yaml`), walked by the same
callers in simulation and on the live box.

A caller is a number and the keys they press, each at a set second after the IVR answers. In
call fidelity the keys go straight into call control, with the prompt lengths `ccbox sim` uses
and the customer table built from the site's seed CSV; live, `ccbox serve` runs the site and
SIPp callers send the keys as RFC 4733 events in their RTP (pcaps written with scapy). Each
walk takes the path written here in both worlds, and each call's records are the same in both,
apart from times and what only the live box logs (media, recordings, the keys as received).

The keys fall well inside the windows of the nodes they are meant for, whatever the prompts'
real lengths: every menu allows barge-in, so a key pressed while its prompt plays counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from random import Random
from typing import Any

import pytest
import yaml

from appliance.config import Site, builtin_site_path, load_site
from appliance.eventlog import EventLog
from appliance.events import IvrExited, IvrExitKind, IvrNodeEntered, Record
from appliance.lookups import SiteLookups
from appliance.pbx.actions import LookUp
from appliance.pbx.callcontrol import CallControl
from appliance.records.store import RecordReader
from appliance.state import StateFolder
from appliance.wallclock import from_origin
from sim.live import ApplianceProcess, media_port_range
from sim.media import announcement_timing
from sim.traffic.rtp_pcap import tone, write_rtp_pcap
from sim.traffic.sipp import SippConfig, SippRun, scenario_path

OPEN = datetime(2026, 3, 2, 10, 0, 0)
"""A Monday morning: the site is open. The live box runs on the real clock; its copy of the
site is open around the clock."""


@dataclass(frozen=True)
class Walk:
    ani: str
    keys: tuple[tuple[float, str], ...]
    """(seconds after the answer, key)."""
    hang_up: float | None
    """Seconds after the answer the caller hangs up; None: they wait for the IVR's goodbye."""
    path: tuple[str, ...]
    exit: tuple[IvrExitKind, str]


def keyed(start: float, digits: str, gap: float = 0.3) -> tuple[tuple[float, str], ...]:
    return tuple((round(start + i * gap, 2), digit) for i, digit in enumerate(digits))


WALKS = {
    # A customer on file: Mandarin, the right PIN, the balance read back; silence then, so
    # the IVR says goodbye and hangs up. Served by the IVR alone.
    "balance": Walk("13800138001", ((1.0, "1"), *keyed(3.0, "2468"), (6.5, "1")), None,
                    ("language", "find", "ask_pin", "check_pin", "member_menu", "balance",
                     "after_balance", "goodbye"),
                    (IvrExitKind.COMPLETED, "")),
    # A number not on file: English, then technical support; gives up waiting in the queue.
    "guest": Walk("13700000000", ((1.0, "2"), (3.5, "3")), 8.0,
                  ("language", "find", "menu", "support"), (IvrExitKind.QUEUE, "support")),
    # A customer with the wrong PIN is not verified: the general menu, then sales.
    "wrong pin": Walk("13800138002", ((1.0, "1"), *keyed(3.0, "9999"), (8.0, "4")), 11.0,
                      ("language", "find", "ask_pin", "check_pin", "pin_wrong", "menu", "sales"),
                      (IvrExitKind.QUEUE, "sales")),
}
LAST = 45.0  # seconds: every walk is over by then in both worlds

LIVE_ONLY = frozenset({"RecordingStarted", "RecordingStopped", "DigitReceived",
                       "MediaTimedOut", "MediaQuality", "Alarm"})
Row = tuple[Any, ...]


def small_ivr() -> Site:
    return load_site(builtin_site_path("small-ivr"))


def rows(records: list[Record], call: int) -> list[Row]:
    """One call's records as the worlds can share them: no times, no call id."""
    return [(type(r).__name__, *tuple(r)[2:]) for r in records
            if getattr(r, "call", None) == call and type(r).__name__ not in LIVE_ONLY]


def path_of(call_rows: list[Row]) -> tuple[tuple[str, ...], tuple[IvrExitKind, str]]:
    nodes = tuple(row[2] for row in call_rows if row[0] == IvrNodeEntered.__name__)
    [exited] = [row for row in call_rows if row[0] == IvrExited.__name__]
    return nodes, (exited[1], exited[2])


def shapes(call_rows: list[Row]) -> list[Row]:
    """Seconds measured by two clocks differ; that a field is a duration must not."""
    return [tuple("<seconds>" if isinstance(v, float) else v for v in row) for row in call_rows]


# --- call fidelity ----------------------------------------------------------------------------


def simulated(site: Site, walk: Walk, state: Path) -> list[Row]:
    """One walk through call control on a manual clock, lookups answered from the seed."""
    log = EventLog()
    lookups = SiteLookups(site.ivr, StateFolder(state))
    lookups.create_missing()  # from the seed, as a new box does at start
    control = CallControl(site, log, Random(1), wallclock=from_origin(OPEN),
                          prompt_seconds=announcement_timing(site).prompt_lengths())
    call = control.offer_call(0.0, "pstn", walk.ani)

    def serve(now: float) -> None:
        for action in control.take_actions():
            if isinstance(action, LookUp):
                control.lookup_done(now, action.call, lookups.look_up(action.lookup, action.key))

    def wait(until: float) -> None:
        while (when := control.deadlines.next_deadline()) is not None and when <= until:
            control.deadlines.run_due(when)
            serve(when)

    serve(0.0)
    for when, key in walk.keys:
        wait(when)
        control.caller_digit(when, call, key)
        serve(when)
    if walk.hang_up is not None:
        wait(walk.hang_up)
        control.caller_hangup(walk.hang_up, call)
    wait(LAST)
    return rows(log.records, call)


@pytest.mark.parametrize("name", sorted(WALKS))
def test_each_walk_takes_its_path_in_simulation(name: str, tmp_path: Path) -> None:
    walk = WALKS[name]
    assert path_of(simulated(small_ivr(), walk, tmp_path)) == (walk.path, walk.exit)


# --- live: ccbox serve and SIPp callers keying RFC 4733 events -------------------------------


def live_site(folder: Path) -> Path:
    """The example site as a box on this machine runs it: calls from SIPp on 127.0.0.1,
    open around the clock, media ports and recordings of this test's own."""
    low, high = media_port_range()
    variant = {
        "extends": str(builtin_site_path("small-ivr")),
        "trunk_groups": [{"name": "pstn", "kind": "analog", "channels": 4,
                          "peers": ["127.0.0.1"]}],
        "schedules": {"office": {"mon-sun": "00:00-24:00"}},
        "holidays": [],
        "media": {"rtp_port_min": low, "rtp_port_max": high,
                  "recording": {"folder": str(folder / "recordings"), "stop_below_mb": 50,
                                "resume_above_mb": 100, "keep_free_mb": 100}},
    }
    path = folder / "small-ivr-here.yaml"
    path.write_text(yaml.safe_dump(variant, sort_keys=False))
    return path


def caller(box: ApplianceProcess, walk: Walk, name: str, folder: Path) -> SippRun:
    pcap = write_rtp_pcap(folder / f"{name}.pcap", tone(0.0, LAST), digits=walk.keys)
    stay = LAST if walk.hang_up is None else walk.hang_up
    config = SippConfig(scenario_path("caller_ivr.xml"), remote=box.address, rate=1,
                        max_calls=1, call_limit=1, duration_ms=round(stay * 1000),
                        service="100", keys={"pcap": str(pcap), "ani": walk.ani})
    return SippRun(config, timeout=LAST + 30, workdir=folder / f"sipp-{name.replace(' ', '-')}")


def walked_live(folder: Path) -> dict[str, list[Row]]:
    box = ApplianceProcess(live_site(folder), folder)
    try:
        runs = {name: caller(box, walk, name, folder).start() for name, walk in WALKS.items()}
        results = {name: run.wait() for name, run in runs.items()}
    finally:
        assert box.stop() == 0, box.log()
    for name, result in results.items():
        assert (result.successful, result.failed) == (1, 0), (name, result, box.log())
    # Every prompt of each caller's language was there to play (a Mandarin caller's balance
    # is spoken from Mandarin words).
    assert "Traceback" not in box.log() and " ERROR " not in box.log(), box.log()
    records = RecordReader(box.records).events()
    calls = {r.ani: r.call for r in records if type(r).__name__ == "CallOffered"}
    return {name: rows(records, calls[walk.ani]) for name, walk in WALKS.items()}


@pytest.mark.slow
def test_sipp_callers_walk_the_same_paths_with_the_same_records_as_in_simulation(
        tmp_path: Path) -> None:
    live = walked_live(tmp_path)
    site = small_ivr()
    for name, walk in WALKS.items():
        assert path_of(live[name]) == (walk.path, walk.exit), name
        ours = simulated(site, walk, tmp_path / "sim")
        assert shapes(live[name]) == shapes(ours), name


def test_the_live_site_differs_from_the_example_only_in_where_it_runs(tmp_path: Path) -> None:
    here = load_site(live_site(tmp_path))
    example = small_ivr()
    assert (here.ivr, here.queues, here.agents, here.routes) == (
        example.ivr, example.queues, example.agents, example.routes)
