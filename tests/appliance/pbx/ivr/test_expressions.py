"""Substitution, built-ins and VAR COMPARE's operators."""

from datetime import datetime

import pytest

from appliance.pbx.ivr.expressions import Values, builtins, compare, substitute


def test_substitute_replaces_every_reference() -> None:
    assert substitute("${A}-${B}-${A}", {"A": "1", "B": "x"}) == "1-x-1"
    assert substitute("no refs", {}) == "no refs"


def test_builtins_are_the_numbers_and_the_local_date_and_time() -> None:
    assert builtins(datetime(2026, 1, 9, 7, 5, 3), "138", "400") == {
        "DNIS": "400", "ANI": "138", "DATE": "20260109", "TIME": "070503",
        "DATETIME": "20260109070503"}


def test_values_read_the_clock_only_for_a_date_and_then_once() -> None:
    read: list[int] = []

    def moment() -> datetime:
        read.append(1)
        return datetime(2026, 1, 9, 7, 5, 3)

    values = Values({"PIN": "2468", "ANI": "138", "DNIS": "400"}, moment)
    assert substitute("${ANI}/${PIN}/${NONE}", values) == "138/2468/"
    assert read == []
    assert substitute("${DATE} ${TIME} ${DATETIME}", values) == "20260109 070503 20260109070503"
    assert read == [1]


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
