"""The figures a report derives from a sizing document: the best answer per interval, service
level and ASA against agents, blocking against trunks.

Pure functions of JSON-ready data returning JSON-ready data (non-finite values as None), so
that `report.json` holds exactly what the plots and tables show.
"""

from __future__ import annotations

import math
from typing import Any

from appliance.analytic import erlang_a, erlang_b, erlang_c_asa, erlang_c_service_level

METHODS = ("rule", "erlang_c", "erlang_a", "simulated")
"""The answers of a sizing document, in the order the report shows them."""

_BLOCKING_FLOOR = 1e-6  # the blocking plot's log axis stops here


def finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


def on_phones(entry: dict[str, Any]) -> dict[str, int | None]:
    """Agents on the phones per method (None where a method gave no answer)."""
    simulated = entry["simulated"]
    return {"rule": entry["rule"], "erlang_c": entry["erlang_c"], "erlang_a": entry["erlang_a"],
            "simulated": None if simulated is None else simulated["agents"]}


def best_answer(entry: dict[str, Any]) -> tuple[str, int]:
    """The answer the report recommends: simulated, else Erlang A, else Erlang C."""
    counts = on_phones(entry)
    for method in ("simulated", "erlang_a", "erlang_c"):
        if counts[method] is not None:
            return method, counts[method]  # type: ignore[return-value]
    raise ValueError(f"interval {entry['interval']}: no Erlang C answer")


def interval_hours(inputs: dict[str, Any], count: int) -> list[float]:
    """Interval edges, hours after midnight of the first interval's day (past 24 when the day
    runs over midnight): count + 1 values."""
    start = inputs["day_start"] / 3600.0
    step = inputs["interval_minutes"] / 60.0
    return [start + i * step for i in range(count + 1)]


def daily_profile(document: dict[str, Any]) -> dict[str, Any]:
    """Agents per interval: the best answer (on the phones and scheduled) and the rule's."""
    intervals = document["intervals"]
    methods, best, scheduled = [], [], []
    for entry in intervals:
        method, agents = best_answer(entry)
        methods.append(method)
        best.append(agents)
        scheduled.append(entry["scheduled"][method])
    return {
        "labels": [entry["interval"] for entry in intervals],
        "edges_hours": interval_hours(document["inputs"], len(intervals)),
        "method": methods,
        "best": best,
        "scheduled": scheduled,
        "rule": [entry["rule"] for entry in intervals],
        "shrinkage": document["inputs"]["shrinkage"],
    }


def busiest(intervals: list[dict[str, Any]], key: str) -> int | None:
    """Index of the interval with the most `key` (load or trunk_load); None if all are 0."""
    index = max(range(len(intervals)), key=lambda i: intervals[i][key])
    return index if intervals[index][key] > 0 else None


def agent_curves(document: dict[str, Any], index: int) -> dict[str, Any]:
    """Service level and ASA against agents for one interval: Erlang C, Erlang A (with
    patience) and the simulated candidates with their 95 % half-widths, over a range of
    agent counts around the answers."""
    inputs, entry = document["inputs"], document["intervals"][index]
    aht, threshold, patience = inputs["aht"], inputs["sl_threshold"], inputs["patience"]
    load = entry["load"]
    rate = load / aht
    answers = on_phones(entry)
    candidates = [] if entry["simulated"] is None else entry["simulated"]["candidates"]
    counts = [n for n in answers.values() if n is not None] + [c["agents"] for c in candidates]
    low = max(1, min(counts) - 2)
    high = max(max(counts) + 3, low + 7)
    agents = list(range(low, high + 1))
    curves: dict[str, Any] = {
        "interval": entry["interval"], "index": index, "load": load,
        "target": inputs["sl_target"], "threshold": threshold, "answers": answers,
        "agents": agents,
        "erlang_c": {
            "service_level": [erlang_c_service_level(n, load, aht, threshold) for n in agents],
            "asa": [finite(erlang_c_asa(n, load, aht)) for n in agents],
        },
        "erlang_a": None,
        "simulated": [
            {"agents": c["agents"],
             "service_level": c["service_level"]["mean"],
             "service_level_half_width": c["service_level"]["half_width"],
             "asa": c["asa"]["mean"], "asa_half_width": c["asa"]["half_width"],
             "abandoned": c["abandoned"]["mean"],
             "replications": c["service_level"]["n"]}
            for c in candidates
        ],
    }
    if patience is not None:
        results = [erlang_a(n, rate, aht, patience, threshold) for n in agents]
        curves["erlang_a"] = {
            "service_level": [r.service_level for r in results],
            "asa": [finite(r.asa) for r in results],
            "abandoned": [r.p_abandon for r in results],
        }
    return curves


def blocking_curve(document: dict[str, Any], index: int) -> dict[str, Any]:
    """Erlang B blocking against trunks for one interval's trunk load, with the trunks sized
    for the target and those installed (if given)."""
    inputs, entry = document["inputs"], document["intervals"][index]
    load, sized, installed = entry["trunk_load"], entry["trunks"], inputs["trunks"]
    high = max(sized, installed or 0) + max(3, math.ceil(0.3 * sized))
    trunks = list(range(max(0, min(sized, installed or sized) - max(5, sized // 2)), high + 1))
    return {
        "interval": entry["interval"], "index": index, "trunk_load": load,
        "target": inputs["blocking_target"],
        "sized": sized, "sized_blocking": erlang_b(sized, load),
        "installed": installed, "installed_blocking": entry["blocking"],
        "trunks": trunks, "blocking": [erlang_b(n, load) for n in trunks],
        "floor": _BLOCKING_FLOOR,
        "simulated": _simulated_blocking(entry.get("simulated_trunks")),
    }


def _simulated_blocking(found: dict[str, Any] | None) -> dict[str, Any] | None:
    """The trunk counts the simulation tried, their blocked share (mean, 95 % half-width),
    and the count it chose; None without a simulation."""
    if found is None:
        return None
    points = [c for c in found["candidates"] if c["blocked"]["mean"] is not None]
    return {"trunks": found["trunks"],
            "tried": [c["trunks"] for c in points],
            "mean": [c["blocked"]["mean"] for c in points],
            "half_width": [c["blocked"]["half_width"] or 0.0 for c in points]}


def derive(document: dict[str, Any]) -> dict[str, Any]:
    """Every derived figure the report shows: the profile and, where there is traffic, the
    busiest interval's agent curves and blocking curve (None without traffic)."""
    intervals = document["intervals"]
    agents_at = busiest(intervals, "load")
    trunks_at = busiest(intervals, "trunk_load")
    return {
        "profile": daily_profile(document),
        "agent_curves": None if agents_at is None else agent_curves(document, agents_at),
        "blocking_curve": None if trunks_at is None else blocking_curve(document, trunks_at),
    }
