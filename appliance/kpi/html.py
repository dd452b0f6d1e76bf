"""A KPI report as one self-contained HTML page: the terminal's tables and per-interval plots.

The same figures as ``render_report`` prints, cell for cell (``ReportCells``), for a
simulation (``ccbox sim --html``) or the box's records (``ccbox report --html``). The plots
are the sizing report's kind that apply to measured or simulated intervals: calls, service
level and speed of answer, and agents logged in with their occupancy, drawn with
matplotlib's Agg canvas (no display) and embedded as SVG so that the page is one file.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from appliance.kpi.render import (
    AGENT_COLUMNS,
    IVR_CAPTION,
    IVR_COLUMNS,
    IVR_INTERVAL_COLUMNS,
    NODE_COLUMNS,
    OCCUPANCY_CAPTION,
    QUEUE_COLUMNS,
    ROUTED_AWAY_CAPTION,
    ReportCells,
)
from appliance.kpi.replications import ReplicationSummary
from appliance.kpi.report import KpiReport

WIDTH = 8.0  # inches, as the sizing report's plots
COLOURS = {"offered": "#7f7f7f", "answered": "#2ca02c", "abandoned": "#d62728",
           "service_level": "#1f77b4", "asa": "#ff7f0e", "agents": "#9467bd",
           "occupancy": "#8c564b"}
STYLE = ("body{font-family:sans-serif;max-width:60em;margin:2em auto}"
         "table{border-collapse:collapse;margin:1em 0}"
         "td,th{border:1px solid #ccc;padding:.2em .5em;text-align:right}"
         "td:first-child,th:first-child{text-align:left}")


def write_html(data: KpiReport | ReplicationSummary, path: Path, *, title: str) -> None:
    """Write the page to ``path`` (replaced if it exists)."""
    cells = ReportCells(data)
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(title)}"
             f"</title><style>{STYLE}</style></head><body><h1>{escape(title)}</h1>"]
    parts += _plots(cells)
    parts += _tables(cells)
    parts.append(f"<p>{escape(OCCUPANCY_CAPTION)}</p></body></html>\n")
    path.write_text("".join(parts), encoding="utf-8")


def _tables(cells: ReportCells) -> list[str]:
    center = [[name, cells.cell(key)] for key, name in cells.center_rows]
    queues = [[q, *(cells.cell(f"queue.{q}.{k}") for k, _ in QUEUE_COLUMNS)]
              for q in cells.queues]
    intervals = [[i, *(cells.cell(f"interval.{i}.{k}") for k, _ in cells.interval_columns)]
                 for i in cells.intervals]
    agents = [[a, *(cells.cell(f"agent.{a}.{k}") for k, _ in AGENT_COLUMNS)]
              for a in cells.agents]
    agents.append(["All", *(cells.cell(f"agents.{k}") for k, _ in AGENT_COLUMNS)])
    return [
        html_table("Center", ["Figure", "Value"], center),
        *([f"<p>{escape(ROUTED_AWAY_CAPTION)}</p>"] if cells.routed_away else []),
        html_table("Queues", _headings("Queue", QUEUE_COLUMNS), queues),
        *_ivr_tables(cells),
        html_table("Intervals", _headings("Interval", cells.interval_columns), intervals),
        html_table("Agents", _headings("Agent", AGENT_COLUMNS), agents),
    ]


def _ivr_tables(cells: ReportCells) -> list[str]:
    """The IVR's tables, for a report with IVR figures only."""
    if cells.flows is None:
        return []
    labelled = [(label, f"ivr.interval.{label}") for label in cells.intervals]
    return [
        html_table("IVR", _headings("Flow", IVR_COLUMNS), _rows(cells, cells.ivr_rows(),
                                                               IVR_COLUMNS)),
        f"<p>{escape(IVR_CAPTION)}</p>",
        html_table("IVR nodes", _headings("Node", NODE_COLUMNS),
               _rows(cells, cells.node_rows(), NODE_COLUMNS)),
        html_table("IVR by interval", _headings("Interval", IVR_INTERVAL_COLUMNS),
               _rows(cells, labelled, IVR_INTERVAL_COLUMNS)),
    ]


def _rows(cells: ReportCells, rows: Iterable[tuple[str, str]],
          columns: Iterable[tuple[str, str]]) -> list[list[str]]:
    keys = [key for key, _ in columns]
    return [[name, *(cells.cell(f"{prefix}.{key}") for key in keys)] for name, prefix in rows]


def _headings(first: str, columns: Iterable[tuple[str, str]]) -> list[str]:
    return [first, *(name for _, name in columns)]


def html_table(title: str, headings: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A titled HTML table of `rows` under `headings`, every cell escaped."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headings)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<h2>{escape(title)}</h2><table><tr>{head}</tr>{body}</table>"


def _series(cells: ReportCells, key: str) -> list[float]:
    """A figure over the intervals; NaN where it is not defined (a gap in the line)."""
    values = (cells.values.get(f"interval.{label}.{key}") for label in cells.intervals)
    return [float("nan") if v is None else float(v) for v in values]


def _plots(cells: ReportCells) -> list[str]:
    if not cells.intervals:
        return []
    return [svg(figure) for figure in (_calls(cells), _service(cells), _agents(cells))]


def _figure() -> tuple[Figure, Axes]:
    figure = Figure(figsize=(WIDTH, 3.0), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    axes.set_axisbelow(True)
    axes.grid(True, color="#dddddd", linewidth=0.6)
    return figure, axes


def _calls(cells: ReportCells) -> Figure:
    figure, axes = _figure()
    for key in ("offered", "answered", "abandoned"):
        axes.plot(cells.intervals, _series(cells, key), "-o", markersize=3,
                  color=COLOURS[key], label=key.capitalize())
    _finish(axes, "Calls offered in the interval", "calls")
    return figure


def _service(cells: ReportCells) -> Figure:
    figure, level = _figure()
    level.plot(cells.intervals, _series(cells, "service_level"), "-o",
               markersize=3, color=COLOURS["service_level"], label="Service level")
    level.yaxis.set_major_formatter(PercentFormatter(1.0))
    asa = level.twinx()
    asa.plot(cells.intervals, _series(cells, "asa"), "-s", markersize=3,
             color=COLOURS["asa"], label="ASA")
    asa.set_ylabel("ASA, seconds")
    _finish(level, "Service level and average speed of answer", "service level")
    return figure


def _agents(cells: ReportCells) -> Figure:
    figure, agents = _figure()
    agents.step(cells.intervals, _series(cells, "agents_logged_in_avg"),
                where="mid", color=COLOURS["agents"], label="Agents logged in (mean)")
    occupancy = agents.twinx()
    occupancy.plot(cells.intervals, _series(cells, "occupancy"), "-o", markersize=3,
                   color=COLOURS["occupancy"], label="Occupancy")
    occupancy.yaxis.set_major_formatter(PercentFormatter(1.0))
    _finish(agents, "Agents over the day", "agents")
    return figure


def _finish(axes: Axes, title: str, ylabel: str) -> None:
    axes.set_title(title)
    axes.set_ylabel(ylabel)
    axes.get_figure().legend(loc="outside lower center", ncols=3, frameon=False)
    for label in axes.get_xticklabels():
        label.set_rotation(45)
        label.set_horizontalalignment("right")


def svg(figure: Figure) -> str:
    """`figure` as inline SVG for a self-contained page (no date: the same page each time)."""
    out = io.StringIO()
    figure.savefig(out, format="svg", metadata={"Date": None})
    text = out.getvalue()
    return text[text.index("<svg"):]
