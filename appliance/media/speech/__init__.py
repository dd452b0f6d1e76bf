"""PLAY NUMBER: the prompt names that speak a value, one word after another.

`say(value, say_as, language)` reads a digit string digit by digit, an integer as a number
("one thousand and five" in its language's grammar) or an amount of money in the site's
currency (dollars and cents in English, yuan, jiao and fen in Mandarin). The names are those
of the language's default prompt set (`appliance.media.prompts.default_prompt_texts`): the
digit prompts and the language's `NUMBER_WORDS`, which a site that records its own prompts
and reads numbers out records too. Pure: no I/O, the same value always gives the same names.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from types import ModuleType

from appliance.media.speech import english, mandarin

LARGEST = 10**12 - 1
"""The largest integer (and whole part of an amount) `say` speaks: 999,999,999,999."""

SAY_AS = ("digits", "integer", "money")
LANGUAGES: dict[str, ModuleType] = {"en": english, "zh": mandarin}

_DIGITS = re.compile(r"[0-9*#]+")
_INTEGER = re.compile(r"(-?)([0-9]+)")
_MONEY = re.compile(r"(-?)([0-9]+)(?:\.([0-9]{1,2}))?")
_KEYS = {"*": "digit-star", "#": "digit-hash"}


def say(value: str, say_as: str, language: str) -> list[str]:
    """The prompt names that speak `value` as `say_as` in `language`.

    - "digits": each of 0-9, `*` and `#` in turn ("0042#").
    - "integer": an optional "-" and decimal digits, at most LARGEST ("-1205"); a negative
      number starts with the word "minus".
    - "money": an integer as above, optionally "." and one or two decimals ("1234.5" is
      1234.50); at most two decimals, never rounded.
    Raises ValueError, naming the value and what was expected, for anything else, for an
    unknown `say_as` and for a language without number words.
    """
    speaker = LANGUAGES.get(language)
    if speaker is None:
        raise ValueError(f"cannot say numbers in language {language!r} "
                         f"(have: {', '.join(LANGUAGES)})")
    reader = _READERS.get(say_as)
    if reader is None:
        raise ValueError(f"cannot say a value as {say_as!r} (have: {', '.join(SAY_AS)})")
    return reader(value, speaker)


def _digits(value: str, speaker: ModuleType) -> list[str]:
    if not _DIGITS.fullmatch(value):
        raise ValueError(f"{value!r} is not a digit string (digits 0-9, * and #)")
    return [_KEYS.get(key, f"digit-{key}") for key in value]


def _integer(value: str, speaker: ModuleType) -> list[str]:
    match = _INTEGER.fullmatch(value)
    if match is None:
        raise ValueError(f"{value!r} is not an integer (digits, optionally after a '-')")
    sign, whole = match.groups()
    number = _at_most_largest(value, whole)
    return _signed(sign, number == 0, speaker.integer(number))


def _money(value: str, speaker: ModuleType) -> list[str]:
    match = _MONEY.fullmatch(value)
    if match is None:
        raise ValueError(f"{value!r} is not an amount of money (like 1234.50: digits, "
                         f"optionally '-' before and '.' with one or two decimals after)")
    sign, whole, decimals = match.groups()
    units = _at_most_largest(value, whole)
    cents = int((decimals or "0").ljust(2, "0"))
    return _signed(sign, units == cents == 0, speaker.money(units, cents))


def _at_most_largest(value: str, whole: str) -> int:
    number = int(whole)
    if number > LARGEST:
        raise ValueError(f"{value!r} is too large to say (at most {LARGEST:,} in whole units)")
    return number


def _signed(sign: str, zero: bool, words: list[str]) -> list[str]:
    """The word "minus" before a negative value's words; minus zero is just zero."""
    return ["minus", *words] if sign and not zero else words


_READERS: dict[str, Callable[[str, ModuleType], list[str]]] = {
    "digits": _digits, "integer": _integer, "money": _money,
}
