"""Prompts: 8 kHz mono WAV files per language, named for what they say, and the announcements
made of them.

A site may replace a language's folder with its own recordings (same names). The default sets
are generated at install time from the texts below (`appliance.live.prompt_build`), so no
audio is kept in the source tree. Announcements are sequences of prompt names: the queue's
numbers are read digit by digit, which works the same way in every language; PLAY NUMBER
speaks numbers and amounts from each language's own number words (`appliance.media.speech`).
Reading the files is the driver's (`appliance.storage.promptfiles`); here a prompt is bytes in,
samples out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import numpy as np

from appliance.media.recording import SAMPLE_BYTES, WavError, read_format

SAMPLE_RATE = 8000

BEEP = "\x00beep"  # the tone before a voicemail recording (no prompt file has this name)
BEEP_SECONDS = 0.5
ERROR_TONE = "\x00error"  # what an agent hears when a keyed code is refused (no file either)

DIGIT_WORDS = {
    "en": ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"],
    "zh": ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"],
}

PHRASES: Mapping[str, Mapping[str, str]] = {
    "en": {
        "welcome": "Thank you for calling. Please hold, an agent will be with you shortly.",
        "position-before": "You are number",
        "position-after": "in the queue.",
        "wait-before": "Your expected wait is about",
        "wait-minutes": "minutes.",
        "wait-unknown": "All our agents are busy. Please hold.",
        "agent-logged-in": "Agent logged in.",
        "agent-logged-out": "Agent logged out.",
        "agent-ready": "Ready.",
        "agent-not-ready": "Not ready.",
        "voicemail": "Please leave a message after the tone.",
        "goodbye": "Goodbye.",
        "closed": "We are closed now. Please call again during our opening hours.",
        "vm-enter-box": "Please enter the mailbox number, then the hash key.",
        "vm-enter-pin": "Please enter your PIN, then the hash key.",
        "vm-wrong": "That is not right.",
        "vm-you-have": "You have",
        "vm-new-messages": "new messages.",
        "vm-menu": "To delete this message press 7. To save it press 9. To hear it again "
                   "press 1. For the next message press the hash key.",
        "vm-deleted": "Message deleted.",
        "vm-saved": "Message saved.",
        "vm-no-more": "There are no more messages.",
        "vm-time-up": "Your time for listening to messages is up.",
        "callback-offer": "To be called back without losing your place in the queue, press",
        "callback-number": "We will call you back at",
        "callback-confirm": "Press one to confirm, or two to enter another number.",
        "callback-enter": "Please enter the number to call you back at, then press hash.",
        "callback-booked": "Thank you. We will call you back when it is your turn. Goodbye.",
        "parked-at": "Parked at",
    },
    "zh": {
        "welcome": "感谢您的来电，请稍候，座席将尽快为您服务。",
        "position-before": "您前面还有",
        "position-after": "位客户在等候。",
        "wait-before": "预计等待时间约为",
        "wait-minutes": "分钟。",
        "wait-unknown": "座席正忙，请稍候。",
        "agent-logged-in": "座席已签入。",
        "agent-logged-out": "座席已签出。",
        "agent-ready": "示闲。",
        "agent-not-ready": "示忙。",
        "voicemail": "请在提示音后留言。",
        "goodbye": "再见。",
        "closed": "现在是非工作时间，请在工作时间内再来电。",
        "vm-enter-box": "请输入信箱号码，以井号键结束。",
        "vm-enter-pin": "请输入密码，以井号键结束。",
        "vm-wrong": "输入有误。",
        "vm-you-have": "您有",
        "vm-new-messages": "条新留言。",
        "vm-menu": "删除此留言请按7，保存请按9，重听请按1，听下一条请按井号键。",
        "vm-deleted": "留言已删除。",
        "vm-saved": "留言已保存。",
        "vm-no-more": "没有更多留言了。",
        "vm-time-up": "收听留言的时间已到。",
        "callback-offer": "如需保留排队位置并由我们回电，请按",
        "callback-number": "我们将回电至",
        "callback-confirm": "确认请按一，输入其他号码请按二。",
        "callback-enter": "请输入回电号码，以井号键结束。",
        "callback-booked": "谢谢，轮到您时我们将回电。再见。",
        "parked-at": "已停泊在",
    },
}


_ENGLISH_TEENS = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
                  "seventeen", "eighteen", "nineteen"]
_ENGLISH_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]

NUMBER_WORDS: Mapping[str, Mapping[str, str]] = {
    "en": {
        **{f"num-{10 + n}": word for n, word in enumerate(_ENGLISH_TEENS)},
        **{f"num-{20 + 10 * n}": word for n, word in enumerate(_ENGLISH_TENS)},
        "num-hundred": "hundred",
        "num-thousand": "thousand",
        "num-million": "million",
        "num-billion": "billion",
        "minus": "minus",
        "money-dollar": "dollar",
        "money-dollars": "dollars",
        "money-and": "and",
        "money-cent": "cent",
        "money-cents": "cents",
        "digit-star": "star",
        "digit-hash": "hash",
    },
    "zh": {
        "num-10": "十",
        "num-liang": "两",  # the 2 of 两百, 两千, 两万, 两亿 and before a measure word: 两元
        "num-hundred": "百",
        "num-thousand": "千",
        "num-ten-thousand": "万",
        "num-hundred-million": "亿",
        "minus": "负",
        "money-yuan": "元",
        "money-jiao": "角",
        "money-fen": "分",
        "digit-star": "星号",
        "digit-hash": "井号",
    },
}
"""The words PLAY NUMBER puts together (`appliance.media.speech.say`), beside the digit
prompts that say 0-9. Each language has the words its grammar needs, so the sets differ:
English counts to nineteen and by tens in words and has million and billion; Mandarin has
十, 两, 万 and 亿. `*` and `#` of a digit string are "digit-star" and "digit-hash"."""


ROUTE_PROMPTS = frozenset({"closed"})
"""Phrases only a route plays (`prompt: closed`): a site's own prompt folder needs them only
if one of its routes names them."""

RETRIEVAL_PROMPTS = frozenset(name for name in PHRASES["en"] if name.startswith("vm-"))
"""Phrases only voicemail retrieval plays: a site's own prompt folder needs them only if the
site has mailboxes."""
CALLBACK_PROMPTS = frozenset({"callback-offer", "callback-number", "callback-confirm",
                              "callback-enter", "callback-booked"})
"""Phrases only a queue's callback plays: a site's own prompt folder needs them only if one
of its queues offers callbacks."""
AGENT_PROMPTS = frozenset({"parked-at"})
"""Phrases only agents hear (a parker by in-call code is told the slot): a site's own folder
may leave them out, and the agent then hears the slot's digits alone."""


def prompt_texts(language: str) -> dict[str, str]:
    """The prompts every site's folder of `language` holds: its phrases and its digits
    ("digit-0" ... "digit-9"), by the same names in every language."""
    if language not in PHRASES:
        raise KeyError(f"no prompt texts for language {language!r} (have: {', '.join(PHRASES)})")
    texts = dict(PHRASES[language])
    texts.update({f"digit-{d}": word for d, word in enumerate(DIGIT_WORDS[language])})
    return texts


def default_prompt_texts(language: str) -> dict[str, str]:
    """Every prompt of `language`'s default set: `prompt_texts` and the number words
    (`NUMBER_WORDS`). A site's own folder needs the number words only to read numbers out."""
    return {**prompt_texts(language), **NUMBER_WORDS[language]}


def digits(number: int) -> list[str]:
    """The prompt names that read `number` digit by digit."""
    if number < 0:
        raise ValueError(f"cannot read a negative number: {number}")
    return [f"digit-{d}" for d in str(number)]


def position_announcement(position: int) -> list[str]:
    """What a caller hears for their place in the queue."""
    return ["position-before", *digits(position), "position-after"]


def wait_announcement(expected_wait: float | None) -> list[str]:
    """What a caller hears for the expected wait (rounded up to whole minutes)."""
    minutes = wait_minutes(expected_wait)
    if minutes is None:
        return ["wait-unknown"]
    return ["wait-before", *digits(minutes), "wait-minutes"]


def wait_minutes(expected_wait: float | None) -> int | None:
    """The whole minutes a caller is told for `expected_wait` seconds (at least one);
    None when the wait is unknown. Waits that round alike sound alike."""
    if expected_wait is None:
        return None
    return max(1, -(-int(expected_wait) // 60))


def queue_announcement(position: int, expected_wait: float | None) -> list[str]:
    """The whole announcement a waiting caller hears: their place, then the expected wait."""
    return [*position_announcement(position), *wait_announcement(expected_wait)]


class PromptError(Exception):
    """A prompt is missing or not a usable WAV; the message names the file."""


class SoundSource(Protocol):
    """Prompts by name as 8 kHz mono int16 samples (`appliance.storage.promptfiles.PromptSet`
    reads them from a folder); raises PromptError for one it does not have."""

    def samples(self, name: str) -> np.ndarray: ...


def duration(prompts: SoundSource, names: list[str]) -> float:
    """Seconds the prompts `names` take, played one after another."""
    return sum(len(prompts.samples(name)) for name in names) / SAMPLE_RATE


def prompt_samples(wav: bytes, name: str) -> np.ndarray:
    """The samples of an 8 kHz, mono, 16-bit WAV file's bytes; PromptError names `name` and
    says what is wrong."""
    try:
        fmt = read_format(wav)
    except WavError as error:
        raise PromptError(f"{name}: not a usable WAV file ({error})") from None
    if (fmt.sample_rate, fmt.channels) != (SAMPLE_RATE, 1):
        raise PromptError(f"{name}: expected 8000 Hz mono 16-bit; got {fmt.sample_rate} Hz, "
                          f"{fmt.channels} channel(s), {8 * SAMPLE_BYTES}-bit")
    available = min(fmt.data_bytes, len(wav) - fmt.data_offset)
    end = fmt.data_offset + available // SAMPLE_BYTES * SAMPLE_BYTES
    return np.frombuffer(wav[fmt.data_offset:end], dtype="<i2").astype(np.int16)


class AnnouncementTimings:
    """Seconds each queue announcement takes when played from `prompts`.

    Callable as ``timings(position, expected_wait)``, the shape the ACD takes for its
    announcement lengths. Each distinct announcement (place in line, whole minutes of wait)
    is measured once from the prompts' real lengths and remembered: a long simulation asks
    the same few questions millions of times. A missing or unusable prompt raises
    PromptError on the first announcement that needs it.
    """

    def __init__(self, prompts: SoundSource) -> None:
        self.prompts = prompts
        self._seconds: dict[tuple[int, int | None], float] = {}

    def __call__(self, position: int, expected_wait: float | None) -> float:
        key = (position, wait_minutes(expected_wait))
        seconds = self._seconds.get(key)
        if seconds is None:
            seconds = self._seconds[key] = duration(
                self.prompts, queue_announcement(position, expected_wait))
        return seconds


def beep_samples() -> np.ndarray:
    """The voicemail beep: `BEEP_SECONDS` of 1 kHz at -12 dBFS, faded in and out (no click)."""
    count = round(BEEP_SECONDS * SAMPLE_RATE)
    tone = np.sin(2 * np.pi * 1000 * np.arange(count) / SAMPLE_RATE) * 8000
    fade = np.minimum(1.0, np.minimum(np.arange(count), np.arange(count)[::-1]) / 80)
    return (tone * fade).astype(np.int16)


def error_tone_samples() -> np.ndarray:
    """The refusal tone: the three rising notes of the special information tone (ITU-T E.180:
    950, 1400 and 1800 Hz, what networks play before "the number is not available"), 0.1 s
    each at -12 dBFS, faded in and out."""
    count = round(0.1 * SAMPLE_RATE)
    ramp = np.minimum(1.0, np.minimum(np.arange(count), np.arange(count)[::-1]) / 40)
    notes = [np.sin(2 * np.pi * hz * np.arange(count) / SAMPLE_RATE) * 8000 * ramp
             for hz in (950, 1400, 1800)]
    return np.concatenate(notes).astype(np.int16)
