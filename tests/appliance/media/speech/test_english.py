"""English numbers and dollar amounts: tables of examples, and every number spoken back
through a reference reader of English number words gives the number again."""

from __future__ import annotations

import pytest
from hypothesis import given

from appliance.media.prompts import default_prompt_texts
from appliance.media.speech import english

from .numbers import cents, integers

TEXTS = default_prompt_texts("en")


def spoken(names: list[str]) -> str:
    return " ".join(TEXTS[name] for name in names)


@pytest.mark.parametrize(("number", "words"), [
    (0, "zero"),
    (7, "seven"),
    (10, "ten"),
    (11, "eleven"),
    (20, "twenty"),
    (21, "twenty one"),
    (100, "one hundred"),
    (101, "one hundred one"),
    (110, "one hundred ten"),
    (115, "one hundred fifteen"),
    (1000, "one thousand"),
    (1001, "one thousand one"),
    (1010, "one thousand ten"),
    (2000, "two thousand"),
    (20000, "twenty thousand"),
    (100_000_000, "one hundred million"),
    (1_234_567, "one million two hundred thirty four thousand five hundred sixty seven"),
    (1_000_000_005, "one billion five"),
    (10**12 - 1, "nine hundred ninety nine billion nine hundred ninety nine million "
                 "nine hundred ninety nine thousand nine hundred ninety nine"),
])
def test_integers_in_words(number: int, words: str) -> None:
    assert spoken(english.integer(number)) == words


@pytest.mark.parametrize(("dollars", "cents_", "words"), [
    (0, 5, "five cents"),
    (0, 1, "one cent"),
    (1, 0, "one dollar"),
    (0, 0, "zero dollars"),
    (12, 30, "twelve dollars and thirty cents"),
    (1234, 56, "one thousand two hundred thirty four dollars and fifty six cents"),
    (100, 7, "one hundred dollars and seven cents"),
    (1, 1, "one dollar and one cent"),
])
def test_amounts_in_dollars_and_cents(dollars: int, cents_: int, words: str) -> None:
    assert spoken(english.money(dollars, cents_)) == words


# --- a reference reader: English number words back to the number ---------------------

_SMALL = {TEXTS[f"digit-{n}"]: n for n in range(1, 10)} | {
    TEXTS[f"num-{n}"]: n for n in range(10, 20)}
_TENS = {TEXTS[f"num-{n}"]: n for n in range(20, 100, 10)}
_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9}


def read_number(words: list[str]) -> int:
    """The number `words` say; AssertionError for words out of order ("thousand one",
    "five twenty", "one million two billion") or a word that is no number word."""
    if words == ["zero"]:
        return 0
    total, group, last_scale = 0, 0, 10**12
    for word in words:
        if word in _SCALES:
            assert 0 < group < 1000 and _SCALES[word] < last_scale, words
            total, group, last_scale = total + group * _SCALES[word], 0, _SCALES[word]
        elif word == "hundred":
            assert 1 <= group <= 9, words
            group *= 100
        elif word in _TENS:
            assert group % 100 == 0, words
            group += _TENS[word]
        else:
            tens = group % 100
            assert tens == 0 or (tens >= 20 and tens % 10 == 0 and _SMALL[word] < 10), words
            group += _SMALL[word]
    assert total + group > 0, words
    return total + group


def read_amount(words: list[str]) -> tuple[int, int]:
    """(dollars, cents) that `words` say: "[N dollar(s)] [and] [M cent(s)]"."""
    text = " ".join(words)
    dollars_part, _, cents_part = text.partition(" and ")
    if dollars_part.endswith(("cent", "cents")):
        dollars_part, cents_part = "", dollars_part
    dollars = _counted(dollars_part, "dollar") if dollars_part else 0
    amount = _counted(cents_part, "cent") if cents_part else 0
    assert bool(dollars_part and cents_part) == (" and " in text), text
    return dollars, amount


def _counted(text: str, unit: str) -> int:
    *number, word = text.split(" ")
    count = read_number(number)
    assert word == (unit if count == 1 else unit + "s"), text
    return count


@given(integers)
def test_every_integer_read_back_is_itself(number: int) -> None:
    assert read_number(spoken(english.integer(number)).split(" ")) == number


@given(integers, cents)
def test_every_amount_read_back_is_itself(dollars: int, amount: int) -> None:
    assert read_amount(spoken(english.money(dollars, amount)).split(" ")) == (dollars, amount)


def test_the_reference_reader_refuses_words_out_of_order() -> None:
    for words in ("thousand one", "five twenty", "one million two billion", "twenty twenty",
                  "one hundred hundred", "eleven five"):
        with pytest.raises(AssertionError):
            read_number(words.split(" "))
