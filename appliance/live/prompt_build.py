"""Generate the default prompt sets with espeak-ng and sox (Debian packages), reproducibly.

Runs at install time, not on the call path: the same texts and tools give the same files.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

from appliance.media.prompts import SAMPLE_RATE, prompt_texts

VOICES = {"en": "en-gb", "zh": "cmn"}


class PromptBuildError(RuntimeError):
    pass


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise PromptBuildError(f"{name} is not installed (Debian: apt-get install espeak-ng sox)")
    return path


def build_prompts(out: Path, languages: Iterable[str] = ("en", "zh"),
                  only: Iterable[str] | None = None) -> list[Path]:
    """Write `out/<language>/<prompt>.wav` for every prompt (or those in `only`)."""
    espeak, sox = _tool("espeak-ng"), _tool("sox")
    wanted = set(only) if only is not None else None
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="ccbox-prompts-") as tmp:
        for language in languages:
            folder = Path(out) / language
            folder.mkdir(parents=True, exist_ok=True)
            for name, text in prompt_texts(language).items():
                if wanted is not None and name not in wanted:
                    continue
                raw = Path(tmp) / f"{language}-{name}.wav"
                _run([espeak, "-v", VOICES[language], "-s", "150", "-w", str(raw), text])
                target = folder / f"{name}.wav"
                # 8 kHz mono 16-bit, the telephone format; a little headroom against clipping;
                # no dither (-D), which is random and would make every build differ.
                _run([sox, "-D", str(raw), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16",
                      str(target), "gain", "-n", "-3"])
                written.append(target)
    return written


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    if result.returncode != 0:
        raise PromptBuildError(f"{' '.join(command[:2])} failed: {result.stderr.strip()}")
