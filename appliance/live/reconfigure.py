"""SIGHUP for the media side: the site's media settings applied to new calls and recordings.

Calls up keep what they have: a prompt or the music already playing to a caller plays on as it
was encoded, and a recording in progress stays in the file it was started in. From the reload
on, new prompts and music, the media timeout, the recording switch, folder, split and disk
thresholds apply. The RTP port range is not changed here: it needs a restart
(`appliance.config.changes`).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from appliance.config.live import Media
from appliance.live.recordings import MB, WavDesk
from appliance.media.plane import MediaPlane, Prompts

_log = logging.getLogger(__name__)


def reconfigure_media(plane: MediaPlane, desk: WavDesk, media: Media, prompts: Prompts,
                      music: np.ndarray, folder: Path | None = None) -> None:
    """Apply `media` (with its prompts and music already read) to new calls and recordings;
    `folder` is `media.recording.folder` resolved (default: as written)."""
    plane.use_sounds(prompts, music)
    plane.language = media.language
    plane.relay.media_timeout = media.media_timeout
    reconfigure_recordings(desk, media, folder)


def reconfigure_recordings(desk: WavDesk, media: Media, folder: Path | None = None) -> None:
    """New recordings follow `media.recording` (into `folder`, if given); those in progress
    finish where they are."""
    settings = media.recording
    folder = Path(settings.folder) if folder is None else folder
    if folder != desk.folder:
        _log.info("new recordings go to %s (those in progress finish in %s)", folder,
                  desk.folder)
    desk.settings = settings
    desk.folder = folder
    # In place: an alarm raised stays raised until the next measurement says otherwise.
    desk.guard.stop_below = settings.stop_below_mb * MB
    desk.guard.resume_above = settings.resume_above_mb * MB
