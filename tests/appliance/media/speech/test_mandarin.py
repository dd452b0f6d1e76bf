"""Mandarin numbers and yuan amounts: tables of examples with the rules for 零, 两 and 十,
and every number spoken back through a reference converter of Chinese numerals gives the
number again, in its one standard spoken form."""

from __future__ import annotations

import re

import pytest
from hypothesis import given

from appliance.media.prompts import default_prompt_texts
from appliance.media.speech import mandarin

from .numbers import cents, integers

TEXTS = default_prompt_texts("zh")


def spoken(names: list[str]) -> str:
    return "".join(TEXTS[name] for name in names)


@pytest.mark.parametrize(("number", "words"), [
    (0, "零"),
    (2, "二"),
    (7, "七"),
    (10, "十"),
    (11, "十一"),
    (12, "十二"),
    (20, "二十"),
    (21, "二十一"),
    (100, "一百"),
    (101, "一百零一"),
    (105, "一百零五"),
    (110, "一百一十"),
    (115, "一百一十五"),
    (200, "两百"),
    (1000, "一千"),
    (1001, "一千零一"),
    (1010, "一千零一十"),
    (1050, "一千零五十"),
    (2000, "两千"),
    (2222, "两千两百二十二"),
    (10_005, "一万零五"),
    (10_010, "一万零一十"),
    (15_000, "一万五千"),
    (20_000, "两万"),
    (100_000, "十万"),
    (120_000, "十二万"),
    (1_234_567, "一百二十三万四千五百六十七"),
    (20_000_000, "两千万"),
    (100_000_000, "一亿"),
    (100_000_005, "一亿零五"),
    (100_050_000, "一亿零五万"),
    (100_005_000, "一亿零五千"),
    (100_100_000, "一亿零一十万"),
    (200_000_000, "两亿"),
    (1_000_000_000, "十亿"),
    (10**12 - 1, "九千九百九十九亿九千九百九十九万九千九百九十九"),
])
def test_integers_in_words(number: int, words: str) -> None:
    assert spoken(mandarin.integer(number)) == words


@pytest.mark.parametrize(("yuan", "fen", "words"), [
    (0, 5, "五分"),
    (0, 50, "五角"),
    (1, 0, "一元"),
    (0, 0, "零元"),
    (2, 22, "两元两角两分"),
    (12, 30, "十二元三角"),
    (1234, 56, "一千两百三十四元五角六分"),
    (100, 7, "一百元零七分"),
    (20_000, 0, "两万元"),
])
def test_amounts_in_yuan_jiao_fen(yuan: int, fen: int, words: str) -> None:
    assert spoken(mandarin.money(yuan, fen)) == words


# --- a reference converter: Chinese numerals back to the number ------------------------

_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
           "九": 9}
_PLACES = {"十": 10, "百": 100, "千": 1000}
_SECTIONS = {"万": 10**4, "亿": 10**8}


def read_number(text: str) -> int:
    """The number the numeral `text` says; AssertionError for characters out of order
    (places or sections not falling, two digits in a row, a 零 that stands for nothing)."""
    if text == "零":
        return 0
    total, section, digit = 0, 0, None
    last_place, last_section = 10_000, 10**12
    for char in text.replace("零", ""):
        if char in _DIGITS:
            assert digit is None, text
            digit = _DIGITS[char]
        elif char in _PLACES:
            place = _PLACES[char]
            assert place < last_place and (digit or char == "十"), text
            section, digit, last_place = section + (digit or 1) * place, None, place
        else:
            size = _SECTIONS[char]
            assert size < last_section and (section or digit), text
            total += (section + (digit or 0)) * size
            section, digit, last_place, last_section = 0, None, 10_000, size
    return total + section + (digit or 0)


_D = "[一二三四五六七八九两]"
_STANDARD_FORM = {
    "零 twice in a row": "零零",
    "a 零 at the end": ".零$",
    "a 零 for no zero": f"百零{_D}十|千零{_D}百|万零{_D}千|亿零{_D}千.*万",
    "a zero place not said as 零": f"千{_D}(?!百)|百{_D}(?!十)|[万亿]{_D}(?!千)",
    "一十 at the start": "^一十",
    "十 without 一 inside a number": "[百千万亿零]十",
    "两 not before 百, 千, 万, 亿 or a measure word": "两(?![百千万亿元角分])",
    "两 after 十": "十两",
    "二 before 百 or 千": "二[百千]",
    "二 alone before 万, 亿 or a measure word": "^二[万亿元角分]|[元角]二",
}
"""Patterns that find what is not the one standard spoken form of a number or amount; the
colloquial short forms (一千五 for 1500) are not standard either."""


def standard_form_problems(text: str) -> list[str]:
    """The names of the rules of `_STANDARD_FORM` that `text` breaks."""
    return [rule for rule, pattern in _STANDARD_FORM.items() if re.search(pattern, text)]


def read_amount(text: str) -> tuple[int, int]:
    """(yuan, fen) that `text` says: "[N元][零][N角][N分]"."""
    match = re.fullmatch(r"(?:(.+)元)?(?:零?(.+)角)?(?:零?(.+)分)?", text)
    assert match and text, text
    yuan, jiao, fen = (read_number(part) if part else 0 for part in match.groups())
    assert jiao < 10 and fen < 10, text
    return yuan, 10 * jiao + fen


@given(integers)
def test_every_integer_read_back_is_itself(number: int) -> None:
    words = spoken(mandarin.integer(number))
    assert read_number(words) == number
    assert standard_form_problems(words) == []


@given(integers, cents)
def test_every_amount_read_back_is_itself(yuan: int, fen: int) -> None:
    words = spoken(mandarin.money(yuan, fen))
    assert read_amount(words) == (yuan, fen)
    assert standard_form_problems(words) == []


def test_the_reference_converter_refuses_numerals_out_of_order() -> None:
    for text in ("百一", "一万一亿", "一一", "十百", "一百一千", "万"):
        with pytest.raises((AssertionError, KeyError)):
            read_number(text)
    problems = {
        "一十二": "一十 at the start", "一百十": "十 without 一",
        "一百五": "a zero place not said as 零",
        "一千五十": "a zero place not said as 零", "一万五百": "a zero place not said as 零",
        "一百零五十": "a 零 for no zero",
        "一亿零一千万": "a 零 for no zero", "十两": "两 after 十", "两十": "两 not before",
        "二百": "二 before 百", "二万": "二 alone before 万", "一元二角": "二 alone before",
        "一百零零五": "零 twice", "一百零": "a 零 at the end",
    }
    for text, rule in problems.items():
        assert [found for found in standard_form_problems(text) if found.startswith(rule)], text
