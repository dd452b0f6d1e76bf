"""say(): which values it takes, how digit strings and signs are spoken, and that every name
it returns is a prompt of the language's default set."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.media.prompts import default_prompt_texts
from appliance.media.speech import LANGUAGES, LARGEST, say

from .numbers import cents, integers


def test_a_digit_string_is_read_digit_by_digit_in_every_language() -> None:
    for language in LANGUAGES:
        assert say("0042*#", "digits", language) == [
            "digit-0", "digit-0", "digit-4", "digit-2", "digit-star", "digit-hash"]


def test_values_are_read_as_asked() -> None:
    assert say("12", "integer", "en") == ["num-12"]
    assert say("12", "integer", "zh") == ["num-10", "digit-2"]
    assert say("007", "integer", "en") == ["digit-7"]
    assert say("12.3", "money", "en") == say("12.30", "money", "en")
    assert say("12", "money", "zh") == ["num-10", "digit-2", "money-yuan"]


def test_a_negative_value_starts_with_minus_but_minus_zero_is_zero() -> None:
    assert say("-21", "integer", "en") == ["minus", "num-20", "digit-1"]
    assert say("-0.05", "money", "zh") == ["minus", "digit-5", "money-fen"]
    assert say("-0", "integer", "zh") == ["digit-0"]
    assert say("-0.00", "money", "en") == ["digit-0", "money-dollars"]


@pytest.mark.parametrize(("value", "say_as", "message"), [
    ("", "digits", "'' is not a digit string"),
    ("12a", "digits", "'12a' is not a digit string"),
    ("-1", "digits", "not a digit string"),
    ("", "integer", "'' is not an integer"),
    ("1.5", "integer", "'1.5' is not an integer"),
    ("1,000", "integer", "not an integer"),
    ("+1", "integer", "not an integer"),
    (" 1", "integer", "not an integer"),
    (str(LARGEST + 1), "integer", r"too large to say \(at most 999,999,999,999"),
    ("-" + str(LARGEST + 1), "integer", "too large"),
    ("1.234", "money", "'1.234' is not an amount of money"),
    ("1.", "money", "not an amount"),
    (".5", "money", "not an amount"),
    ("12 yuan", "money", "not an amount"),
    (f"{LARGEST + 1}.00", "money", "too large"),
    ("12", "date", r"cannot say a value as 'date' \(have: digits, integer, money\)"),
])
def test_a_value_that_cannot_be_said_is_refused_with_the_reason(
        value: str, say_as: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        say(value, say_as, "en")


def test_a_language_without_number_words_is_refused() -> None:
    with pytest.raises(ValueError, match=r"cannot say numbers in language 'fr' \(have: en, zh\)"):
        say("1", "integer", "fr")


def test_the_largest_values_are_said() -> None:
    assert say(str(LARGEST), "integer", "zh")[:2] == ["digit-9", "num-thousand"]
    assert say(f"-{LARGEST}.99", "money", "en")[-2:] == ["digit-9", "money-cents"]


values = st.one_of(
    st.tuples(st.from_regex(r"[0-9*#]{1,20}", fullmatch=True), st.just("digits")),
    st.tuples(integers.map(str), st.just("integer")),
    st.tuples(st.tuples(integers, cents).map(lambda a: f"{a[0]}.{a[1]:02d}"), st.just("money")),
)


@given(values, st.sampled_from(sorted(LANGUAGES)), st.booleans())
def test_every_name_said_is_a_prompt_of_the_language(
        value: tuple[str, str], language: str, negative: bool) -> None:
    text, say_as = value
    if negative and say_as != "digits":
        text = "-" + text
    names = say(text, say_as, language)
    assert names
    assert set(names) <= set(default_prompt_texts(language))
