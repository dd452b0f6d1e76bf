"""The sizing report: rendered from a real sizing document (formulas and a short simulation),
opened in headless Chromium, its numbers read back from the page and compared with report.json."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from matplotlib.image import imread

from appliance.config.live import Recording
from sim.report import PlanError, ReportFiles, plan_document, render_report
from sim.report.formatting import percent, plus_minus, seconds, whole
from sim.sizing.command import sizing_document
from sim.sizing.formulas import answer_all
from sim.sizing.inputs import SizingInputs
from sim.sizing.schedule import plan_shifts
from sim.sizing.simulate import simulate_interval

CHROMIUM_TIMEOUT = 60  # seconds; a page this size renders in about one
WINDOW = (1100, 3000)
AGENT_FIELDS = ("rule", "erlang_c", "erlang_a", "simulated", "scheduled", "trunks")
# Marks each image with the width the browser decoded (0 for a broken image) once all loaded.
PROBE = ('<script>window.addEventListener("load", () => { for (const img of document.images) '
         'img.dataset.naturalWidth = img.naturalWidth; });</script>')


def sized(patience: float | None, simulate: bool) -> dict[str, Any]:
    inputs = SizingInputs(calls_per_hour=(60, 120, 90), aht=180, patience=patience,
                          shrinkage=0.3, ivr_share=0.1, trunks=12)
    answers = answer_all(inputs)
    simulated = [
        simulate_interval(inputs, a.calls_per_hour, a.erlang_a or a.erlang_c, replications=4,
                          hours=1, seed=1, workers=1) if simulate else None
        for a in answers
    ]
    return sizing_document(inputs, answers, simulated, Recording(retention_days=90))


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return sized(patience=120, simulate=True)


def plan_for(document: dict[str, Any]) -> dict[str, Any]:
    scheduled = [max(e["scheduled"][m] or 0 for m in ("erlang_c", "erlang_a", "simulated"))
                 for e in document["intervals"]]
    return {
        "labels": [e["interval"] for e in document["intervals"]],
        "required": scheduled,
        "planned": [n + 0.5 for n in scheduled],
        "paid_hours": 3.0 * (max(scheduled) + 1),
        "status": "optimal",
        "shifts": [{"start": "08:00", "end": "11:00", "count": max(scheduled) + 1,
                    "breaks": [{"start": "09:30", "minutes": 15, "reason": "break"}]}],
    }


def forecast_dict() -> dict[str, Any]:
    """Three weeks of history, a week's hold-out and a week ahead, 08:00-18:00 by half hours."""
    first = datetime(2024, 3, 4, 8)

    def day(offset: int) -> list[tuple[str, float]]:
        return [((first + timedelta(days=offset, minutes=30 * i)).isoformat(),
                 20.0 + 30.0 * (1 - abs(i - 10) / 10) + offset % 7) for i in range(20)]

    return {
        "history": [{"start": s, "calls": round(c)} for d in range(21) for s, c in day(d)],
        "holdout": [{"start": s, "actual": round(c), "predicted": c * 1.05}
                    for d in range(21, 28) for s, c in day(d)],
        "forecast": [{"start": s, "calls": c, "low": 0.8 * c, "high": 1.2 * c}
                     for d in range(28, 35) for s, c in day(d)],
        "mape": 7.9, "naive_mape": 12.5, "level": 0.9,
    }


class Dom(HTMLParser):
    """What the test reads from a page: images, table cells by id (with the text of their
    `value` span), every src/href, and the notes."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.images: list[dict[str, str]] = []
        self.cells: dict[str, dict[str, Any]] = {}
        self.links: list[str] = []
        self.notes = 0
        self._cell: dict[str, Any] | None = None
        self._in_value = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        self.links += [found[k] for k in ("src", "href") if k in found]
        if tag == "img":
            self.images.append(found)
        elif tag == "td" and "data-field" in found and "id" in found:
            self._cell = {"attrs": found, "value": ""}
            self.cells[found["id"]] = self._cell
        elif tag == "span" and found.get("class") == "value" and self._cell is not None:
            self._in_value = True
        elif tag == "li" and "data-interval" in found:
            self.notes += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "span":
            self._in_value = False
        elif tag == "td":
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._in_value and self._cell is not None:
            self._cell["value"] += data


def chromium_binary() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no Chromium found on PATH (apt-get install chromium)")


def chromium(profile: Path, url: str, *options: str) -> subprocess.CompletedProcess[str]:
    binary = chromium_binary()
    return subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
         *options, url],
        capture_output=True, text=True, timeout=CHROMIUM_TIMEOUT, check=True)


def check_png(path: Path) -> None:
    assert path.is_file(), path
    assert path.stat().st_size > 5_000, f"{path.name}: {path.stat().st_size} bytes"
    pixels = imread(path)
    assert pixels.shape[0] > 200 and pixels.shape[1] > 400
    assert pixels.std() > 0.01, f"{path.name} is blank"


def check_pdf(path: Path, pages_at_least: int) -> None:
    data = path.read_bytes()
    assert data.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b", data)) >= pages_at_least


def test_the_page_shows_report_json_numbers_in_chromium(document: dict[str, Any],
                                                        tmp_path: Path) -> None:
    files = render_report(document, tmp_path / "report", plan=plan_for(document),
                          forecast=forecast_dict())
    assert isinstance(files, ReportFiles)
    report = json.loads(files.json.read_text())
    assert {k: report[k] for k in ("inputs", "intervals", "recordings")} == json.loads(
        json.dumps(document))
    assert set(report["figures"]) == {"service_level", "profile", "blocking", "forecast"}

    probe = files.folder / "probe.html"
    probe.write_text(files.html.read_text().replace("</body>", PROBE + "</body>"))
    dom = Dom(chromium(tmp_path / "profile", probe.as_uri(), "--dump-dom").stdout)

    # Every plot: its img, a PNG beside the page the browser decoded, named by data-figure.
    by_figure = {img.get("data-figure"): img for img in dom.images}
    for name, file_name in report["figures"].items():
        img = by_figure[name]
        assert img["src"] == file_name and "/" not in file_name
        assert files.figures[name] == files.folder / file_name
        check_png(files.folder / file_name)
        assert int(img["data-natural-width"]) > 400, f"{name}: not decoded by the browser"
    assert len(dom.images) == len(report["figures"])
    assert not [link for link in dom.links if re.match(r"(https?:)?//", link)], "external asset"

    # Each interval's agents per method and trunks, as shown and as data, equal report.json.
    for index, entry in enumerate(report["intervals"]):
        method = report["profile"]["method"][index]
        expected = {"rule": entry["rule"], "erlang_c": entry["erlang_c"],
                    "erlang_a": entry["erlang_a"], "simulated": entry["simulated"]["agents"],
                    "scheduled": entry["scheduled"][method], "trunks": entry["trunks"]}
        assert report["profile"]["scheduled"][index] == expected["scheduled"]
        for field in AGENT_FIELDS:
            cell = dom.cells[f"i{index}-{field}"]
            assert cell["attrs"]["data-value"] == str(expected[field]), (index, field)
            assert int(cell["value"].replace(",", "")) == expected[field], (index, field)
        assert float(dom.cells[f"i{index}-calls_per_hour"]["attrs"]["data-value"]) == entry[
            "calls_per_hour"]
        assert dom.cells[f"i{index}-interval"]["value"] == entry["interval"]
    assert dom.notes == sum(len(e["notes"]) for e in report["intervals"]) > 0

    shot = tmp_path / "page.png"
    chromium(tmp_path / "profile", files.html.as_uri(), f"--screenshot={shot}",
             f"--window-size={WINDOW[0]},{WINDOW[1]}", "--hide-scrollbars")
    check_png(shot)
    assert imread(shot).shape[:2] == (WINDOW[1], WINDOW[0])
    check_pdf(files.pdf, pages_at_least=len(report["figures"]) + 2)


def test_curves_bracket_the_answers(document: dict[str, Any], tmp_path: Path) -> None:
    report = json.loads(render_report(document, tmp_path).json.read_text())
    curves = report["agent_curves"]
    busiest = max(report["intervals"], key=lambda e: e["load"])
    assert curves["interval"] == busiest["interval"]
    agents = curves["agents"]
    for method in ("rule", "erlang_c", "erlang_a", "simulated"):
        count = curves["answers"][method]
        assert agents[0] <= count <= agents[-1]
    at = agents.index(busiest["erlang_c"])
    assert curves["erlang_c"]["service_level"][at] == pytest.approx(busiest["erlang_c_sl"])
    at = agents.index(busiest["erlang_a"])
    assert curves["erlang_a"]["service_level"][at] == pytest.approx(busiest["erlang_a_sl"])
    # Below the answer the target is missed, at it met, on both curves.
    for model in ("erlang_c", "erlang_a"):
        answer = busiest[model]
        levels = dict(zip(agents, curves[model]["service_level"], strict=True))
        assert levels[answer] >= curves["target"] > levels[answer - 1]
    assert [p["agents"] for p in curves["simulated"]] == [
        c["agents"] for c in busiest["simulated"]["candidates"]]
    blocking = report["blocking_curve"]
    trunks = dict(zip(blocking["trunks"], blocking["blocking"], strict=True))
    sized = blocking["sized"]
    assert trunks[sized] <= blocking["target"] < trunks[sized - 1]
    assert report["plan"] is None and report["forecast"] is None
    assert set(report["figures"]) == {"service_level", "profile", "blocking"}


def test_formulas_alone_without_patience(tmp_path: Path) -> None:
    document = sized(patience=None, simulate=False)
    files = render_report(document, tmp_path)
    report = json.loads(files.json.read_text())
    assert report["agent_curves"]["erlang_a"] is None
    assert report["profile"]["method"] == ["erlang_c"] * 3
    dom = Dom(files.html.read_text())
    assert {img["data-figure"] for img in dom.images} == set(report["figures"])
    for name in report["figures"]:
        check_png(files.folder / report["figures"][name])
    for index in range(3):
        for field in ("erlang_a", "simulated"):
            assert dom.cells[f"i{index}-{field}"]["attrs"]["data-value"] == ""
    check_pdf(files.pdf, pages_at_least=len(report["figures"]) + 1)


def test_a_plan_from_the_scheduler(document: dict[str, Any], tmp_path: Path) -> None:
    required = [4, 5, 6, 8, 9, 9, 8, 7, 6, 6, 7, 8, 9, 8, 6, 5]  # 08:00-16:00 by half hours
    plan = plan_document(plan_shifts(required, 30, 8 * 3600))
    assert plan["labels"][0] == "08:00-08:30" and plan["labels"][-1] == "15:30-16:00"
    assert plan["required"] == required
    assert all(p >= r for p, r in zip(plan["min_planned"], required, strict=True))
    files = render_report(document, tmp_path, plan=plan)
    report = json.loads(files.json.read_text())
    assert report["plan"] == plan
    html = files.html.read_text()
    agents = sum(s["count"] for s in plan["shifts"])
    assert f"{agents} agents, {plan['paid_hours']:,.1f} paid hours" in html


def test_a_malformed_plan_is_refused_before_writing(document: dict[str, Any],
                                                    tmp_path: Path) -> None:
    plan = plan_for(document)
    plan["planned"] = plan["planned"][:-1]
    with pytest.raises(PlanError, match=r"plan\.planned: expected one value per label"):
        render_report(document, tmp_path / "out", plan=plan)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("format_", "value", "shown"), [
    (percent, 0.8056, "80.6%"),
    (whole, 12345, "12,345"),
    (whole, 9.5, "9.5"),
    (whole, None, "–"),
    (seconds, 180.0, "180 s (3:00)"),
    (seconds, 13.25, "13.2 s"),
])
def test_numbers_read_as_people_write_them(format_: Any, value: Any, shown: str) -> None:
    assert format_(value) == shown


def test_service_levels_carry_their_95_percent_interval() -> None:
    assert plus_minus(0.886, 0.0236) == "88.6% ± 2.4%"
    assert plus_minus(0.886, None) == "88.6%"
