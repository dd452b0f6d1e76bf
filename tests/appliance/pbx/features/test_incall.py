"""The in-call key parser: each code read into its command, targets ended by # or the timeout,
keys that start no code dropped, and over any keys at any times the parser idle (no deadline)
exactly when nothing is half keyed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.config.live import InCallCodes
from appliance.pbx.features.incall import Command, KeyParser

CODES = InCallCodes()
TIMEOUT = CODES.digit_timeout
KEYS = "0123456789*#"


def parser() -> KeyParser:
    return KeyParser(CODES.talking(), CODES.consulting(), TIMEOUT)


def press(keys: str, start: float = 0.0, gap: float = 0.5,
          consulting: bool = False, parsed: KeyParser | None = None) -> list[Command]:
    parsed = parsed or parser()
    found = [parsed.digit(key, start + gap * i, consulting) for i, key in enumerate(keys)]
    return [command for command in found if command is not None]


@pytest.mark.parametrize(("keys", "kind"), [("#72", "park"), ("*0", "hold")])
def test_a_code_without_target_is_its_command_at_its_last_key(keys: str, kind: str) -> None:
    parsed = parser()
    assert press(keys[:-1], parsed=parsed) == []
    assert parsed.digit(keys[-1], 1.0) == Command(kind)
    assert parsed.next_deadline() is None


@pytest.mark.parametrize(("code", "kind"), [("#1", "blind"), ("*2", "attended")])
@given(target=st.text("0123456789*", min_size=1, max_size=12))
def test_a_transfer_code_takes_the_target_up_to_the_hash(code: str, kind: str,
                                                         target: str) -> None:
    assert press(code + target + "#") == [Command(kind, target)]


@given(target=st.text("0123456789", min_size=1, max_size=8), gap=st.floats(0.0, 2.9))
def test_a_target_is_complete_when_no_key_comes_in_time(target: str, gap: float) -> None:
    parsed = parser()
    assert press("#1" + target, gap=gap, parsed=parsed) == []
    last = gap * (len(target) + 1)
    assert parsed.next_deadline() == pytest.approx(last + TIMEOUT)
    assert parsed.on_deadline(last + TIMEOUT - 0.01) is None
    assert parsed.on_deadline(last + TIMEOUT) == Command("blind", target)
    assert parsed.next_deadline() is None


def test_an_empty_target_is_no_transfer() -> None:
    parsed = parser()
    assert press("#1#", parsed=parsed) == []
    assert press("#1", parsed=parsed) == []
    assert parsed.on_deadline(10.0) is None
    assert parsed.next_deadline() is None


def test_a_half_keyed_code_is_forgotten_at_the_timeout() -> None:
    parsed = parser()
    assert press("#7", parsed=parsed) == []
    assert parsed.on_deadline(0.5 + TIMEOUT) is None
    assert parsed.digit("2", 10.0) is None  # "2" alone starts nothing


@given(noise=st.text("0123456789", max_size=10), code=st.sampled_from(["#72", "*0"]))
def test_keys_that_start_no_code_do_not_keep_a_code_from_being_read(noise: str,
                                                                     code: str) -> None:
    assert press(noise + code) == [Command(CODES.talking()[code])]


def test_a_key_that_breaks_a_code_may_start_the_next() -> None:
    assert press("#7#72") == [Command("park")]
    assert press("*#1" + "5#") == [Command("blind", "5")]


def test_while_consulting_the_consultation_codes_count() -> None:
    assert press("*1*2*3*4", consulting=True) == [
        Command("abort"), Command("complete"), Command("three_way"), Command("swap")]
    assert press("*2", consulting=True) == [Command("complete")]
    assert press("#72", consulting=True) == []


@given(st.lists(st.tuples(st.sampled_from(KEYS), st.floats(0.0, 5.0), st.booleans(),
                          st.booleans()), max_size=40))
def test_any_keys_give_known_commands_and_a_deadline_only_while_keying(
        steps: list[tuple[str, float, bool, bool]]) -> None:
    parsed = parser()
    now = 0.0
    kinds = set(CODES.talking().values()) | set(CODES.consulting().values())
    for key, gap, consulting, wait in steps:
        now += gap
        deadline = parsed.next_deadline()
        if wait and deadline is not None:
            now = max(now, deadline)
            command = parsed.on_deadline(now)
            assert parsed.next_deadline() is None
        else:
            command = parsed.digit(key, now, consulting)
        if command is not None:
            assert command.kind in kinds
            assert bool(command.target) == (command.kind in {"blind", "attended"})
        deadline = parsed.next_deadline()
        keying = bool(parsed.keyed or parsed.command)
        assert (deadline is not None) == keying
        assert deadline is None or deadline == pytest.approx(now + TIMEOUT)
