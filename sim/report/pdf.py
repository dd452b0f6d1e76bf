"""The report as one PDF for e-mail: the question and summary table, the notes, every plot, the
plan's shifts and the forecast's scores, drawn with matplotlib."""

from __future__ import annotations

import itertools
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from sim.report import content
from sim.report import formatting as fmt

PAGE = (11.69, 8.27)  # A4 landscape, inches
LINE_INCHES = 0.15  # one 8-point line of a table cell
LINES_PER_PAGE = 40


def _page(title: str) -> Figure:
    page = Figure(figsize=PAGE)
    FigureCanvasAgg(page)
    page.text(0.04, 0.95, title, fontsize=15, weight="bold", va="top")
    return page


def _table(pdf: PdfPages, title: str, header: Sequence[str], rows: Sequence[Sequence[str]],
           lead: Sequence[str] = ()) -> None:
    """`rows` under `header`, as many pages as they take; `lead` lines above the first."""
    lines = max((str(text).count("\n") + 1 for row in rows for text in row), default=1)
    row_inches = LINE_INCHES * lines + 0.1
    first = 0
    for number in itertools.count():
        page = _page(title if number == 0 else f"{title} (continued)")
        top = 0.90
        if number == 0:
            for line in lead:
                page.text(0.04, top, line, fontsize=9, va="top")
                top -= 0.028
            top -= 0.02
        fits = max(1, int((top - 0.04) * PAGE[1] / row_inches) - 1)  # less the header row
        chunk = rows[first:first + fits]
        if chunk:
            height = (len(chunk) + 1) * row_inches / PAGE[1]
            ax = page.add_axes((0.04, top - height, 0.92, height))
            ax.axis("off")
            table = ax.table(cellText=[list(r) for r in chunk], colLabels=list(header),
                             cellLoc="center", bbox=(0, 0, 1, 1))
            table.auto_set_font_size(False)
            table.set_fontsize(8)
            table.auto_set_column_width(range(len(header)))
            for (row, _), cell in table.get_celld().items():
                if row == 0:
                    cell.set_text_props(weight="bold")
                    cell.set_facecolor("#eeeeee")
        pdf.savefig(page)
        first += fits
        if first >= len(rows):
            return


def _text(pdf: PdfPages, title: str, lines: Sequence[str]) -> None:
    wrapped = [part for line in lines for part in (textwrap.wrap(line, 150) or [""])]
    for first in range(0, len(wrapped), LINES_PER_PAGE):
        page = _page(title if first == 0 else f"{title} (continued)")
        page.text(0.04, 0.89, "\n".join(wrapped[first:first + LINES_PER_PAGE]), fontsize=9,
                  va="top", linespacing=1.5)
        pdf.savefig(page)


def _cell_text(cell: content.Cell) -> str:
    return f"{cell.text}\n{cell.detail}" if cell.detail else cell.text


def write_pdf(path: Path, report: dict[str, Any], rows: list[list[content.Cell]],
              figures: dict[str, Figure]) -> None:
    """Writes the PDF; `rows` are the summary table's, `figures` the plots in page order."""
    inputs, intervals = report["inputs"], report["intervals"]
    with PdfPages(path, metadata={"Title": "Sizing report", "CreationDate": None}) as pdf:
        items = content.input_items(inputs, intervals, report.get("ivr"))
        lead = [f"{label}: {text}" for _, label, text in items]
        _table(pdf, "Sizing report", [heading for _, heading in content.SUMMARY_COLUMNS],
               [[_cell_text(cell) for cell in row] for row in rows], lead)
        notes = [f"{entry['interval']}: {note}" for entry in intervals for note in entry["notes"]]
        recordings = content.recording_items(report["recordings"])
        if recordings:
            notes += ["", "Recordings"] + [f"{label}: {text}" for _, label, text in recordings]
        if notes:
            _text(pdf, "Where the answers disagree, and why", notes)
        for figure in figures.values():
            pdf.savefig(figure)
        plan = report["plan"]
        if plan is not None:
            _table(pdf, "Shift plan", ["Start", "End", "Agents", "Breaks"],
                   content.shift_rows(plan),
                   [f"Paid hours: {fmt.number(plan['paid_hours'], 1)}; agents: "
                    f"{fmt.whole(sum(s['count'] for s in plan['shifts']))}"])
        summary = report["forecast_summary"]
        if summary is not None:
            forecast = report["forecast"]
            _table(pdf, "Forecast", ["Day", "Calls expected", "Busiest interval starts",
                                     "Its calls"],
                   [[d["day"], fmt.number(d["calls"]), d["peak_start"],
                     fmt.number(d["peak_calls"], 1)] for d in summary["days"]],
                   [f"Hold-out MAPE {fmt.number(forecast['mape'], 1)}% against seasonal naive "
                    f"{fmt.number(forecast['naive_mape'], 1)}% "
                    f"({fmt.percent(summary['improvement'], 0)} lower)"])
