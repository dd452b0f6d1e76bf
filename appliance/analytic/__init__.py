"""Analytic queueing models for sizing: Erlang B for trunks, Erlang C and Erlang A for agents.

Pure functions of their arguments; loads in Erlangs, rates in calls per second, times in
seconds. Invalid arguments raise ValueError.
"""

from appliance.analytic.erlang import (
    agents_for_service_level,
    erlang_b,
    erlang_c,
    erlang_c_asa,
    erlang_c_service_level,
    rule_of_thumb_agents,
    trunks_for_blocking,
)
from appliance.analytic.erlang_a import ErlangAResult, agents_for_erlang_a, erlang_a

__all__ = [
    "ErlangAResult",
    "agents_for_erlang_a",
    "agents_for_service_level",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "erlang_c_asa",
    "erlang_c_service_level",
    "rule_of_thumb_agents",
    "trunks_for_blocking",
]
