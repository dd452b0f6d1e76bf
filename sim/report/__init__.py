"""The customer's sizing report: `render_report(document, out)` writes an HTML page with its
plots, the numbers as JSON and a PDF from what `ccbox size` found."""

from sim.report.forecast import ForecastShapeError
from sim.report.plan import PlanError, plan_document
from sim.report.render import ReportFiles, build_report, render_report

__all__ = [
    "ForecastShapeError",
    "PlanError",
    "ReportFiles",
    "build_report",
    "plan_document",
    "render_report",
]
