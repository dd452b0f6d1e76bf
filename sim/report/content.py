"""What the report says, as text for people and the raw value behind each number: shared by the
HTML page and the PDF so that both say the same."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sim.report import formatting as fmt
from sim.sizing.ivr import ivr_source
from sim.sizing.simulate import WARMUP_HOURS

SUMMARY_COLUMNS = (
    ("interval", "Interval"), ("calls_per_hour", "Calls/h"), ("load", "Erlangs"),
    ("rule", "Rule"), ("erlang_c", "Erlang C"), ("erlang_a", "Erlang A"),
    ("simulated", "Simulated"), ("scheduled", "Scheduled"), ("trunks", "Trunks"),
)
"""The summary table's columns: (field, heading)."""

METHOD_NAMES = {"rule": "the rule", "erlang_c": "Erlang C", "erlang_a": "Erlang A",
                "simulated": "simulated"}


@dataclass(frozen=True)
class Cell:
    """One table cell: `text` (and smaller `detail`) for people, `value` as in report.json."""

    field: str
    value: Any
    text: str
    detail: str = ""


def input_items(inputs: dict[str, Any], intervals: list[dict[str, Any]],
                ivr: dict[str, Any] | None = None) -> list[tuple[str, str, str]]:
    """The question asked, as (key, label, text) lines; `ivr`, the sizing document's, adds
    where the IVR's figures came from."""
    patience = inputs["patience"]
    day_calls = sum(e["calls_per_hour"] for e in intervals) * inputs["interval_minutes"] / 60
    items = [
        ("service_level", "Service target",
         f"{fmt.percent(inputs['sl_target'], 0)} of calls answered within "
         f"{inputs['sl_threshold']:g} s"),
        ("aht", "Average handle time", fmt.seconds(inputs["aht"])),
        ("patience", "Callers' patience",
         "callers never hang up (Erlang A not used)" if patience is None
         else f"{fmt.seconds(patience)} on average before hanging up"),
    ]
    if inputs["retrial"]:
        items.append(("retrial", "Callers who call again after hanging up",
                      fmt.percent(inputs["retrial"], 0)))
    items += [
        ("ivr_share", "Calls the IVR serves alone",
         f"{fmt.percent(inputs['ivr_share'], 0)} (each holds a trunk "
         f"{fmt.seconds(inputs['ivr_seconds'])})"),
    ]
    if inputs.get("ivr_queue_seconds"):
        items.append(("ivr_queue_seconds", "Time in the IVR before the queue",
                      f"{fmt.seconds(inputs['ivr_queue_seconds'])} a call that goes on to "
                      "agents (its trunk is held that much longer)"))
    if ivr is not None:
        items.append(("ivr", "The IVR's figures", ivr_source(ivr)))
    items += [
        ("shrinkage", "Shrinkage", f"{fmt.percent(inputs['shrinkage'], 0)} of paid time off "
         "the phones"),
        ("max_occupancy", "The rule's occupancy cap", fmt.percent(inputs["max_occupancy"], 0)),
        ("trunks", "Trunks",
         (f"{fmt.whole(inputs['trunks'])} installed; " if inputs["trunks"] is not None else "")
         + f"sized for {fmt.percent(inputs['blocking_target'])} of calls blocked"),
        ("intervals", "Intervals",
         f"{len(intervals)} of {inputs['interval_minutes']} min from "
         f"{fmt.clock(inputs['day_start'])}, "
         f"{fmt.number(day_calls)} calls in the day"),
    ]
    runs = [e["simulated"] for e in intervals if e["simulated"] is not None]
    if runs:
        items.append(("simulation", "Simulation",
                      f"up to {max(r['replications'] for r in runs)} runs of "
                      f"{runs[0]['hours']:g} h per agent count, after a "
                      f"{fmt.number(WARMUP_HOURS * 60)}-minute warm-up"))
    rule = inputs["rule"]
    if rule is not None:
        items.append(("rule", "The rule's traffic",
                      f"{fmt.number(rule['population'])} people x {rule['call_rate']:g} calls "
                      f"a day x {fmt.percent(rule['busy_hour_share'], 0)} in the busy hour"))
    return items


def summary_rows(document: dict[str, Any], profile: dict[str, Any]) -> list[list[Cell]]:
    """One row of cells per interval, in SUMMARY_COLUMNS order."""
    trunks_installed = document["inputs"]["trunks"]
    rows = []
    for index, entry in enumerate(document["intervals"]):
        simulated = entry["simulated"]
        sim_cell = Cell("simulated", None, fmt.DASH)
        if simulated is not None:
            chosen = next(c for c in simulated["candidates"]
                          if c["agents"] == simulated["agents"])
            level = chosen["service_level"]
            sim_cell = Cell("simulated", simulated["agents"], fmt.whole(simulated["agents"]),
                            fmt.plus_minus(level["mean"], level["half_width"])
                            + ("" if simulated["confident"] else " ?"))
        a_detail = "" if entry["erlang_a"] is None else (
            f"{fmt.percent(entry['erlang_a_sl'])}, {fmt.percent(entry['erlang_a_abandon'])} "
            "abandon")
        method = profile["method"][index]
        rows.append([
            Cell("interval", entry["interval"], entry["interval"]),
            Cell("calls_per_hour", entry["calls_per_hour"], fmt.number(entry["calls_per_hour"])),
            Cell("load", entry["load"], fmt.number(entry["load"], 2)),
            Cell("rule", entry["rule"], fmt.whole(entry["rule"]),
                 f"({fmt.number(entry['rule_exact'], 2)})"),
            Cell("erlang_c", entry["erlang_c"], fmt.whole(entry["erlang_c"]),
                 fmt.percent(entry["erlang_c_sl"])),
            Cell("erlang_a", entry["erlang_a"], fmt.whole(entry["erlang_a"]), a_detail),
            sim_cell,
            Cell("scheduled", profile["scheduled"][index], fmt.whole(profile["scheduled"][index]),
                 f"({METHOD_NAMES[method]})"),
            Cell("trunks", entry["trunks"], fmt.whole(entry["trunks"]),
                 "" if entry["blocking"] is None else
                 f"{fmt.whole(trunks_installed)}: {fmt.percent(entry['blocking'], 2)} blocked"),
        ])
    return rows


def recording_items(recordings: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    """The recordings' disk figures, as (key, label, text) lines; none without recording."""
    if recordings is None:
        return []
    whole = round(recordings["seconds"])
    items = [
        ("seconds", "Call time recorded",
         f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d} in "
         f"{fmt.whole(recordings['calls'])} calls"
         + (", 3 files a call (split)" if recordings["files_per_call"] == 3 else "")),
        ("bytes_per_day", "A day's recordings",
         f"{fmt.size(recordings['bytes_per_day'])} for {recordings['day_hours']:g} h"),
    ]
    if recordings["disk_bytes"] is None:
        items.append(("disk_bytes", "Disk", "no retention by age: kept until free space runs "
                      "short"))
    else:
        items.append(("disk_bytes", "Disk",
                      f"{fmt.size(recordings['disk_bytes'])} for "
                      f"{recordings['retention_days']} days' retention "
                      f"({fmt.size(recordings['keep_free_bytes'])} of it kept free)"))
    return items


def shift_rows(plan: dict[str, Any]) -> list[list[str]]:
    """The plan's shifts as text: start, end, agents, breaks."""
    return [[shift["start"], shift["end"], fmt.whole(shift["count"]),
             ", ".join(f"{b['start']} {fmt.whole(b['minutes'])} min"
                       + ("" if b.get("reason", "break") == "break" else f" ({b['reason']})")
                       for b in shift.get("breaks", ()))]
            for shift in plan["shifts"]]
