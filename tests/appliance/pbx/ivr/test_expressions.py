"""Substitution, built-ins and VAR COMPARE's operators."""

from datetime import datetime

import pytest

from appliance.pbx.ivr.expressions import builtins, compare, substitute


def test_substitute_replaces_every_reference() -> None:
    assert substitute("${A}-${B}-${A}", {"A": "1", "B": "x"}) == "1-x-1"
    assert substitute("no refs", {}) == "no refs"


def test_builtins_are_the_numbers_and_the_local_date_and_time() -> None:
    assert builtins(datetime(2026, 1, 9, 7, 5, 3), "138", "400") == {
        "DNIS": "400", "ANI": "138", "DATE": "20260109", "TIME": "070503",
        "DATETIME": "20260109070503"}


@pytest.mark.parametrize(("op", "left", "right", "expected"), [
    ("eq", "0123", "0123", True),
    ("eq", "0123", "123", False),  # PINs keep their zeros
    ("ne", "1", "2", True),
    ("lt", "9", "10", True),  # numbers compare as numbers
    ("lt", "b", "a", False),  # text as text
    ("le", "2.5", "2.50", True),
    ("gt", "-1", "-2", True),
    ("ge", "abc", "abc", True),
    ("prefix", "13800", "138", True),
    ("prefix", "010", "138", False),
    ("empty", "", "ignored", True),
    ("empty", "0", "", False),
])
def test_compare(op: str, left: str, right: str, expected: bool) -> None:
    assert compare(op, left, right) is expected
