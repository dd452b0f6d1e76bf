"""The site's in-call feature codes (`sip.in_call_codes`): Asterisk's by default, and an error
naming the field for codes that would be read as one another."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from appliance.config.live import InCallCodes, Sip


def test_the_defaults_are_asterisks_codes_and_a_hold_key() -> None:
    codes = Sip().in_call_codes
    assert codes.talking() == {"#1": "blind", "*2": "attended", "#72": "park", "*0": "hold"}
    assert codes.consulting() == {"*1": "abort", "*2": "complete", "*3": "three_way",
                                  "*4": "swap"}
    assert codes.digit_timeout == 3.0


@pytest.mark.parametrize("codes", [{"hold": "#7"}, {"park": "#1"}, {"consult_swap": "*1"},
                                   {"blind_transfer": "1"}, {"digit_timeout": 0}])
def test_codes_that_clash_or_are_no_codes_are_refused_naming_the_field(codes: dict) -> None:
    with pytest.raises(ValidationError, match="in_call_codes"):
        Sip.model_validate({"in_call_codes": codes})


def test_a_consultation_code_may_be_a_code_of_the_conversation() -> None:
    assert InCallCodes(hold="*5", consult_complete="*0").consulting()["*0"] == "complete"
