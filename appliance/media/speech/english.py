"""Numbers and dollar amounts in English words, as prompt names.

American style: "one thousand two hundred thirty-four" (no "and" inside a number), hyphenated
tens as two prompts ("num-30", "digit-4"). The words 0-9 are the digit prompts.
"""

from __future__ import annotations

_SCALES = ((10**9, "num-billion"), (10**6, "num-million"), (1000, "num-thousand"))


def integer(number: int) -> list[str]:
    """The words of 0 <= `number` < 10**12: "zero", else groups of three digits, each but
    the last followed by its scale word when not zero ("one million five")."""
    if number == 0:
        return ["digit-0"]
    words: list[str] = []
    for scale, name in _SCALES:
        count, number = divmod(number, scale)
        if count:
            words += [*_below_thousand(count), name]
    return words + _below_thousand(number)


def money(dollars: int, cents: int) -> list[str]:
    """An amount: "twelve dollars and thirty cents", "one dollar", "five cents" (no zero
    dollars before cents alone), "zero dollars"."""
    in_dollars = [*integer(dollars), "money-dollar" if dollars == 1 else "money-dollars"]
    if cents == 0:
        return in_dollars
    in_cents = [*integer(cents), "money-cent" if cents == 1 else "money-cents"]
    return [*in_dollars, "money-and", *in_cents] if dollars else in_cents


def _below_thousand(number: int) -> list[str]:
    """1-999 ("one hundred five"); nothing for 0."""
    hundreds, rest = divmod(number, 100)
    words = [f"digit-{hundreds}", "num-hundred"] if hundreds else []
    return words + _below_hundred(rest)


def _below_hundred(number: int) -> list[str]:
    if number < 10:
        return [f"digit-{number}"] if number else []
    if number < 20:
        return [f"num-{number}"]
    tens, ones = divmod(number, 10)
    return [f"num-{tens * 10}", *_below_hundred(ones)]
