"""Expressions of IVR nodes: `${VAR}` substitution, the built-in variables and comparisons."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from datetime import datetime

from appliance.config.ivr import VARIABLE_REFERENCE

_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")

_ORDER: dict[str, Callable[[object, object], bool]] = {
    "lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge,
}


def substitute(expression: str, values: Mapping[str, str]) -> str:
    """`expression` with every `${NAME}` replaced by `values[NAME]` ("" if it has none: a
    loaded flow only names variables that exist)."""
    return VARIABLE_REFERENCE.sub(lambda match: values.get(match.group(1), ""), expression)


def builtins(moment: datetime, ani: str, dnis: str) -> dict[str, str]:
    """The built-in variables of a call at the local date and time `moment`."""
    date = f"{moment.year:04d}{moment.month:02d}{moment.day:02d}"
    time = f"{moment.hour:02d}{moment.minute:02d}{moment.second:02d}"
    return {"DNIS": dnis, "ANI": ani, "DATE": date, "TIME": time, "DATETIME": date + time}


def compare(op: str, left: str, right: str) -> bool:
    """VAR COMPARE's test. eq and ne compare text ("0123" is not "123": PINs and account
    numbers keep their zeros); lt, le, gt and ge compare numbers when both sides are numbers,
    else text; prefix: `left` starts with `right`; empty: `left` is ""."""
    if op == "eq":
        return left == right
    if op == "ne":
        return left != right
    if op == "prefix":
        return left.startswith(right)
    if op == "empty":
        return left == ""
    if _NUMBER.fullmatch(left) and _NUMBER.fullmatch(right):
        return _ORDER[op](float(left), float(right))
    return _ORDER[op](left, right)
