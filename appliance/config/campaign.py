"""A campaign's list of numbers: a CSV table (`appliance.csvtable`) with a `number` column and
any others, whose values go with the number as fields (an agent's screen and an IVR flow read
them like IVR variables). Read when the site is loaded (is the list usable?) and again when the
campaign starts, so that a list replaced on disk is the one dialed."""

from __future__ import annotations

import re
from pathlib import Path

from appliance import csvtable
from appliance.pbx.features.campaign import Contact

NUMBER_COLUMN = "number"
_NUMBER = re.compile(r"\+?[0-9]{1,32}")


def read_contacts(path: Path) -> list[Contact]:
    """The rows of the list, in order. `csvtable.TableError` naming the file, the line, the
    column and what was expected for a missing `number` column, a value that is not a
    number, or a number listed twice."""
    header = csvtable.columns(path)
    if NUMBER_COLUMN not in header:
        raise csvtable.TableError(f"{path}: the header has no column {NUMBER_COLUMN!r}; "
                                  f"expected it among the columns; got {', '.join(header)}")
    at = header.index(NUMBER_COLUMN)
    seen: dict[str, int] = {}
    contacts = []
    for line, values in csvtable.rows(path):
        number = values[at].strip().replace(" ", "")
        _check(path, line, number, seen)
        seen[number] = line
        fields = {name: value for name, value in zip(header, values, strict=True)
                  if name != NUMBER_COLUMN}
        contacts.append(Contact(number, fields))
    return contacts


def _check(path: Path, line: int, number: str, seen: dict[str, int]) -> None:
    if not _NUMBER.fullmatch(number):
        raise csvtable.TableError(f"{path}: line {line}: column {NUMBER_COLUMN!r}: expected "
                                  f"digits (a leading + allowed); got {number!r}")
    if number in seen:
        raise csvtable.TableError(f"{path}: line {line}: column {NUMBER_COLUMN!r}: expected "
                                  f"a number not listed before; got {number!r} again "
                                  f"(line {seen[number]})")
