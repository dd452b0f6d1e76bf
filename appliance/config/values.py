"""The value types and building blocks every part of the site configuration shares: frozen
models, names, numbers, and problems found across fields with their field paths.

Here, not in `schema.py`, so that the routing and IVR parts (`routing.py`, `ivr.py`), which
`schema.py` builds the site from, use the very same types without importing it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]

DAY = 86_400
"""Seconds in a day."""


class FieldProblems(ValueError):
    """Problems found by a check that looks at several fields at once, each at its own location
    relative to the model being checked. Pydantic wraps this error as a `value_error` at the
    model's location and keeps the instance in the error's context, so the loader can report
    every problem at its own field path."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{format_loc(loc)}: {msg}" for loc, msg in self.problems))


def format_loc(loc: Loc) -> str:
    """`("queues", 1, "strategy")` -> `"queues[1].strategy"`."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def raise_if_any(problems: Sequence[Problem]) -> None:
    if problems:
        raise FieldProblems(problems)


class Frozen(BaseModel):
    # Numbers are coerced to text so that a DNIS or an agent id written without quotes
    # (`dnis: 4008001234`, `id: 1001`) is still taken. inf and nan are never a sensible setting.
    model_config = ConfigDict(
        frozen=True, extra="forbid", allow_inf_nan=False, coerce_numbers_to_str=True
    )


# --- value types ----------------------------------------------------------------------------

_IDENTIFIER = re.compile(r"[A-Za-z0-9_-]+")


def _check_identifier(value: str) -> str:
    if not _IDENTIFIER.fullmatch(value):
        raise ValueError(f"expected a name of letters, digits, '_' and '-'; got {value!r}")
    return value


def _reject_bool(value: object) -> object:
    # Pydantic would quietly read `true` as 1, which is never what a number field means.
    if isinstance(value, bool):
        raise ValueError(f"expected a number; got {value!r}")
    return value


Identifier = Annotated[str, AfterValidator(_check_identifier)]
Number = Annotated[float, BeforeValidator(_reject_bool)]
Whole = Annotated[int, BeforeValidator(_reject_bool)]
PositiveNumber = Annotated[Number, Field(gt=0)]
Seconds = Annotated[Number, Field(ge=0)]
PositiveSeconds = PositiveNumber
Probability = Annotated[Number, Field(ge=0, le=1)]
