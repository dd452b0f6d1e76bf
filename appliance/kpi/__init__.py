"""Operating figures (DOMAIN.md) computed from the event log, for simulation and the box.

``compute_kpis(records, settings)`` is a pure function of the records: no clock, no
simulation; it adds up the facts of the one per-call reduction (``appliance.reduce``) that
detail records are written from too. ``summarize(reports)`` pools replications of a
simulation into means with 95 % confidence intervals; ``render_report`` prints either as
tables.
"""

from appliance.kpi.compute import compute_kpis
from appliance.kpi.render import render_report
from appliance.kpi.replications import FigureSummary, ReplicationSummary, flatten, summarize
from appliance.kpi.report import CENTER_ENDS, AgentStats, CallStats, IntervalStats, KpiReport
from appliance.kpi.settings import KpiSettings, QueueKpiSettings

__all__ = [
    "CENTER_ENDS",
    "AgentStats",
    "CallStats",
    "FigureSummary",
    "IntervalStats",
    "KpiReport",
    "KpiSettings",
    "QueueKpiSettings",
    "ReplicationSummary",
    "compute_kpis",
    "flatten",
    "render_report",
    "summarize",
]
