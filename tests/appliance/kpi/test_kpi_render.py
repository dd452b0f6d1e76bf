"""The terminal tables show the figures, in their units, with their definitions."""

from __future__ import annotations

from rich.console import Console

from appliance.events import (
    AgentRung,
    AgentState,
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallOffered,
    CallQueued,
    EndCause,
    Record,
)
from appliance.kpi import (
    KpiReport,
    KpiSettings,
    QueueKpiSettings,
    compute_kpis,
    render_report,
    summarize,
)
from appliance.kpi.render import format_summary, format_value
from appliance.kpi.replications import summarize_values

S = AgentState


def day(wait: float = 8.0) -> list[Record]:
    """Agent a1 answers call 1 after ``wait`` s; call 2 abandons after 50 s; a2 idles."""
    return [
        AgentStateChanged(0, "a1", S.READY, "", 0),
        AgentStateChanged(0, "a2", S.READY, "", 0),
        CallOffered(0, 1, "pstn", "ani", "400", 1),
        CallQueued(0, 1, "sales", 0, 1),
        AgentRung(wait - 2, 1, "sales", "a1"),
        AgentStateChanged(wait - 2, "a1", S.RINGING, "", 1),
        CallAnswered(wait, 1, "sales", "a1", wait),
        AgentStateChanged(wait, "a1", S.TALKING, "", 1),
        CallOffered(10, 2, "pstn", "ani", "400", 1),
        CallQueued(10, 2, "sales", 0, 1),
        CallAbandoned(60, 2, "sales", 1, 50),
        CallEnded(60, 2, EndCause.ABANDONED),
        CallEnded(wait + 60, 1, EndCause.CALLER_HANGUP),
        AgentStateChanged(wait + 60, "a1", S.WRAP_UP, "", 1),
        AgentStateChanged(wait + 75, "a1", S.READY, "", 0),
        AgentStateChanged(100, "a1", S.LOGGED_OUT, "", 0),
        AgentStateChanged(100, "a2", S.LOGGED_OUT, "", 0),
    ]


SETTINGS = KpiSettings(clock_origin=8 * 3600, queues={"sales": QueueKpiSettings(sl_threshold=30)})


def rendered(data, **options) -> str:
    console = Console(record=True, width=120)
    render_report(data, console, title="Monday", **options)
    return console.export_text()


def flat(text: str) -> str:
    """The text with line breaks and runs of spaces made single spaces (captions wrap)."""
    return " ".join(text.split())


def report() -> KpiReport:
    return compute_kpis(day(), SETTINGS)


def test_units_and_undefined_figures_are_formatted():
    assert format_value("service_level", 0.834) == "83.4 %"
    assert format_value("asa", 12.34) == "12.3 s"
    assert format_value("offered", 12) == "12"
    assert format_value("calls_per_hour", 36.0) == "36.0"
    assert format_value("asa", None) == "-"
    assert format_summary("asa", summarize_values([10.0, 14.0])) == "12.0 s ± 25.4 s"
    assert format_summary("asa", summarize_values([10.0])) == "10.0 s"
    assert format_summary("asa", summarize_values([])) == "-"


def test_report_tables_show_the_figures():
    text = rendered(report())

    lines = text.splitlines()
    row = next(line for line in lines if "Service level" in line)
    assert "50.0 %" in row  # 1 answered within 30 s of 2 that entered the queue
    assert "8.0 s" in next(line for line in lines if "ASA" in line)
    assert "50.0 s" in next(line for line in lines if "Average abandon time" in line)
    assert "-" in next(line for line in lines if "Average hold time" in line)
    assert "AHT" in text and "75.0 s" in next(line for line in lines if line.startswith("│ AHT"))
    # offered, answered, abandoned, SL, ASA, agents logged in, occupancy 75 s / 200 s
    assert cells(lines, "08:00-08:30") == ["2", "1", "1", "50.0 %", "8.0 s", "2.0", "37.5 %"]
    # offered, answered, abandoned, short, overflowed, SL, ASA, abandon rate, AHT
    assert cells(lines, "sales") == ["2", "1", "1", "0", "0", "50.0 %", "8.0 s", "50.0 %", "75.0 s"]
    # logged in, ready, talk, hold, wrap-up, not ready, handled, no answer, occupancy, calls/h
    # agent totals as h:mm:ss
    assert cells(lines, "a1") == [
        "0:01:40",
        "0:00:23",
        "0:01:00",
        "0:00:00",
        "0:00:15",
        "0:00:00",
        "1",
        "0",
        "75.0 %",
        "36.0",
    ]


def cells(lines: list[str], first: str) -> list[str]:
    """The cells after the first of the table row that starts with ``first``."""
    row = next(line for line in lines if line.startswith(f"│ {first} "))
    return [cell.strip() for cell in row.split("│")[2:-1]]


def test_captions_state_the_definitions_that_are_choices():
    text = flat(rendered(report()))

    assert "Occupancy = (talk + hold + wrap-up) / (talk + hold + wrap-up + ready + ringing)" in text
    assert "talk + hold only variant leaves wrap-up out" in text
    assert "threshold, 20 s (sales 30 s)," in text
    assert "short abandons (wait <= 20 s)" in text


def test_a_summary_shows_mean_and_half_width():
    summary = summarize([compute_kpis(day(wait), SETTINGS) for wait in (6.0, 8.0, 10.0)])

    text = rendered(summary)

    assert "Monday: center (3 replications)" in text
    assert "Mean ± 95 % CI half-width" in text
    asa = next(line for line in text.splitlines() if line.startswith("│ ASA"))
    assert "8.0 s ± 5.0 s" in asa  # sd 2, t(0.975, 2) 4.303 x 2 / sqrt(3) = 4.97
    assert asa.rstrip("│ ").endswith("3")


def test_only_the_busiest_agents_are_listed_past_the_limit():
    text = rendered(report(), max_agents=1)

    rows = [line for line in text.splitlines() if line.startswith("│ a")]
    assert [row.split()[1] for row in rows] == ["a1"]
    assert "Top 1 of 2 agents by calls handled." in flat(text)


def sent_away(cause: EndCause, call: int = 3) -> list[Record]:
    """``day`` with one more call, which routing sends away with ``cause``."""
    away = [CallOffered(20, call, "pstn", "ani", "400", 1), CallEnded(21, call, cause)]
    return sorted([*day(), *away], key=lambda record: record.t)


def test_a_report_without_calls_sent_away_has_no_rows_for_them():
    text = flat(rendered(report()))

    for name in ("Blacklisted", "Closed", "Agent unreachable", "Unreachable"):
        assert name not in text
    assert "sent away" not in text


def test_calls_sent_away_have_a_row_and_an_interval_column_each_only_when_some_occurred():
    lines = rendered(compute_kpis(sent_away(EndCause.CLOSED), SETTINGS)).splitlines()

    assert cells(lines, "Closed (after hours, holiday)") == ["1"]
    assert not [line for line in lines if line.startswith(("│ Blacklisted", "│ Agent"))]
    row = next(i for i, line in enumerate(lines) if line.startswith("│ Closed"))
    assert lines[row - 1].startswith("│ No route")
    # offered, answered, abandoned, closed, SL, ASA, agents logged in, occupancy
    assert cells(lines, "08:00-08:30") == ["3", "1", "1", "1", "50.0 %", "8.0 s", "2.0", "37.5 %"]
    assert "counted as offered but not as blocked" in flat("\n".join(lines))


def test_each_cause_sent_away_shows_its_own_row():
    unreachable = [r for r in sent_away(EndCause.AGENT_UNREACHABLE, 4) if r.call == 4]
    records = sorted([*sent_away(EndCause.BLACKLISTED, 3), *unreachable], key=lambda r: r.t)
    lines = rendered(compute_kpis(records, SETTINGS)).splitlines()

    assert (cells(lines, "Blacklisted"), cells(lines, "Agent unreachable")) == (["1"], ["1"])
    assert not [line for line in lines if line.startswith("│ Closed")]


def test_a_summary_shows_the_rows_of_causes_some_replication_had():
    summary = summarize([report(), compute_kpis(sent_away(EndCause.BLACKLISTED), SETTINGS)])

    text = rendered(summary)

    assert next(line for line in text.splitlines() if line.startswith("│ Blacklisted"))
    assert "Closed" not in text
