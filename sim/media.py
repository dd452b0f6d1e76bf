"""What a site's media settings mean for a simulation: how long announcements play, and the
disk its recordings need.

Announcements play for the real length of the site's prompts (its own folder, or the default
set of its language, built with espeak-ng and sox on first use), in call and SIP fidelity
alike, so a caller who hears "you are number 12" waits as long as on the box. Where the
prompts cannot be had, the queues' configured `duration` stands in, and the note says why.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from appliance.config import Site
from appliance.kpi import KpiReport, ReplicationSummary, flatten
from appliance.kpi.storage import RecordingStorage, recording_storage
from appliance.media.prompts import (
    AnnouncementTimings,
    PromptError,
    default_prompt_texts,
    digits,
    queue_announcement,
)
from appliance.pbx.acd.core import AnnouncementSeconds
from appliance.pbx.ivr import PromptSeconds
from appliance.storage.promptfiles import PromptSet

# Every prompt some announcement may use: both wait forms and all ten digits.
ANNOUNCEMENT_PROMPTS = sorted(
    {*queue_announcement(1, None), *queue_announcement(1, 60.0)}
    | {name for d in range(10) for name in digits(d)}
)


@dataclass(frozen=True)
class AnnouncementTiming:
    """Where announcement lengths come from in a run: `seconds` for the core (None: the
    configured duration) and a sentence for the report (empty: no queue announces).
    `prompt_seconds`, how long any prompts play in a language (the IVR's), is for the core
    and the simulated callers alike (None: a second each, the core's default); `prompt_note`
    says where those lengths come from."""

    seconds: AnnouncementSeconds | None
    note: str
    prompt_seconds: PromptSeconds | None = None
    prompt_note: str = ""

    def prompt_lengths(self) -> PromptSeconds:
        """`prompt_seconds`, or the core's own default when there is none."""
        return self.prompt_seconds or _a_second_each


def _a_second_each(names: Sequence[str], language: str) -> float:
    return float(len(names))


WORDS_PER_SECOND = 2.5
"""espeak-ng's rate for the default prompts (150 words a minute)."""
SYLLABLES_PER_SECOND = 4.0
"""A Mandarin character is a syllable."""
PROMPT_PAUSE = 0.4
"""The pause espeak-ng ends a text with."""


def estimated_seconds(text: str, language: str) -> float:
    """How long `text` takes spoken, from its length: words (characters in Mandarin) at the
    default prompts' speaking rate, and the closing pause."""
    if language == "zh":
        return sum(not c.isspace() for c in text) / SYLLABLES_PER_SECOND + PROMPT_PAUSE
    return len(text.split()) / WORDS_PER_SECOND + PROMPT_PAUSE


class PromptLengths:
    """`PromptSeconds` over every prompt a site may play: its IVR's own and the built-in
    ones, each measured once per language by `measure(name, language)`."""

    def __init__(self, measure: Callable[[str, str], float]) -> None:
        self._measure = measure
        self._known: dict[tuple[str, str], float] = {}

    def __call__(self, names: Sequence[str], language: str) -> float:
        return math.fsum(self._length(name, language) for name in names)

    def _length(self, name: str, language: str) -> float:
        seconds = self._known.get((name, language))
        if seconds is None:
            seconds = self._known[(name, language)] = self._measure(name, language)
        return seconds


def ivr_prompt_lengths(site: Site, folders: Mapping[str, PromptSet]) -> PromptLengths:
    """The length of each prompt of `site`'s IVR: from the prompt files of its language in
    `folders` where there is one, else estimated from its text."""
    own = {} if site.ivr is None else site.ivr.prompts

    def measure(name: str, language: str) -> float:
        prompts = folders.get(language)
        if prompts is not None and not prompts.missing([name]):
            return prompts.duration([name])
        text = own[name][language] if name in own else default_prompt_texts(language)[name]
        return estimated_seconds(text, language)

    return PromptLengths(measure)


def announcement_timing(site: Site) -> AnnouncementTiming:
    """The prompt set's real lengths for `site`'s announcements and IVR prompts, if its
    prompts can be had."""
    timing = _queue_announcements(site)
    if site.ivr is None:
        return timing
    folders, note = _ivr_prompt_folders(site)
    return replace(timing, prompt_seconds=ivr_prompt_lengths(site, folders), prompt_note=note)


def _ivr_prompt_folders(site: Site) -> tuple[dict[str, PromptSet], str]:
    """The prompt files of each language the IVR speaks, and a sentence on what is not
    there. The IVR's own prompts are measured from the site's own folder, if it has one."""
    from appliance.config.ivr import LANGUAGES
    from appliance.live.prompt_build import (
        PromptBuildError,
        ensure_default_prompts,
        tools_available,
    )

    media = site.media
    if media.prompts is not None:
        return {media.language: PromptSet(Path(media.prompts))}, (
            f"IVR prompts play for the length of the files in {media.prompts}; any other "
            "is estimated from its text.")
    if not tools_available():
        return {}, ("IVR prompts are estimated from their texts' length: espeak-ng or sox "
                    "is not installed to build the prompt files.")
    try:
        folders = {language: PromptSet(ensure_default_prompts(language))
                   for language in LANGUAGES}
    except PromptBuildError as error:
        return {}, f"IVR prompts are estimated from their texts' length: {error}."
    return folders, ("Built-in IVR prompts play for the length of the default prompt sets; "
                     "the IVR's own prompts are estimated from their texts' length.")


def _queue_announcements(site: Site) -> AnnouncementTiming:
    if not any(queue.announcements is not None for queue in site.queues):
        return AnnouncementTiming(None, "")
    # Here rather than at the top: the live package is heavy, and only a site whose queues
    # announce needs it.
    from appliance.live.prompt_build import (
        PromptBuildError,
        site_prompts_folder,
        tools_available,
    )

    media = site.media
    if media.prompts is None and not tools_available():
        return _configured("espeak-ng or sox is not installed to build the default prompts")
    try:
        folder = site_prompts_folder(media)
    except PromptBuildError as error:
        return _configured(f"the default prompts could not be built: {error}")
    prompts = PromptSet(folder)
    try:
        for name in ANNOUNCEMENT_PROMPTS:
            prompts.samples(name)  # read now: a bad file must not stop a run half-way
    except PromptError as error:
        return _configured(str(error))
    return AnnouncementTiming(
        AnnouncementTimings(prompts),
        f"Announcements play for the real length of the {media.language!r} prompts in "
        f"{folder}.",
    )


def _configured(reason: str) -> AnnouncementTiming:
    return AnnouncementTiming(
        None, f"Announcements last the queues' configured duration: {reason}."
    )


def recording_storage_of(
    site: Site, data: KpiReport | ReplicationSummary, day_hours: float
) -> RecordingStorage | None:
    """The recordings disk of a report (a summary: of its replications' means), with a
    working day of `day_hours`. None when the site does not record."""
    settings = data.settings
    if settings.window_end is None:
        raise ValueError("the report's window has no end to take a rate over")
    figures: Mapping[str, float | int | None]
    if isinstance(data, ReplicationSummary):
        figures = {key: figure.mean for key, figure in data.figures.items()}
    else:
        figures = flatten(data)
    seconds = (figures.get("agents.talk_time") or 0.0) + (figures.get("agents.hold_time") or 0.0)
    calls = round(figures.get("agents.calls_handled") or 0)
    return recording_storage(seconds, calls, settings.window_end - settings.window_start,
                             day_hours, site.media.recording)
