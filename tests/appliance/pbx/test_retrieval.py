"""The voicemail retrieval menu: PIN, count, messages and the keys that change them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from appliance.pbx.retrieval import (
    MAX_SILENCES,
    Box,
    HangUp,
    PlayMessage,
    Retrieval,
    Say,
    SetStatus,
    Step,
)

BOX_A = Box("a", "1234")
BOXES = {"800": BOX_A, "801": Box("b", "9999")}
MESSAGES = {"a": ["new", "new", "old"], "b": []}


def own(box: Box = BOX_A) -> Retrieval:
    return Retrieval(box, BOXES, lambda name: MESSAGES[name])


def any_box() -> Retrieval:
    return Retrieval(None, BOXES, lambda name: MESSAGES[name])


def keys(machine: Retrieval, pressed: str) -> list[object]:
    return [effect for digit in pressed for effect in machine.key(digit)]


def test_the_right_pin_says_the_new_count_and_plays_the_first_message() -> None:
    machine = own()
    assert machine.start() == [Say(("vm-enter-pin",))]
    assert keys(machine, "1234#") == [Say(("vm-you-have", "digit-2", "vm-new-messages")),
                                      PlayMessage(0)]
    assert machine.step is Step.MESSAGE


def test_delete_save_replay_and_next() -> None:
    machine = own()
    keys(machine, "1234#")
    assert machine.timeout() == [Say(("vm-menu",))]  # the message ended
    assert machine.key("1") == [PlayMessage(0)]
    assert machine.key("7") == [SetStatus(0, "deleted"), Say(("vm-deleted",)), PlayMessage(1)]
    assert machine.key("9") == [SetStatus(1, "old"), Say(("vm-saved",)), PlayMessage(2)]
    assert machine.key("#") == [Say(("vm-no-more",)), Say(("goodbye",)), HangUp()]
    assert machine.done


def test_time_up_says_so_and_ends_once_whatever_the_step() -> None:
    for machine, pressed in ((own(), ""), (own(), "1234#"), (any_box(), "80")):
        keys(machine, pressed)
        assert machine.time_up() == [Say(("vm-time-up",)), Say(("goodbye",)), HangUp()]
        assert machine.done and machine.time_up() == [] and machine.key("1") == []


def test_an_empty_box_says_none_and_ends() -> None:
    machine = own(Box("b", "9999"))
    assert keys(machine, "9999#") == [Say(("vm-you-have", "digit-0", "vm-new-messages")),
                                      Say(("goodbye",)), HangUp()]


def test_any_box_asks_for_the_number_then_the_pin() -> None:
    machine = any_box()
    assert machine.start() == [Say(("vm-enter-box",))]
    assert keys(machine, "801#") == [Say(("vm-enter-pin",))]
    assert keys(machine, "1234#") == [Say(("vm-wrong", "vm-enter-box"))]  # a's PIN, not b's
    assert keys(machine, "12*800#") == [Say(("vm-enter-pin",))]  # * starts the entry again
    assert keys(machine, "1234#")[-1] == PlayMessage(0)


def test_three_wrong_pins_hang_up() -> None:
    machine = own()
    assert keys(machine, "1#2#") == [Say(("vm-wrong", "vm-enter-pin"))] * 2
    assert keys(machine, "3#") == [Say(("vm-wrong",)), Say(("goodbye",)), HangUp()]
    assert machine.done and keys(machine, "1234#") == []


def test_silence_asks_again_then_ends() -> None:
    machine = own()
    effects = [machine.timeout() for _ in range(MAX_SILENCES)]
    assert effects[0] == [Say(("vm-enter-pin",))]
    assert effects[-1][-1] == HangUp()


KEY = st.sampled_from("0123456789*#")
INPUT = st.one_of(KEY, st.just("timeout"))


@given(st.lists(INPUT, max_size=60), st.booleans())
def test_any_input_ends_within_a_few_silences(inputs: list[str], ask: bool) -> None:
    """Whatever is pressed, silence then ends the call; nothing follows its HangUp, and a
    message is played or changed only after the right PIN."""
    machine = any_box() if ask else own()
    effects = machine.start()
    for given_input in inputs:
        effects += machine.timeout() if given_input == "timeout" else machine.key(given_input)
    for _ in range(MAX_SILENCES + 1):
        effects += machine.timeout()
    assert machine.done
    assert effects.count(HangUp()) == 1 and effects[-1] == HangUp()
    assert machine.tries <= 3


@given(st.lists(st.text("0123456789", min_size=1, max_size=6).filter(lambda p: p != "1234"),
                min_size=3, max_size=3))
def test_a_wrong_pin_three_times_hangs_up(pins: list[str]) -> None:
    machine = own()
    effects = keys(machine, "".join(pin + "#" for pin in pins))
    assert effects[-1] == HangUp()
    assert not any(isinstance(effect, (PlayMessage, SetStatus)) for effect in effects)
