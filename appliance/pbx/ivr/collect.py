"""Digit collection for one try at an input node: when it is complete and how long to wait."""

from __future__ import annotations

from typing import NamedTuple

from appliance.config.ivr import PlayDigit, PlayOption, SelectLanguage

COUNT = "count"
TERMINATOR = "terminator"
TIMEOUT = "timeout"
"""How a try ends (`IvrDigits.ended_by`)."""


class CollectSpec(NamedTuple):
    max_digits: int
    terminator: str | None
    first_timeout: float
    inter_timeout: float


def spec_of(node: PlayDigit | PlayOption | SelectLanguage) -> CollectSpec:
    """A menu takes one key; PLAY DIGIT takes what it says."""
    if isinstance(node, PlayDigit):
        return CollectSpec(node.max_digits, node.terminator, node.first_digit_timeout,
                           node.inter_digit_timeout)
    return CollectSpec(1, None, node.timeout, node.timeout)


class Collector:
    """The digits of one try. The terminator is not kept."""

    __slots__ = ("digits", "spec")

    def __init__(self, spec: CollectSpec) -> None:
        self.spec = spec
        self.digits = ""

    def press(self, digit: str) -> str | None:
        """Take a key; returns how the try ended (COUNT, TERMINATOR) or None to wait on."""
        if digit == self.spec.terminator:
            return TERMINATOR
        self.digits += digit
        return COUNT if len(self.digits) >= self.spec.max_digits else None

    def wait(self) -> float:
        """Seconds from now until the try times out: the first-digit timeout before any
        key, the inter-digit timeout after one."""
        return self.spec.inter_timeout if self.digits else self.spec.first_timeout
