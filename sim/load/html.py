"""A live-versus-simulation comparison as one self-contained HTML page: its tables, and a plot
of each scope's rates and times, the prediction's interval as a bar and the box's value as a
dot (drawn as ``appliance.kpi.html`` draws: Agg canvas, embedded SVG)."""

from __future__ import annotations

from html import escape
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from appliance.kpi.html import COLOURS, STYLE, WIDTH, html_table, svg
from appliance.kpi.render import RATES, TIMES
from sim.load.report import COLUMNS, Comparison, Row, cells, host_rows, title_of


def write_comparison_html(comparison: Comparison, path: Path) -> None:
    """Write the page to ``path`` (replaced if it exists)."""
    title = title_of(comparison)
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(title)}"
             f"</title><style>{STYLE}</style></head><body><h1>{escape(title)}</h1>"]
    for scope in comparison.scopes():
        rows = [row for row in comparison.rows if row.scope == scope]
        parts.append(svg(_plot(scope, rows)))
        parts.append(html_table(scope, [*COLUMNS, "Likely cause"],
                            [[*cells(row), row.cause or ""] for row in rows]))
    if comparison.host is not None:
        parts.append(html_table("Host", ["Figure", "Value"], host_rows(comparison.host)))
    parts.append("</body></html>\n")
    path.write_text("".join(parts), encoding="utf-8")


def _plot(scope: str, rows: list[Row]) -> Figure:
    figure = Figure(figsize=(WIDTH, 3.0), layout="constrained")
    FigureCanvasAgg(figure)
    rates, times = figure.subplots(1, 2)
    _draw(rates, [row for row in rows if row.figure in RATES])
    rates.yaxis.set_major_formatter(PercentFormatter(1.0))
    _draw(times, [row for row in rows if row.figure in TIMES])
    times.set_ylabel("seconds")
    figure.suptitle(f"{scope}: live (dot) and the simulation's interval (bar)")
    return figure


def _draw(axes: Axes, rows: list[Row]) -> None:
    axes.grid(True, color="#dddddd", linewidth=0.6)
    axes.set_axisbelow(True)
    for x, row in enumerate(rows):
        interval = row.interval
        if interval is not None:
            axes.plot([x, x], interval, color=COLOURS["service_level"], linewidth=6,
                      alpha=0.4, solid_capstyle="butt")
            mean = row.predicted.mean if row.predicted else None
            axes.plot([x], [mean], "_", markersize=12, color=COLOURS["service_level"])
        if row.live is not None:
            colour = COLOURS["abandoned"] if row.verdict == "outside" else COLOURS["answered"]
            axes.plot([x], [row.live], "o", color=colour)
    axes.set_xticks(range(len(rows)), [row.label for row in rows], rotation=45,
                    horizontalalignment="right")
