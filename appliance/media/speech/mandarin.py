"""Numbers and yuan amounts in Mandarin, as prompt names.

Read in sections of four digits (个, 万, 亿), the standard spoken forms:
- 零 once for any run of zeros inside the number, never at its end: 一百零五 (105),
  一千零五十 (1050), 一万零五 (10,005), 一亿零五万 (100,050,000);
- 两 for a 2 before 百, 千, 万, 亿 and a measure word (两百, 两千, 两万, 两亿, 两元), 二 elsewhere
  (二十, 十二, 二 alone);
- 十 alone at the very start (十二, 十万) but 一十 inside a number (一百一十, 一万零一十).
The words 零 to 九 are the digit prompts.
"""

from __future__ import annotations

_SECTIONS = ((10**8, "num-hundred-million"), (10**4, "num-ten-thousand"), (1, None))
_PLACES = ((1000, "num-thousand"), (100, "num-hundred"), (10, "num-10"), (1, None))
_ZERO = "digit-0"


def integer(number: int) -> list[str]:
    """The words of 0 <= `number` < 10**12 (the 亿 section holds up to 9999)."""
    if number == 0:
        return [_ZERO]
    words: list[str] = []
    skipped = False  # a zero section since the last words: the next words start with 零
    for size, unit in _SECTIONS:
        section, number = divmod(number, size)
        if section == 0:
            skipped = bool(words)
            continue
        if words and (skipped or section < 1000):
            words.append(_ZERO)
        words += _section(section, unit, first=not words)
        skipped = False
    return words


def money(yuan: int, fen: int) -> list[str]:
    """An amount in 元, 角, 分: 十二元三角 (12.30), 一百元零七分 (100.07), 五分 (0.05),
    一元 (1.00), 零元 (0.00)."""
    jiao, fen = divmod(fen, 10)
    words = [*_measured(yuan), "money-yuan"] if yuan or not (jiao or fen) else []
    if jiao:
        words += [*_measured(jiao), "money-jiao"]
    if fen:
        words += [_ZERO] if words and not jiao else []
        words += [*_measured(fen), "money-fen"]
    return words


def _measured(count: int) -> list[str]:
    """A count before a measure word: 两 for exactly two (两元, 两角)."""
    return ["num-liang"] if count == 2 else integer(count)


def _section(section: int, unit: str | None, first: bool) -> list[str]:
    """1-9999 followed by its section's unit (万, 亿); `first` when it opens the number."""
    if section == 2 and unit is not None:
        return ["num-liang", unit]
    words: list[str] = []
    zeros = False  # a zero place since the last words
    for size, name in _PLACES:
        digit, section = divmod(section, size)
        if digit == 0:
            zeros = bool(words)
            continue
        words += [_ZERO] if zeros else []
        words += _place(digit, size, name, first=first and not words)
        zeros = False
    return words + ([unit] if unit else [])


def _place(digit: int, size: int, name: str | None, first: bool) -> list[str]:
    """One non-zero digit and its place's word: 两千, 五十, 十 (one ten, opening a number)."""
    if size == 10 and digit == 1 and first:
        return [name]
    count = "num-liang" if digit == 2 and size >= 100 else f"digit-{digit}"
    return [count, name] if name else [count]
