"""The report's plots, drawn with matplotlib's Agg canvas (no display, no pyplot state).

Each function takes the derived data `report.json` holds (see `curves`) and returns a Figure
ready for `savefig` as PNG or into a PDF.
"""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, MultipleLocator, PercentFormatter

from sim.report.formatting import clock
from sim.report.plan import label_edges

COLOURS = {"rule": "#7f7f7f", "erlang_c": "#1f77b4", "erlang_a": "#ff7f0e",
           "simulated": "#2ca02c", "target": "#d62728", "plan": "#9467bd",
           "scheduled": "#8c564b"}
NAMES = {"rule": "Rule", "erlang_c": "Erlang C", "erlang_a": "Erlang A",
         "simulated": "Simulated", "scheduled": "Scheduled"}
WIDTH = 8.0  # inches: fits an A4 or Letter page at 100 dpi


def _figure(height: float, columns: int = 1) -> tuple[Figure, list[Any]]:
    figure = Figure(figsize=(WIDTH, height), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, columns, squeeze=False)[0]
    for ax in axes:
        ax.set_axisbelow(True)  # steps are patches: without this the grid crosses them
        ax.grid(True, color="#dddddd", linewidth=0.6)
    return figure, list(axes)


def _nan(values: list[float | None]) -> list[float]:
    return [float("nan") if v is None else v for v in values]


def service_level_figure(curves: dict[str, Any]) -> Figure:
    """Service level and ASA against agents: Erlang C and A curves, simulated points with
    95 % error bars, the target, and where each method's answer lies."""
    figure, (level, asa) = _figure(3.6, columns=2)
    agents = curves["agents"]
    figure.suptitle(f"Agents on the phones, {curves['interval']} "
                    f"({curves['load']:.1f} Erlangs, the busiest interval)")
    for name in ("erlang_c", "erlang_a"):
        model = curves[name]
        if model is None:
            continue
        level.plot(agents, model["service_level"], "-o", markersize=3, color=COLOURS[name],
                   label=NAMES[name])
        asa.plot(agents, _nan(model["asa"]), "-o", markersize=3, color=COLOURS[name],
                 label=NAMES[name])
    points = curves["simulated"]
    if points:
        counts = [p["agents"] for p in points]
        level.errorbar(counts, _nan([p["service_level"] for p in points]),
                       yerr=[p["service_level_half_width"] or 0 for p in points],
                       fmt="s", markersize=5, capsize=3, color=COLOURS["simulated"],
                       label="Simulated (95 % interval)")
        asa.errorbar(counts, _nan([p["asa"] for p in points]),
                     yerr=[p["asa_half_width"] or 0 for p in points],
                     fmt="s", markersize=5, capsize=3, color=COLOURS["simulated"],
                     label="Simulated (95 % interval)")
    level.axhline(curves["target"], color=COLOURS["target"], linestyle="--", linewidth=1,
                  label=f"Target {curves['target']:.0%} in {curves['threshold']:g} s")
    for name, count in curves["answers"].items():
        if count is not None:
            level.axvline(count, color=COLOURS[name], linestyle=":", linewidth=1.2,
                          label=f"{NAMES[name]}: {count} agents")
    level.set_ylim(0, 1.02)
    level.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    level.set_ylabel(f"Answered within {curves['threshold']:g} s")
    asa.set_ylabel("Average speed of answer (s)")
    # Erlang C's wait grows without bound towards the load: keep the answers' region readable.
    asa.set_ylim(0, min(asa.get_ylim()[1], 6 * curves["threshold"]))
    for ax in (level, asa):
        ax.set_xlabel("Agents on the phones")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(agents[0] - 0.5, agents[-1] + 0.5)
    level.legend(fontsize=7, loc="lower right")
    asa.legend(fontsize=7, loc="upper right")
    return figure


def _clock_axis(ax: Any, span_hours: float) -> None:
    """Ticks on whole clock times: every half hour up to a 3-hour span, then every 1, 2, 3 h."""
    step = next((s for limit, s in ((3, 0.5), (8, 1), (16, 2)) if span_hours <= limit), 3)
    ax.xaxis.set_major_locator(MultipleLocator(step))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda hours, _: clock(hours * 3600.0)))


def profile_figure(profile: dict[str, Any], plan: dict[str, Any] | None) -> Figure:
    """Agents per interval over the day as steps: the best answer, the rule, the scheduled
    head count and, with a plan, what the plan covers."""
    figure, (ax,) = _figure(3.6)
    edges = profile["edges_hours"]
    ax.stairs(profile["best"], edges, baseline=None, color=COLOURS["simulated"], linewidth=2,
              label="Required on the phones (best answer)")
    ax.stairs(profile["rule"], edges, baseline=None, color=COLOURS["rule"], linestyle="--",
              linewidth=1.2, label="The rule")
    if profile["shrinkage"]:
        ax.stairs(profile["scheduled"], edges, baseline=None, color=COLOURS["scheduled"],
                  linestyle=":", linewidth=1.5,
                  label=f"Scheduled ({profile['shrinkage']:.0%} shrinkage)")
    if plan is not None:
        plan_edges = label_edges(plan["labels"])
        ax.stairs(plan["required"], plan_edges, baseline=None, color=COLOURS["plan"],
                  linestyle="-.", linewidth=1, label="Plan: required")
        ax.stairs(plan["planned"], plan_edges, color=COLOURS["plan"], linewidth=1.5,
                  fill=True, alpha=0.15, label="Plan: agents present")
    ax.set_title("Agents over the day")
    ax.set_xlabel("Time of day")
    ax.set_ylabel("Agents")
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    _clock_axis(ax, ax.get_xlim()[1] - ax.get_xlim()[0])
    ax.legend(fontsize=7, loc="upper left")
    return figure


def blocking_figure(curve: dict[str, Any]) -> Figure:
    """Erlang B blocking against trunks for the busiest trunk load, on a log scale, with the
    target and the trunks sized (and installed)."""
    figure, (ax,) = _figure(3.4)
    floor = curve["floor"]
    ax.semilogy(curve["trunks"], [max(b, floor) for b in curve["blocking"]], "-o",
                markersize=3, color=COLOURS["erlang_c"], label="Erlang B")
    ax.axhline(curve["target"], color=COLOURS["target"], linestyle="--", linewidth=1,
               label=f"Target {curve['target']:.1%}")
    ax.plot([curve["sized"]], [max(curve["sized_blocking"], floor)], "D", markersize=8,
            color=COLOURS["erlang_c"], label=f"Erlang B: {curve['sized']} trunks "
            f"({curve['sized_blocking']:.2%})")
    simulated = curve.get("simulated")
    if simulated is not None:
        means = [max(m, floor) for m in simulated["mean"]]
        lows = [m - max(m - w, floor) for m, w in zip(means, simulated["half_width"],
                                                          strict=True)]
        ax.errorbar(simulated["tried"], means, yerr=[lows, simulated["half_width"]], fmt="s",
                    markersize=5, capsize=3, color=COLOURS["simulated"],
                    label=f"Simulated (95 % interval): {simulated['trunks']} trunks")
    if curve["installed"] is not None:
        ax.plot([curve["installed"]], [max(curve["installed_blocking"], floor)], "X",
                markersize=9, color=COLOURS["erlang_a"],
                label=f"Installed: {curve['installed']} trunks "
                      f"({curve['installed_blocking']:.2%})")
    ax.set_ylim(max(floor, min(curve["blocking"]) / 2), 1.5)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda share, _: f"{share * 100:g}%"))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(f"Calls blocked against trunks, {curve['interval']} "
                 f"({curve['trunk_load']:.1f} Erlangs on the trunks)")
    ax.set_xlabel("Trunks")
    ax.set_ylabel("Calls blocked")
    ax.legend(fontsize=7, loc="upper right")
    return figure


def _gapped(moments: list[datetime], *series: list[float]) -> tuple[list[Any], ...]:
    """The points with a NaN between any two further apart than the usual step, so that lines
    and bands break over closed hours and days instead of joining them."""
    if len(moments) < 2:
        return (moments, *series)
    step = min(b - a for a, b in pairwise(moments))
    out: tuple[list[Any], ...] = ([], *([] for _ in series))
    for i, moment in enumerate(moments):
        if i and moment - moments[i - 1] > 1.5 * step:
            out[0].append(moments[i - 1] + step)
            for column in out[1:]:
                column.append(float("nan"))
        out[0].append(moment)
        for column, values in zip(out[1:], series, strict=True):
            column.append(values[i])
    return out


def forecast_figure(forecast: dict[str, Any]) -> Figure:
    """The history, the hold-out and the forecast with its interval (top); the hold-out,
    actual against predicted (bottom)."""
    figure = Figure(figsize=(WIDTH, 5.6), layout="constrained")
    FigureCanvasAgg(figure)
    top, bottom = figure.subplots(2, 1)

    def rows(name: str) -> tuple[list[datetime], list[dict[str, Any]]]:
        listed = list(forecast.get(name, ()))
        return [datetime.fromisoformat(row["start"]) for row in listed], listed

    moments, history = rows("history")
    if history:
        top.plot(*_gapped(moments, [r["calls"] for r in history]), color=COLOURS["rule"],
                 linewidth=0.7, label="History")
    moments, holdout = rows("holdout")
    if holdout:
        actual, predicted = _gapped(moments, [r["actual"] for r in holdout],
                                    [r["predicted"] for r in holdout])[1:]
        gapped = _gapped(moments)[0]
        top.plot(gapped, actual, color="black", linewidth=0.7, label="Hold-out")
        bottom.plot(gapped, actual, color="black", linewidth=0.9, label="Actual")
        bottom.plot(gapped, predicted, color=COLOURS["erlang_a"], linewidth=0.9,
                    label=f"Predicted (MAPE {forecast['mape']:.1f}%, seasonal naive "
                          f"{forecast['naive_mape']:.1f}%)")
    moments, ahead = rows("forecast")
    if ahead:
        times, calls, low, high = _gapped(moments, [r["calls"] for r in ahead],
                                          [r["low"] for r in ahead], [r["high"] for r in ahead])
        top.fill_between(times, low, high, color=COLOURS["erlang_c"], alpha=0.25, linewidth=0,
                         label=f"Forecast interval ({forecast.get('level', 0.9):.0%})")
        top.plot(times, calls, color=COLOURS["erlang_c"], linewidth=0.9, label="Forecast")
    top.set_title("Calls per interval: history, hold-out and forecast")
    bottom.set_title("Hold-out: forecast against what happened")
    for ax in (top, bottom):
        ax.grid(True, color="#dddddd", linewidth=0.6)
        ax.set_ylabel("Calls")
        ax.set_ylim(bottom=0)
        locator = AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        if ax.has_data():
            ax.legend(fontsize=7, loc="upper left")
    return figure
