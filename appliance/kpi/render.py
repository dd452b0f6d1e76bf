"""Terminal tables of a KPI report, or of a replication summary (mean ± CI half-width)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence

from rich.console import Console
from rich.table import Table

from appliance.kpi.replications import FigureSummary, ReplicationSummary, flatten
from appliance.kpi.report import KpiReport
from appliance.kpi.settings import KpiSettings

RATES = frozenset(
    {
        "blocked_rate",
        "answer_rate",
        "service_level",
        "abandon_rate",
        "transfer_rate",
        "queue_placement_rate",
        "transfer_rate_queue",
        "transfer_rate_agent",
        "transfer_rate_attended",
        "transfer_rate_extension",
        "transfer_rate_outside",
        "callback_service_level",
        "first_call_resolution",
        "occupancy",
        "occupancy_talk_only",
    }
)
TIMES = frozenset(
    {
        "avg_abandon_time",
        "asa",
        "att",
        "avg_hold_time",
        "acw",
        "aht",
        "mean_time",
        "mean_seconds",
        "answer_delay_mean",
    }
)
# Totals of agent time, long enough to read as hours and minutes.
DURATIONS = frozenset(
    {
        "logged_in_time",
        "ready_time",
        "ringing_time",
        "talk_time",
        "hold_time",
        "wrap_up_time",
        "not_ready_time",
        "late_seconds",
    }
)
MEANS = frozenset({"calls_per_hour", "agents_logged_in_avg"})

CENTER_ROWS = (
    ("center.offered", "Offered"),
    ("center.blocked", "Blocked"),
    ("center.no_route", "No route"),
    ("center.answered", "Answered"),
    ("center.abandoned", "Abandoned"),
    ("center.short_abandoned", "Short abandons"),
    ("center.voicemail", "Overflowed to voicemail"),
    ("center.busy", "Overflowed to busy"),
    ("center.in_system", "In system at the end"),
    ("center.blocked_rate", "Blocked rate"),
    ("center.answer_rate", "Answer rate"),
    ("center.service_level", "Service level"),
    ("center.abandon_rate", "Abandon rate"),
    ("center.avg_abandon_time", "Average abandon time"),
    ("center.asa", "ASA"),
    ("center.att", "ATT"),
    ("center.avg_hold_time", "Average hold time"),
    ("center.acw", "ACW"),
    ("center.aht", "AHT"),
    ("center.transfer_rate", "Transfer rate"),
    ("center.queue_placement_rate", "Queue placement rate"),
    ("agents.occupancy", "Occupancy"),
    ("agents.occupancy_talk_only", "Occupancy, talk + hold only"),
    ("agents.calls_per_hour", "Calls per agent hour"),
)
# Calls routing sent away before any queue: a row (and an interval column) only for those
# that occurred, so that the report of a site without any reads as it always has.
ROUTED_AWAY_ROWS = (
    ("center.blacklisted", "Blacklisted"),
    ("center.closed", "Closed (after hours, holiday)"),
    ("center.agent_unreachable", "Agent unreachable"),
)
ROUTED_AWAY_COLUMNS = (
    ("blacklisted", "Blacklisted"),
    ("closed", "Closed"),
    ("agent_unreachable", "Unreachable"),
)
# The PBX features' center rows: each only when its count is not 0, so that the report of a
# site without the feature reads as it always has.
FEATURE_ROWS = (
    ("center.transferred_to_queue", "center.transfer_rate_queue", "Transfer rate, to a queue"),
    ("center.transferred_to_agent", "center.transfer_rate_agent", "Transfer rate, to an agent"),
    ("center.transferred_attended", "center.transfer_rate_attended",
     "Transfer rate, attended"),
    ("center.transferred_to_extension", "center.transfer_rate_extension",
     "Transfer rate, to a phone"),
    ("center.transferred_outside", "center.transfer_rate_outside",
     "Transfer rate, outside"),
    ("center.recalls", "center.recalls", "Transfers not taken, recalled"),
    ("center.callbacks_offered", "center.callbacks_offered", "Callbacks offered"),
    ("center.callbacks_requested", "center.callbacks_requested", "Callbacks requested"),
    ("center.callbacks_requested", "center.callbacks_connected", "Callbacks connected"),
    ("center.callbacks_requested", "center.callback_given_up", "Callbacks given up"),
    ("center.callbacks_requested", "center.callback_service_level", "Callback service level"),
    ("center.parked", "center.parked", "Calls parked"),
    ("center.picked_up", "center.picked_up", "Calls picked up"),
    ("resolution.calls", "resolution.first_call_resolution", "First-call resolution"),
    ("resolution.repeat_answers", "resolution.repeat_answers", "Repeat callers answered"),
    ("resolution.repeat_answers", "resolution.by_last_agent",
     "Repeat callers answered by their last agent"),
)
FEATURE_CAPTION = (
    "Transfer rates by kind: calls transferred that way / calls answered. Callback service "
    "level: callbacks connected within the threshold, waits counted from first joining the "
    "queue to the connection, / callbacks requested. First-call resolution: calls not "
    "followed by another from the same number within {window} of their end / calls from "
    "known numbers"
)
ROUTED_AWAY_CAPTION = (
    "Blacklisted, closed and agent unreachable: calls routing sent away before any queue, "
    "counted as offered but not as blocked."
)
# Beside the center's rows, only in a report with IVR figures.
IVR_CENTER_ROWS = (
    ("ivr.center.completed", "Completed in the IVR"),
    ("ivr.center.hung_up", "Hung up by the IVR"),
    ("ivr.center.abandoned", "Abandoned in the IVR"),
    ("ivr.center.answer_rate", "Answer rate, IVR completions included"),
)
IVR_COLUMNS = (
    ("entered", "Entered"),
    ("completed", "Completed"),
    ("hung_up", "Hung up"),
    ("abandoned", "Abandoned"),
    ("to_queue", "To queue"),
    ("other_exits", "Other exits"),
    ("to_flow", "To flow"),
    ("in_ivr", "In IVR"),
    ("mean_time", "Mean time"),
    ("answer_rate", "Answer rate"),
)
IVR_INTERVAL_COLUMNS = (
    ("entered", "Entered"),
    ("completed", "Completed"),
    ("abandoned", "Abandoned"),
    ("to_queue", "To queue"),
    ("mean_time", "Mean time"),
    ("answer_rate", "Answer rate"),
)
NODE_COLUMNS = (("visits", "Visits"), ("mean_time", "Mean time"))
IVR_CAPTION = (
    "IVR answer rate = (completed in the IVR + answered by agents) / offered; a flow's, of "
    "the calls that entered it. Mean time: in the IVR, or in a flow's nodes, per call "
    "that entered it."
)

QUEUE_COLUMNS = (
    ("offered", "Offered"),
    ("answered", "Answered"),
    ("abandoned", "Abandoned"),
    ("short_abandoned", "Short ab."),
    ("overflowed_out", "Overflowed"),
    ("service_level", "SL"),
    ("asa", "ASA"),
    ("abandon_rate", "Abandon rate"),
    ("aht", "AHT"),
)
INTERVAL_COLUMNS = (
    ("offered", "Offered"),
    ("answered", "Answered"),
    ("abandoned", "Abandoned"),
    ("service_level", "SL"),
    ("asa", "ASA"),
    ("agents_logged_in_avg", "Agents"),
    ("occupancy", "Occupancy"),
)
AGENT_COLUMNS = (
    ("logged_in_time", "Logged in"),
    ("ready_time", "Ready"),
    ("talk_time", "Talk"),
    ("hold_time", "Hold"),
    ("wrap_up_time", "Wrap-up"),
    ("not_ready_time", "Not ready"),
    ("calls_handled", "Handled"),
    ("ring_no_answer", "No answer"),
    ("occupancy", "Occupancy"),
    ("calls_per_hour", "Calls/h"),
)

OCCUPANCY_CAPTION = (
    "Occupancy = (talk + hold + wrap-up) / (talk + hold + wrap-up + ready + ringing); "
    "the talk + hold only variant leaves wrap-up out of the numerator."
)


def report_console(as_json: bool) -> Console:
    """The console a report prints its tables and notes on: stderr when stdout carries JSON;
    150 columns when it is a file or a pipe, so that tables stay whole."""
    console = Console(stderr=as_json)
    if not console.is_terminal:
        console.width = 150
    return console


def print_kpis(
    data: KpiReport | ReplicationSummary,
    console: Console,
    *,
    title: str,
    as_json: bool,
    header: Mapping[str, object],
    trailer: Mapping[str, object] | None = None,
) -> None:
    """A report as ``ccbox sim`` and ``ccbox report`` print it: the tables under ``title``,
    or on stdout one JSON object of ``header``, the figures under "report", then ``trailer``."""
    if not as_json:
        render_report(data, console, title=title)
        return
    document = {**header, "report": data.to_dict(), **(trailer or {})}
    json.dump(document, sys.stdout, indent=1)
    sys.stdout.write("\n")


def render_report(
    report_or_summary: KpiReport | ReplicationSummary,
    console: Console,
    *,
    title: str,
    max_agents: int = 30,
) -> None:
    """Print the center, queue, interval and agent tables of a report or summary.

    A summary shows "mean ± half-width" of its confidence interval and, per
    center figure, how many replications defined it. The agent table lists all
    agents when there are at most ``max_agents``, else the ``max_agents`` who
    handled the most calls.
    """
    source = ReportCells(report_or_summary)
    notes: list[str] = []
    tables = [_center_table(source, title), _queue_table(source, title)]
    if source.flows is not None:
        tables += _ivr_tables(source, title)
    tables += [_interval_table(source, title), _agent_table(source, title, max_agents)]
    tables += _survey_tables(source, title)
    tables += _voicemail_tables(source, title)
    tables += _port_tables(source, title)
    tables += _feature_tables(source, title)
    for table in tables:
        # Definitions once, under all the tables and as wide as the terminal,
        # rather than squeezed under each narrow table.
        for sentence in str(table.caption or "").split(". "):
            sentence = sentence.strip().rstrip(".")
            if sentence and sentence not in notes:
                notes.append(sentence)
        table.caption = None
        console.print(table)
    if notes:
        console.print("Definitions: " + ". ".join(notes) + ".", highlight=False)


class ReportCells:
    """Formatted cells by flat key, from a report or from a summary."""

    def __init__(self, data: KpiReport | ReplicationSummary) -> None:
        self.settings: KpiSettings = data.settings
        if isinstance(data, ReplicationSummary):
            self.summary: ReplicationSummary | None = data
            self.queues = data.queues
            self.agents = data.agents
            self.intervals = data.intervals
            self.values = {key: figure.mean for key, figure in data.figures.items()}
        else:
            self.summary = None
            self.queues = list(data.queues)
            self.agents = list(data.agents)
            self.intervals = [interval.label for interval in data.intervals]
            self.values = flatten(data)
        self.flows = ivr_flows(self.values)
        self.routed_away = [row for row in ROUTED_AWAY_ROWS if self.values.get(row[0])]
        rows = _insert(CENTER_ROWS, "center.no_route", self.routed_away)
        if self.flows is not None:
            rows = _insert(rows, "center.answer_rate", IVR_CENTER_ROWS)
        self.features = [(key, name) for shown, key, name in FEATURE_ROWS
                         if self.values.get(shown)]
        self.center_rows = (*rows, *self.features)
        shown = [column for column in ROUTED_AWAY_COLUMNS
                 if self.values.get(f"center.{column[0]}")]
        self.interval_columns = _insert(INTERVAL_COLUMNS, "abandoned", shown)

    def ivr_rows(self) -> list[tuple[str, str]]:
        """(row name, key prefix) of the IVR table: all flows together, then each flow."""
        return [("All", "ivr.center"), *((f, f"ivr.flow.{f}") for f in self.flows or ())]

    def node_rows(self) -> list[tuple[str, str]]:
        """("flow/node", key prefix) of every node the figures name, flow by flow."""
        rows = []
        for flow in self.flows or ():
            prefix = f"ivr.flow.{flow}.node."
            nodes = [k[len(prefix):-len(".visits")] for k in self.values
                     if k.startswith(prefix) and k.endswith(".visits")]
            rows += [(f"{flow}/{node}", f"{prefix}{node}") for node in nodes]
        return rows

    def cell(self, key: str, separator: str = " ") -> str:
        """The figure's text; for a summary the half-width follows after ``separator``."""
        kind = key.rsplit(".", 1)[-1]
        if self.summary is None:
            return format_value(kind, self.values.get(key))
        return format_summary(kind, self.summary.figures.get(key), separator)

    def column_cell(self, key: str) -> str:
        """A cell of a many-column table: a summary's half-width goes on a second line."""
        return self.cell(key, "\n")

    def count(self, key: str) -> str:
        """How many replications define the figure (a summary's only)."""
        assert self.summary is not None
        figure = self.summary.figures.get(key)
        return str(figure.n if figure is not None else 0)


def _insert(rows: Sequence[tuple[str, str]], after: str,
            more: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """``rows`` with ``more`` after the row keyed ``after``."""
    at = [key for key, _ in rows].index(after) + 1
    return (*rows[:at], *more, *rows[at:])


def ivr_flows(values: Mapping[str, object]) -> list[str] | None:
    """The flows named by flat figures (sorted); None when they hold no IVR figures."""
    if "ivr.center.entered" not in values:
        return None
    prefix, suffix = "ivr.flow.", ".entered"
    return sorted(k[len(prefix):-len(suffix)] for k in values
                  if k.startswith(prefix) and k.endswith(suffix) and ".node." not in k)


def format_value(kind: str, value: float | None) -> str:
    """A figure as shown: "83.4 %" for rates, "12.3 s" for times, "-" when undefined."""
    if value is None:
        return "-"
    if kind in RATES:
        return f"{value * 100:.1f} %"
    if kind in TIMES:
        return f"{value:.1f} s"
    if kind in DURATIONS:
        minutes, seconds = divmod(round(value), 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours}:{minutes:02d}:{seconds:02d}"
    if kind in MEANS or isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def format_summary(kind: str, figure: FigureSummary | None, separator: str = " ") -> str:
    """ "mean ± half-width" in the figure's unit; the mean alone when n < 2."""
    if figure is None or figure.mean is None:
        return "-"
    mean = format_value(kind, float(figure.mean))
    if figure.half_width is None:
        return mean
    return f"{mean}{separator}± {format_value(kind, figure.half_width)}"


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _thresholds(default: float, pick: Callable[[str], float], queues: list[str]) -> str:
    """ "20 s", or "20 s (sales 30 s)" when queues have their own threshold."""
    own = [f"{q} {_seconds(pick(q))}" for q in queues if pick(q) != default]
    return f"{_seconds(default)} ({', '.join(own)})" if own else _seconds(default)


def _captions(source: ReportCells) -> tuple[str, str]:
    settings = source.settings
    sl = _thresholds(settings.default_sl_threshold, settings.sl_threshold, source.queues)
    short = _thresholds(settings.default_short_abandon, settings.short_abandon, source.queues)
    return (
        f"Service level: answered within the answering queue's threshold, {sl}, "
        "/ calls that entered a queue.",
        f"Abandon rate and average abandon time leave out short abandons (wait <= {short}).",
    )


def _center_table(source: ReportCells, title: str) -> Table:
    sl_caption, short_caption = _captions(source)
    window = _seconds(source.settings.repeat_window)
    table = Table(
        title=f"{title}: center" + _replications(source),
        caption=f"{sl_caption} {short_caption} {OCCUPANCY_CAPTION}"
        + (f" {ROUTED_AWAY_CAPTION}" if source.routed_away else "")
        + (". " + FEATURE_CAPTION.format(window=window) if source.features else ""),
        caption_justify="left",
    )
    table.add_column("Figure")
    if source.summary is None:
        table.add_column("Value", justify="right")
    else:
        table.add_column(f"Mean ± {_confidence(source)} CI half-width", justify="right")
        table.add_column("n", justify="right")
    for key, name in source.center_rows:
        row = [name, source.cell(key)]
        if source.summary is not None:
            row.append(source.count(key))
        table.add_row(*row)
    return table


def _queue_table(source: ReportCells, title: str) -> Table:
    sl_caption, short_caption = _captions(source)
    table = Table(
        title=f"{title}: queues" + _replications(source),
        caption="Each entry into a queue counts once; waits run from entering that queue. "
        f"{sl_caption} {short_caption}",
        caption_justify="left",
    )
    table.add_column("Queue")
    for _, name in QUEUE_COLUMNS:
        table.add_column(name, justify="right")
    for queue in source.queues:
        table.add_row(
            queue, *(source.column_cell(f"queue.{queue}.{key}") for key, _ in QUEUE_COLUMNS)
        )
    return table


def _interval_table(source: ReportCells, title: str) -> Table:
    sl_caption, _ = _captions(source)
    table = Table(
        title=f"{title}: intervals" + _replications(source),
        caption=f"Calls count in the interval they were offered in. {sl_caption} "
        f"Agents: mean number logged in. {OCCUPANCY_CAPTION}",
        caption_justify="left",
    )
    table.add_column("Interval")
    columns = source.interval_columns
    for _, name in columns:
        table.add_column(name, justify="right")
    for label in source.intervals:
        cells = (source.column_cell(f"interval.{label}.{key}") for key, _ in columns)
        table.add_row(label, *cells)
    return table


def _ivr_tables(source: ReportCells, title: str) -> list[Table]:
    flows = _columns_table(f"{title}: IVR", "Flow", IVR_COLUMNS, source, source.ivr_rows())
    flows.caption = IVR_CAPTION
    nodes = _columns_table(f"{title}: IVR nodes", "Node", NODE_COLUMNS, source,
                           source.node_rows())
    rows = [(label, f"ivr.interval.{label}") for label in source.intervals]
    intervals = _columns_table(f"{title}: IVR by interval", "Interval", IVR_INTERVAL_COLUMNS,
                               source, rows)
    return [flows, nodes, intervals]


SURVEY_COLUMNS = (("scored", "Scored"), ("mean_score", "Mean score"))


def _survey_tables(source: ReportCells, title: str) -> list[Table]:
    """Post-call survey scores per queue and per agent; none when no caller scored."""
    tables = []
    for part, heading in (("queue", "Queue"), ("agent", "Agent")):
        prefix, suffix = f"survey.{part}.", ".scored"
        names = [k[len(prefix):-len(suffix)] for k in source.values
                 if k.startswith(prefix) and k.endswith(suffix)]
        if names:
            tables.append(_columns_table(f"{title}: survey by {part}", heading,
                                         SURVEY_COLUMNS, source,
                                         [(name, f"{prefix}{name}") for name in names]))
    return tables


VOICEMAIL_COLUMNS = (("messages", "Messages left"), ("mean_seconds", "Mean length"))


def _voicemail_tables(source: ReportCells, title: str) -> list[Table]:
    """Voicemail messages left per mailbox; none when no message was left."""
    prefix, suffix = "voicemail.", ".messages"
    names = [k[len(prefix):-len(suffix)] for k in source.values
             if k.startswith(prefix) and k.endswith(suffix)]
    if not names:
        return []
    return [_columns_table(f"{title}: voicemail by mailbox", "Mailbox", VOICEMAIL_COLUMNS,
                           source, [(name, f"{prefix}{name}") for name in names])]


PORT_COLUMNS = (("calls", "Calls on ports"), ("answer_delay_mean", "Extra answer delay"),
                ("lost_rings", "Lost rings"), ("late_releases", "Late hang-ups"),
                ("late_seconds", "Seized after hang-up"), ("blocked", "Blocked"),
                ("line_busy", "Line busy"), ("failures", "Port failures"),
                ("calls_lost", "Calls lost to failures"))


def _port_tables(source: ReportCells, title: str) -> list[Table]:
    """What the gateway ports cost per trunk group; none for a site without gateways."""
    prefix, suffix = "ports.", ".calls"
    names = [k[len(prefix):-len(suffix)] for k in source.values
             if k.startswith(prefix) and k.endswith(suffix)]
    if not names:
        return []
    table = _columns_table(f"{title}: gateway ports by trunk group", "Trunk group",
                           PORT_COLUMNS, source, [(name, f"{prefix}{name}") for name in names])
    table.caption = ("Extra answer delay: mean seconds a call rang on its port before it could "
                     "be answered (caller ID on analog lines). Lost rings: callers who hung up "
                     "while the port rang, before it could offer the call. Seized after "
                     "hang-up: seconds ports stayed busy after far-end hang-ups they noticed late")
    return [table]


QUEUE_FEATURE_COLUMNS = (
    ("transferred_to_queue", "To queue"),
    ("transferred_to_agent", "To agent"),
    ("transferred_attended", "Attended"),
    ("transferred_to_extension", "To phone"),
    ("transferred_outside", "Outside"),
    ("recalls", "Recalled"),
    ("callbacks_offered", "CB offered"),
    ("callbacks_requested", "CB requested"),
    ("callbacks_connected", "CB connected"),
    ("callback_given_up", "CB given up"),
    ("callback_service_level", "CB SL"),
)
SUPERVISOR_COLUMNS = (("sessions", "Sessions"), ("listen", "Listen"), ("whisper", "Whisper"),
                      ("barge", "Barge"), ("forced_off", "Forced off"),
                      ("mean_seconds", "Mean length"))
ROOM_COLUMNS = (("joins", "Joins"), ("parties", "Parties"), ("mean_seconds", "Mean stay"))
# Then a column for each final outcome (connected among them).
CAMPAIGN_COLUMNS = (("numbers_done", "Numbers done"), ("attempts", "Attempts"))


def _feature_tables(source: ReportCells, title: str) -> list[Table]:
    """Transfers and callbacks per queue, supervision per supervisor, conference joins per
    room and campaign outcomes per campaign: each only where the records hold some."""
    tables = []
    if any(source.values.get(f"center.{key}") for key, _ in QUEUE_FEATURE_COLUMNS):
        tables.append(_columns_table(f"{title}: transfers and callbacks by queue", "Queue",
                                     QUEUE_FEATURE_COLUMNS, source,
                                     [(q, f"queue.{q}") for q in source.queues]))
    for part, heading, columns in (("supervisor", "Supervisor", SUPERVISOR_COLUMNS),
                                   ("room", "Room", ROOM_COLUMNS),
                                   ("campaign", "Campaign", CAMPAIGN_COLUMNS)):
        names = _named(source, f"{part}.", f".{columns[0][0]}")
        if names:
            if part == "campaign":
                columns = (*columns, *_outcome_columns(source, names))
            tables.append(_columns_table(f"{title}: {part}s", heading, columns, source,
                                         [(name, f"{part}.{name}") for name in names]))
    return tables


def _named(source: ReportCells, prefix: str, suffix: str) -> list[str]:
    return [k[len(prefix):-len(suffix)] for k in source.values
            if k.startswith(prefix) and k.endswith(suffix)]


def _outcome_columns(source: ReportCells, campaigns: list[str]) -> list[tuple[str, str]]:
    """A column for each final outcome any campaign's numbers reached."""
    outcomes = sorted({k.rsplit(".", 1)[1] for c in campaigns for k in source.values
                       if k.startswith(f"campaign.{c}.outcome.")})
    return [(f"outcome.{o}", o.replace("_", " ").capitalize()) for o in outcomes]


def _columns_table(title: str, first: str, columns: tuple[tuple[str, str], ...],
                   source: ReportCells, rows: list[tuple[str, str]]) -> Table:
    table = Table(title=title + _replications(source), caption_justify="left")
    table.add_column(first)
    for _, name in columns:
        table.add_column(name, justify="right")
    for name, prefix in rows:
        table.add_row(name, *(source.column_cell(f"{prefix}.{key}") for key, _ in columns))
    return table


def _agent_table(source: ReportCells, title: str, max_agents: int) -> Table:
    agents = source.agents
    caption = OCCUPANCY_CAPTION + " Times are totals over the window."
    if len(agents) > max_agents:

        def handled(agent: str) -> float:
            return source.values.get(f"agent.{agent}.calls_handled") or 0

        agents = sorted(agents, key=lambda agent: (-handled(agent), agent))[:max_agents]
        caption += f" Top {max_agents} of {len(source.agents)} agents by calls handled."
    table = Table(
        title=f"{title}: agents" + _replications(source), caption=caption, caption_justify="left"
    )
    table.add_column("Agent")
    for _, name in AGENT_COLUMNS:
        table.add_column(name, justify="right")
    for agent in agents:
        table.add_row(
            agent, *(source.column_cell(f"agent.{agent}.{key}") for key, _ in AGENT_COLUMNS)
        )
    table.add_section()
    table.add_row("All", *(source.column_cell(f"agents.{key}") for key, _ in AGENT_COLUMNS))
    return table


def _replications(source: ReportCells) -> str:
    if source.summary is None:
        return ""
    return f" ({source.summary.replications} replications)"


def _confidence(source: ReportCells) -> str:
    assert source.summary is not None
    return f"{source.summary.confidence * 100:g} %"
