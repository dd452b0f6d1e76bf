"""Inbound routing: the blacklist, routes by trunk group, line, called and calling number and
caller list, weekly schedules with a holiday calendar, and the call's priority.

`Router` (rules.py) decides; `opening_at` and `Calendar` (schedule.py) say whether a schedule
is open at a local date and time. The configuration they read is `appliance.config.routing`.
"""

from appliance.pbx.routing.rules import BLACKLISTED, Decision, Kind, Numbers, Router, Target
from appliance.pbx.routing.schedule import Calendar, Opening, opening_at

__all__ = ["BLACKLISTED", "Calendar", "Decision", "Kind", "Numbers", "Opening", "Router",
           "Target", "opening_at"]
