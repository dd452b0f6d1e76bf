"""A table in a CSV file: UTF-8 (a byte-order mark is allowed), comma separated, a header row of
column names, then one row per line. Read by the site's loader (is the file usable?) and by
the lookups (the rows to load), so that both read it the same way.

Every problem is a `TableError` whose message names the file and, for a row, its line.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class TableError(ValueError):
    """The file cannot be read as a table; the message says where and why."""


def columns(path: Path) -> list[str]:
    """The column names of the header row. TableError when the file is missing, unreadable,
    not UTF-8, empty, or a column name is empty or given twice."""
    with _reading(path), path.open(encoding="utf-8-sig", newline="") as file:
        return _header(next(csv.reader(file), None))


def rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line, values) for each row after the header, in order; blank lines are skipped and
    every row has one value per column. TableError for the first row that has not."""
    with _reading(path), path.open(encoding="utf-8-sig", newline="") as file:
        reader = csv.reader(file)
        names = _header(next(reader, None))
        for values in reader:
            if not values:
                continue
            if len(values) != len(names):
                raise TableError(f"line {reader.line_num}: expected {len(names)} values "
                                 f"({', '.join(names)}); got {len(values)}")
            yield reader.line_num, values


def _header(names: list[str] | None) -> list[str]:
    if not names:
        raise TableError("no header row; expected a first line of column names "
                         "separated by commas")
    for number, name in enumerate(names, start=1):
        if not name.strip():
            raise TableError(f"column {number} of the header has no name")
        if names.index(name) < number - 1:
            raise TableError(f"the header names the column {name!r} twice")
    return names


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Any failure to read the table as a TableError that starts with the file's name."""
    try:
        yield
    except TableError as error:
        raise TableError(f"{path}: {error}") from None
    except FileNotFoundError:
        raise TableError(f"{path}: no such file") from None
    except UnicodeDecodeError as error:
        # No byte offset: the decoder counts from the start of its chunk, not of the file.
        raise TableError(f"{path}: not UTF-8 text ({error.reason})") from None
    except OSError as error:
        raise TableError(f"{path}: {error.strerror or error}") from None
    except csv.Error as error:
        raise TableError(f"{path}: not CSV ({error})") from None
