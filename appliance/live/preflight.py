"""What `ccbox serve` checks before it starts, and `ccbox check` shows without starting.

Problems stop the start (the appliance never runs half-configured); warnings say why a site
that starts may still take no call. Nothing here writes anything: `check` may run it on a
machine the appliance does not run on, and `serve` runs it before it may create its files.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

from appliance.config import Site
from appliance.live.ivr_prompts import (
    SITE,
    flow_prompts,
    own_folder,
    spoken_languages,
    stale_prompts,
)
from appliance.live.prompt_build import tools_available
from appliance.lookups import SiteLookups
from appliance.media.prompts import (
    AGENT_PROMPTS,
    CALLBACK_PROMPTS,
    RETRIEVAL_PROMPTS,
    ROUTE_PROMPTS,
    prompt_texts,
)
from appliance.pbx.sip.digest import ha1
from appliance.state import StateFolder
from appliance.storage.promptfiles import PromptSet

EXAMPLE_PASSWORD_SUFFIX = "-example"
"""The shipped sites' phones have the password `<user>-example` (README): fine on 127.0.0.1,
never beyond it."""


@dataclass
class Preflight:
    """`problems`: (field path, message) pairs as `ConfigError` lists them; `warnings`: lines."""

    problems: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def preflight(site: Site, state: StateFolder, records: Path | None = None,
              address: str | None = None) -> Preflight:
    """Everything that would stop `serve` on `site` before a call, and what would make it
    take no call. `records` is the database `serve` would use (default: the state folder's);
    `address` the one it would listen on (for the example-password warning)."""
    found = Preflight()
    _check_sounds(site, state, found)
    if site.ivr is not None:
        found.problems += SiteLookups(site.ivr, state).problems()
    _check_writable(state.root, "state folder", found)
    recordings = state.resolve(site.media.recording.folder)
    if site.media.recording.enabled:
        _check_writable(recordings, "media.recording.folder", found)
    # The state folder is created at start; a database elsewhere must have its folder.
    if records is not None and records.parent != state.root and not records.parent.is_dir():
        found.problems.append(("--records", f"{records.parent} is not a folder"))
    found.problems += _callback_routes(site)
    found.warnings += reachability_warnings(site)
    if address is not None and not _loopback(address) and _example_passwords(site):
        found.warnings.append(
            f"phones {', '.join(_example_passwords(site))} still have the example password "
            f"'<user>{EXAMPLE_PASSWORD_SUFFIX}' and the appliance listens on {address}: give "
            "them their own (`ccbox passwd USER --realm REALM`)")
    return found


def reachability_warnings(site: Site) -> list[str]:
    """Why `site` would take no call at all, or leave agents unreachable."""
    warnings = []
    if not any(group.peers for group in site.trunk_groups):
        warnings.append("no trunk group has peers (trunk_groups[].peers): no call can come in")
    agents = {agent.id for agent in site.expanded_agents()}
    phones = {phone.user for phone in site.sip.phones}
    seated = agents & phones
    if agents and not seated:
        warnings.append("no agent has a phone in sip.phones: no agent can be reached, "
                        "so every call waits until it gives up")
    elif len(seated) < len(agents):
        missing = sorted(agents - phones)
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        warnings.append(f"{len(missing)} agents have no phone in sip.phones ({shown})")
    return warnings


def _callback_routes(site: Site) -> list[tuple[str, str]]:
    """A queue's callbacks call out through a trunk group with a route out (`outbound`):
    the one the queue names, else each group a caller may come in on."""
    problems = []
    for index, queue in enumerate(site.queues):
        callback = queue.callback
        if callback is None:
            continue
        names = ([callback.trunk_group] if callback.trunk_group else
                 [group.name for group in site.trunk_groups if group.peers])
        lacking = [name for name in names if site.trunk_group(name).outbound is None]
        if lacking:
            problems.append((f"queues.{index}.callback.trunk_group",
                             f"trunk group {', '.join(lacking)} has no route out "
                             "(trunk_groups[].outbound): the box cannot call customers back"))
    return problems


def _check_sounds(site: Site, state: StateFolder, found: Preflight) -> None:
    if site.media.prompts is not None:
        _check_own_prompts(site, found)
    elif not tools_available():
        _check_built_prompts(site, state, found)
    # The default music is synthesised at start: it needs no tool.
    if site.media.music is not None and not Path(site.media.music).is_file():
        found.problems.append(("media.music", f"{site.media.music} is not a file"))


def _check_own_prompts(site: Site, found: Preflight) -> None:
    """The site's own folder holds every prompt of its language and every one its flows
    play, in each language they speak."""
    folder = Path(site.media.prompts or "")
    if not folder.is_dir():
        found.problems.append(("media.prompts", f"{folder} is not a folder"))
        return
    for language in spoken_languages(site):
        needed = {} if site.ivr is None else flow_prompts(site.ivr, language)
        if language == site.media.language:
            optional = (ROUTE_PROMPTS | CALLBACK_PROMPTS | AGENT_PROMPTS
                        | (set() if site.voicemail.mailboxes else RETRIEVAL_PROMPTS))
            always = {name: [] for name in prompt_texts(language) if name not in optional}
            needed = {**always, **_route_prompts(site), **_callback_prompts(site), **needed}
        own = own_folder(site, language)
        missing = PromptSet(own).missing(list(needed))
        if missing:
            found.problems.append(("media.prompts", f"{own} lacks {_needed_by(missing, needed)}"))


def _route_prompts(site: Site) -> dict[str, list[str]]:
    """The prompts routes play (`prompt: closed`), each with the routes that play it."""
    played: dict[str, list[str]] = {}
    for index, route in enumerate(site.routes):
        for _, destination in route.destinations():
            kind, name = destination.target
            if kind == "prompt":
                played.setdefault(name, []).append(f"routes[{index}]")
    return played


def _callback_prompts(site: Site) -> dict[str, list[str]]:
    """The callback's prompts, each with the queues that offer callbacks."""
    queues = [f"queues[{i}].callback" for i, q in enumerate(site.queues) if q.callback]
    return {name: queues for name in sorted(CALLBACK_PROMPTS)} if queues else {}


def _needed_by(missing: list[str], needed: dict[str, list[str]]) -> str:
    """The missing files, those the same nodes play together: "a.wav, b.wav (flow f, node
    n); c.wav"."""
    groups: dict[str, list[str]] = {}
    for name in missing:
        groups.setdefault("; ".join(needed[name]), []).append(f"{name}.wav")
    return "; ".join(", ".join(files) + (f" ({places})" if places else "")
                     for places, files in groups.items())


def _check_built_prompts(site: Site, state: StateFolder, found: Preflight) -> None:
    """Without espeak-ng or sox, every prompt must have been built before."""
    unbuilt = [language for language in spoken_languages(site)
               if PromptSet(state.prompts / language).missing(list(prompt_texts(language)))]
    if unbuilt:
        found.problems.append(("media.prompts", f"the default prompts ({', '.join(unbuilt)}) "
                               f"are not built in {state.prompts} and espeak-ng or sox is not "
                               "installed to build them (Debian: apt-get install espeak-ng sox)"))
    stale = [] if site.ivr is None else stale_prompts(site.ivr, state.prompts / SITE)
    if stale:
        found.problems.append(("ivr.prompts", "prompts " + ", ".join(sorted(
            {job.name for job in stale})) + f" are not built (or their text changed) in "
            f"{state.prompts / SITE} and espeak-ng or sox is not installed to build them"))


def _check_writable(folder: Path, what: str, found: Preflight) -> None:
    """The folder, or the nearest existing parent it would be created in, is writable."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        found.problems.append((what, f"{folder}: {existing} is not a folder"))
    elif not os.access(existing, os.W_OK | os.X_OK):
        found.problems.append((what, f"{folder}: cannot write in {existing}"))


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == "localhost"


def _example_passwords(site: Site) -> list[str]:
    realm = site.sip.realm
    return [phone.user for phone in site.sip.phones
            if phone.ha1_md5 == ha1(phone.user, realm, phone.user + EXAMPLE_PASSWORD_SUFFIX,
                                    "MD5")]
