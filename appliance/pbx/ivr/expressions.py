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


_DATED = ("DATE", "TIME", "DATETIME")


class Values:
    """The variables an expression reads at one moment: `values` (a call's own, ANI and
    DNIS), and DATE, TIME and DATETIME, from `moment()` only when one of them is read."""

    __slots__ = ("_dated", "_moment", "_values")

    def __init__(self, values: dict[str, str], moment: Callable[[], datetime]) -> None:
        self._values = values
        self._moment = moment
        self._dated = False  # most expressions read no date: spare the clock and formatting

    def get(self, name: str, default: str = "") -> str:
        if name in _DATED and not self._dated:
            self._values.update(dated(self._moment()))
            self._dated = True
        return self._values.get(name, default)


def substitute(expression: str, values: Mapping[str, str] | Values) -> str:
    """`expression` with every `${NAME}` replaced by `values[NAME]` ("" if it has none: a
    loaded flow only names variables that exist)."""
    return VARIABLE_REFERENCE.sub(lambda match: values.get(match.group(1), ""), expression)


def builtins(moment: datetime, ani: str, dnis: str) -> dict[str, str]:
    """The built-in variables of a call at the local date and time `moment`."""
    return {"DNIS": dnis, "ANI": ani, **dated(moment)}


def dated(moment: datetime) -> dict[str, str]:
    """DATE, TIME and DATETIME at the local date and time `moment`."""
    date = f"{moment.year:04d}{moment.month:02d}{moment.day:02d}"
    time = f"{moment.hour:02d}{moment.minute:02d}{moment.second:02d}"
    return {"DATE": date, "TIME": time, "DATETIME": date + time}


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
