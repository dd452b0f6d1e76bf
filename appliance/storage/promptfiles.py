"""Prompt sets on disk: a folder of 8 kHz mono WAV files per language, one file per prompt.

The reading is here, for the live driver and the simulator alike; what a prompt file must hold
and the announcements made of prompts are `appliance.media.prompts`, the same in simulation
and on the box.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from appliance.media.prompts import PromptError, duration, prompt_samples


class PromptSet:
    """The prompts of one language, read from `folder` on first use and kept in memory.
    Satisfies `appliance.media.prompts.SoundSource`."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._cache: dict[str, np.ndarray] = {}

    def samples(self, name: str) -> np.ndarray:
        cached = self._cache.get(name)
        if cached is None:
            cached = self._cache[name] = read_prompt(self.folder / f"{name}.wav")
        return cached

    def duration(self, names: list[str]) -> float:
        """Seconds the prompts `names` take, played one after another."""
        return duration(self, names)

    def missing(self, names: list[str]) -> list[str]:
        return [name for name in names if not (self.folder / f"{name}.wav").is_file()]


def read_prompt(path: Path) -> np.ndarray:
    """The samples of the 8 kHz, mono, 16-bit WAV at `path`; PromptError says what is wrong."""
    try:
        wav = Path(path).read_bytes()
    except FileNotFoundError:
        raise PromptError(f"{path}: no such prompt") from None
    return prompt_samples(wav, str(path))


class PromptLayers:
    """The prompts of one language from several folders, the first that has a name winning:
    a site's IVR prompts over the default set. Satisfies `SoundSource`."""

    def __init__(self, folders: list[Path]) -> None:
        self.sets = [PromptSet(folder) for folder in folders]
        self._holder: dict[str, PromptSet] = {}

    def samples(self, name: str) -> np.ndarray:
        holder = self._holder.get(name)
        if holder is None:  # the last folder's PromptError names its file
            holder = next((p for p in self.sets if not p.missing([name])), self.sets[-1])
            self._holder[name] = holder
        return holder.samples(name)

    def duration(self, names: list[str]) -> float:
        return duration(self, names)

    def missing(self, names: list[str]) -> list[str]:
        return [name for name in names if all(p.missing([name]) for p in self.sets)]
