"""What a reload of the configuration changes, and what of it only a restart can apply.

`compare(running, new)` is what `ccbox check NEW --against RUNNING` prints and what the live
appliance logs on SIGHUP. Everything in a site file applies to new calls on reload except
the media port range: the relay hands out ports of the range it was started with, and calls
up hold some of them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from appliance.config.schema import Site

RESTART_ONLY = frozenset({"media.rtp_port_min", "media.rtp_port_max"})
"""Settings a reload leaves as they are: they need a restart."""

SIMULATION_ONLY = frozenset({"traffic", "agent_behaviour"})
"""Sections only the simulator reads."""


@dataclass(frozen=True)
class Changes:
    """One line per change, e.g. ``queues.service.ring_timeout: 15.0 -> 20.0``."""

    applied: tuple[str, ...]
    """Changes a reload applies (to new calls; calls up keep going)."""
    restart: tuple[str, ...]
    """Changes a reload does not apply: they wait for a restart."""

    def __bool__(self) -> bool:
        return bool(self.applied or self.restart)


def compare(running: Site, new: Site) -> Changes:
    """What loading `new` into an appliance running `running` changes."""
    applied: list[str] = []
    restart: list[str] = []
    for line in _site_changes(running, new):
        key = line.split(":", 1)[0]
        (restart if key in RESTART_ONLY else applied).append(line)
    return Changes(tuple(applied), tuple(restart))


def effective(running: Site, new: Site) -> Site:
    """`new` as a reload applies it: the settings that need a restart keep their running
    values."""
    media = new.media.model_copy(update={"rtp_port_min": running.media.rtp_port_min,
                                         "rtp_port_max": running.media.rtp_port_max})
    return new.model_copy(update={"media": media})


def _site_changes(old: Site, new: Site) -> Iterator[str]:
    for field in ("site", "description"):
        if getattr(old, field) != getattr(new, field):
            yield f"{field}: {getattr(old, field)!r} -> {getattr(new, field)!r}"
    yield from _named("queues", old.queues, new.queues)
    yield from _agents(old, new)
    if old.routes != new.routes:
        yield (f"routes: {len(old.routes)} -> {len(new.routes)} routes, "
               f"first difference at routes[{_first_difference(old.routes, new.routes)}]")
    yield from _named("trunk_groups", old.trunk_groups, new.trunk_groups)
    yield from _fields("sip", old.sip, new.sip, skip=frozenset({"phones"}))
    yield from _named("sip.phones", old.sip.phones, new.sip.phones, key="user")
    yield from _fields("media", old.media, new.media)
    for section in sorted(SIMULATION_ONLY):
        if getattr(old, section) != getattr(new, section):
            yield f"{section}: changed (read by the simulator only)"
    for section in Site.model_fields:
        if section not in _COMPARED_ABOVE | SIMULATION_ONLY:
            yield from _section(section, getattr(old, section), getattr(new, section))


_COMPARED_ABOVE = frozenset({"site", "description", "queues", "agents", "routes",
                             "trunk_groups", "sip", "media"})


def _section(section: str, old: Any, new: Any) -> Iterator[str]:
    """The changes to a section without a comparison of its own: by name for a list of
    named items (gateways, campaigns), field by field for a settings block (ivr)."""
    if old == new:
        return
    if isinstance(old, BaseModel) and isinstance(new, BaseModel):
        yield from _fields(section, old, new)
    elif _all_named(old) and _all_named(new):
        yield from _named(section, old, new)
    else:
        yield f"{section}: {_show(old)} -> {_show(new)}"


def _all_named(items: Any) -> bool:
    return isinstance(items, list | tuple) and all(hasattr(item, "name") for item in items)


def _agents(old: Site, new: Site) -> Iterator[str]:
    before = {a.id: a for a in old.expanded_agents()}
    after = {a.id: a for a in new.expanded_agents()}
    added = [a for a in after if a not in before]
    removed = [a for a in before if a not in after]
    if added:
        yield f"agents: added {_ids(added)} (may log in)"
    if removed:
        yield f"agents: removed {_ids(removed)} (logged out, after their call if on one)"
    for agent_id, agent in after.items():
        was = before.get(agent_id)
        if was is not None and dict(was.skills) != dict(agent.skills):
            old_skills, new_skills = _show(dict(was.skills)), _show(dict(agent.skills))
            yield f"agents.{agent_id}.skills: {old_skills} -> {new_skills}"


def _named(section: str, old: Sequence[Any], new: Sequence[Any], key: str = "name",
           ) -> Iterator[str]:
    before = {getattr(item, key): item for item in old}
    after = {getattr(item, key): item for item in new}
    added = [name for name in after if name not in before]
    removed = [name for name in before if name not in after]
    if added:
        yield f"{section}: added {', '.join(added)}"
    if removed:
        yield f"{section}: removed {', '.join(removed)}"
    for name, item in after.items():
        if name in before:
            yield from _fields(f"{section}.{name}", before[name], item)


def _fields(prefix: str, old: BaseModel, new: BaseModel,
            skip: frozenset[str] = frozenset()) -> Iterator[str]:
    for field in type(new).model_fields:
        if field in skip:
            continue
        was, now = getattr(old, field), getattr(new, field)
        if was == now:
            continue
        if isinstance(was, BaseModel) and isinstance(now, BaseModel) and type(was) is type(now):
            yield from _fields(f"{prefix}.{field}", was, now)
        else:
            yield f"{prefix}.{field}: {_show(was)} -> {_show(now)}"


def _first_difference(old: Sequence[Any], new: Sequence[Any]) -> int:
    return next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b),
                min(len(old), len(new)))


def _show(value: Any) -> str:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json", exclude_defaults=True)
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return str(value)


def _ids(ids: list[str], most: int = 10) -> str:
    shown = ", ".join(ids[:most])
    return shown if len(ids) <= most else f"{shown} and {len(ids) - most} more"


def describe(changes: Changes) -> list[str]:
    """The lines to print or log: the changes, then what needs a restart."""
    if not changes:
        return ["a reload changes nothing"]
    lines = [f"reload applies: {line}" for line in changes.applied]
    lines += [f"needs a restart: {line}" for line in changes.restart]
    return lines
