"""What a site's media settings mean for a simulation: how long announcements play, and the
disk its recordings need.

Announcements play for the real length of the site's prompts (its own folder, or the default
set of its language, built with espeak-ng and sox on first use), in call and SIP fidelity
alike, so a caller who hears "you are number 12" waits as long as on the box. Where the
prompts cannot be had, the queues' configured `duration` stands in, and the note says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from appliance.config import Site
from appliance.kpi import KpiReport, ReplicationSummary, flatten
from appliance.kpi.storage import RecordingStorage, recording_storage
from appliance.media.prompts import (
    AnnouncementTimings,
    PromptError,
    digits,
    queue_announcement,
)
from appliance.pbx.acd.core import AnnouncementSeconds
from appliance.storage.promptfiles import PromptSet

# Every prompt some announcement may use: both wait forms and all ten digits.
ANNOUNCEMENT_PROMPTS = sorted(
    {*queue_announcement(1, None), *queue_announcement(1, 60.0)}
    | {name for d in range(10) for name in digits(d)}
)


@dataclass(frozen=True)
class AnnouncementTiming:
    """Where announcement lengths come from in a run: `seconds` for the core (None: the
    configured duration) and a sentence for the report (empty: no queue announces)."""

    seconds: AnnouncementSeconds | None
    note: str


def announcement_timing(site: Site) -> AnnouncementTiming:
    """The prompt set's real lengths for `site`'s announcements, if its prompts can be had."""
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
