"""Generate the default prompt sets with espeak-ng and sox (Debian packages), and the default
music on hold, reproducibly.

Runs at install time (or on first use), not on the call path: the same texts and tools give
the same files. The music needs neither tool: it is synthesised with numpy from a fixed score.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import numpy as np

from appliance.config.live import Media
from appliance.media.prompts import PHRASES, SAMPLE_RATE, default_prompt_texts
from appliance.state import StateFolder
from appliance.storage.promptfiles import PromptSet

# Mandarin is the "latin as pinyin" voice: espeak-ng 1.51's plain `cmn` (Debian bookworm) turns
# a character into pinyin with a tone digit, then reads that digit aloud in English ("yi one").
VOICES = {"en": "en-gb", "zh": "cmn-latn-pinyin"}
MUSIC = Path("music") / "default.wav"
"""Where the default music on hold goes, relative to a prompts folder."""
BUILDER = 2
"""Raised whenever the builder would now make different files from the same texts (a voice,
an effect): a box's default prompts, stamped with what built them, are then built again."""
STAMP = ".builder"
"""The file in a language's folder of default prompts naming what built them."""


class PromptBuildError(RuntimeError):
    pass


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise PromptBuildError(f"{name} is not installed (Debian: apt-get install espeak-ng sox)")
    return path


def tools_available() -> bool:
    """Whether espeak-ng and sox are installed, so the default prompts can be built."""
    return all(shutil.which(name) is not None for name in ("espeak-ng", "sox"))


def default_prompts_folder() -> Path:
    """Where the default prompt sets live: `prompts/` in the default state folder (never in
    the package), one sub-folder per language plus `music/`."""
    return StateFolder.default().prompts


def site_prompts_folder(media: Media, root: Path | None = None) -> Path:
    """The folder of a site's prompts: its own (`media.prompts`), else the default set of
    its language under `root` (default: `default_prompts_folder()`), built first if missing
    (PromptBuildError without espeak-ng or sox)."""
    if media.prompts is not None:
        return Path(media.prompts)
    return ensure_default_prompts(media.language, root)


def ensure_default_prompts(language: str, root: Path | None = None) -> Path:
    """The folder of `language`'s default prompts, built first if any prompt is missing.

    `root` defaults to `default_prompts_folder()`. Safe to call from several processes at
    once: each file appears whole or not at all. Raises PromptBuildError when a prompt has
    to be built and espeak-ng or sox is missing, KeyError for an unknown language.
    """
    root = default_prompts_folder() if root is None else Path(root)
    folder = root / language
    names = list(default_prompt_texts(language))
    rebuild = PromptSet(folder).missing(names)
    # Prompts an older builder made are kept where no tool is there to make them anew.
    if not is_current(folder, language) and tools_available():
        rebuild = names
    if rebuild:
        build_prompts(root, (language,), only=rebuild)
    return folder


def builder_stamp(language: str) -> str:
    """What the prompts of `language` built now are made with: the builder and the voice."""
    return f"{BUILDER} {VOICES[language]}\n"


def is_current(folder: Path, language: str) -> bool:
    """Whether `folder` was built by this builder (a folder with no stamp was not)."""
    try:
        return (Path(folder) / STAMP).read_text(encoding="utf-8") == builder_stamp(language)
    except OSError:
        return False


def ensure_default_music(root: Path | None = None) -> Path:
    """The default music-on-hold file, written first if it is not there yet."""
    root = default_prompts_folder() if root is None else Path(root)
    path = root / MUSIC
    if not path.is_file():
        build_music(path)
    return path


def build_prompts(out: Path, languages: Iterable[str] = ("en", "zh"),
                  only: Iterable[str] | None = None) -> list[Path]:
    """Write `out/<language>/<prompt>.wav` for every prompt of the default sets
    (`default_prompt_texts`), or those in `only`.

    A full build (`only` None) also writes the default music on hold, `out/music/default.wav`,
    last in the list returned. The list is in the order of the languages and their prompts.
    """
    wanted = set(only) if only is not None else None
    languages = list(languages)
    jobs = [SpeechJob(Path(out) / language, language, name, text, name not in PHRASES[language])
            for language in languages
            for name, text in default_prompt_texts(language).items()
            if wanted is None or name in wanted]
    written = speak(jobs)
    for language in languages:  # every prompt of the language made now: stamp the folder
        if wanted is None or wanted >= set(default_prompt_texts(language)):
            (Path(out) / language / STAMP).write_text(builder_stamp(language), encoding="utf-8")
    if wanted is None:
        written.append(build_music(Path(out) / MUSIC))
    return written


class SpeechJob(NamedTuple):
    """One prompt to speak: `text` in `language` into `folder/<name>.wav`; a `word` (a
    digit, a number word) ends short, to be read out with others."""

    folder: Path
    language: str
    name: str
    text: str
    word: bool = False


def speak(jobs: Sequence[SpeechJob]) -> list[Path]:
    """Write each job's file (whole or not at all); the paths, in the order of `jobs`.
    PromptBuildError without espeak-ng or sox, or when one of them fails."""
    tools = _tool("espeak-ng"), _tool("sox")
    for folder in {job.folder for job in jobs}:
        folder.mkdir(parents=True, exist_ok=True)
    with (tempfile.TemporaryDirectory(prefix="ccbox-prompts-") as tmp,
          ThreadPoolExecutor(max_workers=_WORKERS) as pool):
        # Each prompt is two short tool runs of its own: run a few at once. Every file is
        # made alone from its text, so the order they finish in changes no byte.
        return list(pool.map(lambda job: _build_one(*tools, Path(tmp), job), jobs))


_WORKERS = min(4, os.cpu_count() or 1)

_WORD_END = ["reverse", "silence", "1", "0.01", "1%", "reverse", "pad", "0", "0.1"]
"""A word (a digit, a number word) ends 0.1 s after its sound: espeak-ng ends every text with
the pause of a full stop, 0.4 s, which between the words of a number sounds halting."""


def _build_one(espeak: str, sox: str, tmp: Path, job: SpeechJob) -> Path:
    """Speak the job's text into its file, in the telephone format."""
    raw = tmp / f"{job.language}-{job.name}.wav"
    _run([espeak, "-v", VOICES[job.language], "-s", "150", "-w", str(raw), job.text])
    target = job.folder / f"{job.name}.wav"
    partial = _partial(target)
    # 8 kHz mono 16-bit, the telephone format; a little headroom against clipping; no
    # dither (-D), which is random and would make every build differ.
    _run([sox, "-D", str(raw), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(partial),
          "gain", "-n", "-3", *(_WORD_END if job.word else [])])
    os.replace(partial, target)
    return target


def _partial(target: Path) -> Path:
    """A name beside `target` to write to first, then rename: readers (another process
    building the same set, say) never see half a file."""
    return target.with_name(f".{target.stem}.{os.getpid()}.partial{target.suffix}")


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    if result.returncode != 0:
        raise PromptBuildError(f"{' '.join(command[:2])} failed: {result.stderr.strip()}")


# --- music on hold -------------------------------------------------------------------

BAR_SECONDS = 3.0
"""One bar of four beats at 80 beats a minute; eight bars make a 24-second loop."""

# The score: per bar a chord (bass note, four arpeggio notes) and two melody notes, as MIDI
# note numbers. C - Am - F - G, then C - Am - Dm - G, which leads back to the first bar.
_BASS = [48, 45, 53, 55, 48, 45, 50, 55]
_CHORDS = [
    [60, 64, 67, 72], [57, 60, 64, 69], [57, 60, 65, 69], [59, 62, 67, 71],
    [60, 64, 67, 72], [57, 60, 64, 69], [57, 62, 65, 69], [59, 62, 67, 71],
]
_MELODY = [[76, 79], [76, 72], [77, 81], [79, 74], [72, 76], [81, 76], [77, 74], [71, 74]]
# Two arpeggio figures, alternating bar by bar, so no two neighbouring bars sound alike.
_FIGURES = [[0, 1, 2, 3, 2, 1, 0, 1], [0, 2, 1, 3, 1, 2, 3, 2]]


def music_samples() -> np.ndarray:
    """The default music on hold: a soft, looping 24-second piece, 8 kHz 16-bit samples.

    Bell-like notes (a sine with two quiet overtones and an exponential decay): a bass note a
    bar, an arpeggio in eighth notes and a slow melody on top. Tails that ring past the end
    wrap round to the start, so the loop has no seam. Pure arithmetic, no randomness: every
    build gives the same samples.
    """
    length = round(len(_BASS) * BAR_SECONDS * SAMPLE_RATE)
    mix = np.zeros(length)
    eighth = BAR_SECONDS / 8
    for bar, bass in enumerate(_BASS):
        start = bar * BAR_SECONDS
        _add_note(mix, start, bass, BAR_SECONDS, 0.5, decay=1.2)
        for step, index in enumerate(_FIGURES[bar % 2]):
            note = _CHORDS[bar][index]
            _add_note(mix, start + step * eighth, note, eighth * 2, 0.3, decay=0.35)
        for half, note in enumerate(_MELODY[bar]):
            _add_note(mix, start + half * BAR_SECONDS / 2, note, BAR_SECONDS, 0.4, decay=0.8)
    # About -6 dBFS at the loudest: room for the telephone codec and no clipping.
    mix *= 0.5 * 32767 / np.abs(mix).max()
    return np.round(mix).astype(np.int16)


def _add_note(mix: np.ndarray, start: float, note: int, seconds: float, level: float,
              decay: float) -> None:
    """Add one note to `mix`, its samples past the end wrapped round to the start."""
    frequency = 440.0 * 2.0 ** ((note - 69) / 12)
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    attack = np.minimum(t / 0.01, 1.0)  # 10 ms: no click
    release = np.minimum((seconds - t) / 0.05, 1.0)  # 50 ms fade before the note stops
    tone = (np.sin(2 * np.pi * frequency * t) + 0.3 * np.sin(4 * np.pi * frequency * t)
            + 0.1 * np.sin(6 * np.pi * frequency * t))
    sound = level * attack * release * np.exp(-t / decay) * tone
    first = round(start * SAMPLE_RATE)
    inside = min(len(sound), len(mix) - first)
    mix[first:first + inside] += sound[:inside]
    mix[:len(sound) - inside] += sound[inside:]


def build_music(path: Path) -> Path:
    """Write the default music on hold to `path` (8 kHz mono 16-bit WAV); returns `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = _partial(path)
    with wave.open(str(partial), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(music_samples().astype("<i2").tobytes())
    os.replace(partial, path)
    return path
