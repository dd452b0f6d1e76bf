"""The bounded per-source table: the least recently active key goes first, never the one just
added, and reading does not change the order."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.pbx.sip.sourcetable import SourceTable, check_max_tracked


def test_the_least_recently_active_key_is_dropped_beyond_the_bound() -> None:
    table: SourceTable[str, int] = SourceTable(2)
    table.add("a", 1)
    table.add("b", 2)
    table.mark_active("a")
    table.add("c", 3)
    assert "b" not in table
    assert list(table.values()) == [1, 3]
    assert table.oldest() == ("a", 1)


def test_adding_a_known_key_replaces_its_value_and_makes_it_active() -> None:
    table: SourceTable[str, int] = SourceTable(3)
    for key in "abc":
        table.add(key, 0)
    assert table.add("a", 9) == 9
    assert table.oldest() == ("b", 0)
    assert len(table) == 3


def test_reading_keeps_the_order() -> None:
    table: SourceTable[str, int] = SourceTable(2)
    table.add("a", 1)
    table.add("b", 2)
    assert table.get("a") == 1 and table.get("z") is None
    table.add("c", 3)
    assert table.oldest() == ("b", 2)


def test_a_smaller_bound_takes_effect_at_the_next_add() -> None:
    table: SourceTable[str, int] = SourceTable(4)
    for value, key in enumerate("abcd"):
        table.add(key, value)
    table.max_tracked = 2
    assert len(table) == 4
    table.add("e", 4)
    assert list(table.values()) == [3, 4]


def test_discard_forgets_a_key_and_ignores_an_unknown_one() -> None:
    table: SourceTable[str, int] = SourceTable(2)
    table.add("a", 1)
    table.discard("a")
    table.discard("a")
    assert len(table) == 0 and table.oldest() is None


@pytest.mark.parametrize("bound", [0, -1])
def test_the_bound_is_checked(bound: int) -> None:
    with pytest.raises(ValueError):
        check_max_tracked(bound)
    with pytest.raises(ValueError):
        SourceTable(bound)


OPERATIONS = st.lists(st.tuples(st.sampled_from(["add", "mark_active", "discard"]),
                                st.integers(0, 7)), max_size=60)


@given(bound=st.integers(1, 5), operations=OPERATIONS)
def test_the_table_holds_the_most_recently_active_keys(
        bound: int, operations: list[tuple[str, int]]) -> None:
    """Against a model: the keys in order of their last add or mark_active, the newest `bound`
    of those added since they were last dropped."""
    table: SourceTable[int, int] = SourceTable(bound)
    model: list[int] = []
    for operation, key in operations:
        if operation == "add":
            table.add(key, key)
            model = [k for k in model if k != key] + [key]
            model = model[-bound:]
        elif key in model:  # mark_active needs a key in the table
            getattr(table, operation)(key)
            model.remove(key)
            model += [key] if operation == "mark_active" else []
        assert list(table.values()) == model
        assert len(table) <= bound
