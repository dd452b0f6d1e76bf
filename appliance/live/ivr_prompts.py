"""The prompts a site's IVR plays, per language: the site's own texts (`ivr.prompts`) spoken
into the state folder, over the default set of the language; or, for a site that records its
own (`media.prompts`), that folder, which must then hold every prompt its flows play.

The site's texts are built once and again only when a text (or the builder) changes: a small
manifest beside them keeps a hash of what each file was made from.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

from appliance.config import Site
from appliance.config.ivr import LANGUAGES, Ivr, PlayNumber, SelectLanguage
from appliance.live.prompt_build import SpeechJob, builder_stamp, ensure_default_prompts, speak
from appliance.media.prompts import NUMBER_WORDS, duration
from appliance.storage.promptfiles import PromptLayers

SITE = "site"
"""The folder, under the prompts folder, of the site's own texts: `site/<language>/`."""
MANIFEST = "manifest.json"


def spoken_languages(site: Site) -> list[str]:
    """The languages calls may hear: the site's, its IVR's and every one a flow offers."""
    spoken = {site.media.language}
    if site.ivr is not None:
        spoken |= {site.ivr.language} | {
            language for flow in site.ivr.flows for node in flow.nodes
            if isinstance(node, SelectLanguage) for language in node.languages.values()}
    return [language for language in LANGUAGES if language in spoken]


def prompt_sets(site: Site, root: Path) -> dict[str, PromptLayers]:
    """The prompts of each spoken language, the site's texts built first if need be, and the
    default sets under `root` too (PromptBuildError without espeak-ng or sox)."""
    if site.media.prompts is not None:
        return {language: PromptLayers([own_folder(site, language)])
                for language in spoken_languages(site)}
    built = root / SITE
    if site.ivr is not None:
        ensure_ivr_prompts(site.ivr, built)
    return {language: PromptLayers([built / language, ensure_default_prompts(language, root)])
            for language in spoken_languages(site)}


def own_folder(site: Site, language: str) -> Path:
    """Where a site's own recordings of `language` are: `media.prompts` for the site's
    language, its sub-folder named for the language (`zh/`) for another."""
    assert site.media.prompts is not None
    own = Path(site.media.prompts)
    return own if language == site.media.language else own / language


class PromptTimes:
    """`prompt_seconds` for call control: how long prompts play, from the files' lengths."""

    def __init__(self, sets: dict[str, PromptLayers]) -> None:
        self.sets = sets

    def __call__(self, names: Sequence[str], language: str) -> float:
        return duration(self.sets[language], list(names))


# --- building the site's texts ---------------------------------------------------------------


def ensure_ivr_prompts(ivr: Ivr, folder: Path) -> list[Path]:
    """Speak every text of `ivr.prompts` whose file is missing or was made from another text
    into `folder/<language>/<name>.wav`; the files written."""
    jobs = stale_prompts(ivr, folder)
    if not jobs:
        return []
    written = speak(jobs)
    made = _manifest(folder)
    made.update({f"{job.language}/{job.name}": _made_from(job.language, job.text)
                 for job in jobs})
    partial = folder / f".{MANIFEST}.{os.getpid()}"
    partial.write_text(json.dumps(made, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(partial, folder / MANIFEST)
    return written


def stale_prompts(ivr: Ivr, folder: Path) -> list[SpeechJob]:
    """The site's prompts to (re)build: missing, or made from another text or builder."""
    made = _manifest(folder)
    return [SpeechJob(folder / language, language, name, text)
            for name, texts in ivr.prompts.items() for language, text in texts.items()
            if made.get(f"{language}/{name}") != _made_from(language, text)
            or not (folder / language / f"{name}.wav").is_file()]


def _made_from(language: str, text: str) -> str:
    return hashlib.sha256((builder_stamp(language) + text).encode()).hexdigest()[:16]


def _manifest(folder: Path) -> dict[str, str]:
    try:
        made = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # none yet, or damaged: everything is built again
    return made if isinstance(made, dict) else {}


# --- what the flows play ---------------------------------------------------------------------


def flow_prompts(ivr: Ivr, language: str) -> dict[str, list[str]]:
    """Every prompt the flows may play in `language`, with the nodes that play it ("flow
    main, node menu"); PLAY NUMBER needs the language's digits and number words."""
    needed: dict[str, list[str]] = {}
    for flow in ivr.flows:
        for node in flow.nodes:
            place = f"flow {flow.name}, node {node.name}"
            names = [name for names in node.prompt_lists().values() for name in names]
            if isinstance(node, PlayNumber):
                names += [f"digit-{d}" for d in range(10)] + list(NUMBER_WORDS[language])
            for name in dict.fromkeys(names):
                needed.setdefault(name, []).append(place)
    return needed
