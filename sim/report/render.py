"""The customer's sizing report: an HTML page with its plots as PNG files beside it, the same
numbers as JSON, and one PDF for e-mail, all written into one folder."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from matplotlib.figure import Figure

from sim.report import content, curves, figures
from sim.report.forecast import check_forecast, daily_totals, improvement
from sim.report.formatting import FILTERS
from sim.report.pdf import write_pdf
from sim.report.plan import check_plan

TEMPLATES = Path(__file__).parent / "templates"
DPI = 110

FIGURE_CAPTIONS = {
    "service_level": "Service level and average speed of answer against agents in the busiest "
                     "interval: Erlang C (callers never hang up), Erlang A (they do, after their "
                     "patience) and the simulation of the appliance's own call control with its "
                     "95 % interval.",
    "profile": "Agents over the day: the best answer per interval (simulated, else Erlang A, "
               "else Erlang C), the rule for comparison, and the head count to schedule.",
    "blocking": "Calls blocked against trunks (Erlang B) at the busiest trunk load.",
    "forecast": "The call forecast: history, the forecast with its interval, and a hold-out "
                "period the model did not see, actual against predicted.",
}
"""Every figure a report may hold, in page order, with its caption."""


@dataclass(frozen=True)
class ReportFiles:
    """Where a report was written. `figures` maps each figure's name to its PNG."""

    folder: Path
    html: Path
    json: Path
    pdf: Path
    figures: dict[str, Path]


def build_report(document: dict[str, Any], *, plan: dict[str, Any] | None = None,
                 forecast: dict[str, Any] | None = None) -> dict[str, Any]:
    """The report's data, JSON-ready: the sizing document's own keys unchanged, the derived
    curves (`profile`, `agent_curves`, `blocking_curve`), `plan`, `forecast` and
    `forecast_summary` (None when not given), and `figures`: figure name -> PNG file name."""
    derived = curves.derive(document)
    clash = set(derived) & set(document)
    if clash:
        raise ValueError(f"document: unexpected keys {sorted(clash)}")
    report: dict[str, Any] = {**document, **derived}
    report["plan"] = None if plan is None else check_plan(plan)
    report["forecast"] = None if forecast is None else check_forecast(forecast)
    report["forecast_summary"] = None if forecast is None else {
        "improvement": improvement(forecast), "days": daily_totals(forecast)}
    shown = {"service_level": derived["agent_curves"] is not None, "profile": True,
             "blocking": derived["blocking_curve"] is not None, "forecast": forecast is not None}
    report["figures"] = {name: f"{name}.png" for name in FIGURE_CAPTIONS if shown[name]}
    return report


def _draw(report: dict[str, Any]) -> dict[str, Figure]:
    drawers = {
        "service_level": lambda: figures.service_level_figure(report["agent_curves"]),
        "profile": lambda: figures.profile_figure(report["profile"], report["plan"]),
        "blocking": lambda: figures.blocking_figure(report["blocking_curve"]),
        "forecast": lambda: figures.forecast_figure(report["forecast"]),
    }
    return {name: drawers[name]() for name in report["figures"]}


def _environment() -> Environment:
    environment = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                              autoescape=select_autoescape(["j2", "html"]),
                              trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    environment.filters.update(FILTERS)
    return environment


def render_report(document: dict[str, Any], out: Path, *, plan: dict[str, Any] | None = None,
                  forecast: dict[str, Any] | None = None) -> ReportFiles:
    """Writes `index.html`, one PNG per plot, `report.json` and `report.pdf` into `out`
    (created if need be; files of the same names are replaced). `document` is
    `sizing_document`'s; `plan` and `forecast` as described in `sim.report.plan` and
    `sim.report.forecast`. Raises ValueError (PlanError, ForecastShapeError) on a malformed
    plan or forecast, before anything is written."""
    report = build_report(document, plan=plan, forecast=forecast)
    out.mkdir(parents=True, exist_ok=True)
    drawn = _draw(report)
    pngs = {}
    for name, figure in drawn.items():
        pngs[name] = out / report["figures"][name]
        figure.savefig(pngs[name], dpi=DPI, metadata={"Software": None})
    json_path = out / "report.json"
    json_path.write_text(json.dumps(report, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    rows = content.summary_rows(document, report["profile"])
    html_path = out / "index.html"
    html_path.write_text(_environment().get_template("report.html.j2").render(
        report=report, rows=rows, columns=content.SUMMARY_COLUMNS,
        inputs=content.input_items(report["inputs"], report["intervals"], report.get("ivr")),
        recordings=content.recording_items(report["recordings"]),
        shifts=None if plan is None else content.shift_rows(plan),
        captions=FIGURE_CAPTIONS, method_names=content.METHOD_NAMES,
    ), encoding="utf-8")
    pdf_path = out / "report.pdf"
    write_pdf(pdf_path, report, rows, drawn)
    return ReportFiles(folder=out, html=html_path, json=json_path, pdf=pdf_path, figures=pngs)
