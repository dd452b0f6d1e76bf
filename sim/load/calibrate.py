"""What a live load measured of the timings the simulator assumes, and a site file with them.

The box's records of a load run say how long things took as the box saw them; the site the
run played (compressed: ``sim.load.compress``) says what the simulator assumed. Measured:

* ``answer_delay``: an agent's ring to its answer (``AgentRung`` -> ``CallAnswered``), beside
  ``agent_behaviour.answer_delay``: live, each ring's SIP round trips and the load side's
  lag come on top of the model's delay;
* ``missed_rings``: the share of rings that went unanswered, beside
  ``agent_behaviour.no_answer_probability`` (answers too late for ``ring_timeout`` count);
* ``setup``: a call's offer to its queueing (``CallOffered`` -> ``CallQueued``), which the
  model takes as instant: the box's own signalling and routing time;
* ``announcements``: how long the announcements played, from the prompts the box plays
  for each (position, expected wait) announced, beside the queues' ``duration``;
* ``wrap_up``: an agent's after-call work (``wrap_up`` state to the next), beside
  ``agent_behaviour.wrap_up``, else the queue's automatic ``wrap_up``.

Differences are wall-clock seconds that a speed-up does not shorten, so ``calibrated_behaviour``
adds them, unscaled, to the real-speed site's own distributions.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from appliance.config import Site
from appliance.config.loader import load_site
from appliance.config.schema import AgentBehaviour
from appliance.events import (
    AgentRung,
    AgentState,
    AgentStateChanged,
    CallAnnounced,
    CallAnswered,
    CallOffered,
    CallQueued,
    Record,
    RingNoAnswer,
)

AnnouncementSeconds = Callable[[int, float | None], float]
SECTION = "agent_behaviour"
MARK = "# Measured by `ccbox load --calibrate`"
NOISE = 2.0  # standard errors a mean must lie off the configured value to be more than noise
FLOOR = 0.005  # seconds: a difference smaller than this is no difference, however sure


@dataclass(frozen=True)
class Sample:
    """Values measured ``n`` times: their mean and standard deviation (None without any;
    the deviation needs two)."""

    n: int
    mean: float | None
    sd: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> Sample:
        mean = statistics.fmean(values) if values else None
        return cls(len(values), mean, statistics.stdev(values) if len(values) > 1 else None)


@dataclass(frozen=True)
class Timing:
    """One figure the simulator assumes, measured live, beside the run's configured mean."""

    name: str
    label: str
    measured: Sample
    configured: float | None
    unit: str = "s"
    """"s" for seconds, "share" for a probability."""

    @property
    def excess(self) -> float | None:
        """Measured minus configured mean; None where either is missing."""
        if self.measured.mean is None or self.configured is None:
            return None
        return self.measured.mean - self.configured

    @property
    def significant(self) -> bool:
        """Whether the measured mean lies off the configured one by more than noise
        (``NOISE`` standard errors, and at least ``FLOOR``)."""
        excess, sd, n = self.excess, self.measured.sd, self.measured.n
        if excess is None or sd is None:
            return False
        if self.unit == "share":  # a share's spread is its own: 0 unanswered of 13 says little
            share = max(self.measured.mean or 0.0, self.configured or 0.0)
            sd = max(sd, math.sqrt(share * (1 - share)))
        return abs(excess) > max(FLOOR, NOISE * sd / math.sqrt(n))

    def describe(self) -> str:
        """``"3.21 s over 40, configured 0.10 s"``."""
        show = _shown(self.unit)
        configured = "-" if self.configured is None else show(self.configured)
        measured = "-" if self.measured.mean is None else show(self.measured.mean)
        return f"{measured} over {self.measured.n}, configured {configured}"

    def to_dict(self) -> dict[str, Any]:
        sample = self.measured
        return {"name": self.name, "label": self.label, "unit": self.unit, "n": sample.n,
                "measured": sample.mean, "sd": sample.sd, "configured": self.configured,
                "excess": self.excess, "significant": self.significant}


def _shown(unit: str) -> Callable[[float], str]:
    return (lambda v: f"{v:.1%}") if unit == "share" else (lambda v: f"{v:.2f} s")


@dataclass(frozen=True)
class Calibration:
    """The timings of one live run, in the run's own (compressed) seconds."""

    speedup: float
    timings: dict[str, Timing]

    def to_dict(self) -> dict[str, Any]:
        return {"speedup": self.speedup,
                "timings": [timing.to_dict() for timing in self.timings.values()]}


def measure(records: Iterable[Record], site: Site, speedup: float,
            announcement_seconds: AnnouncementSeconds | None = None) -> Calibration:
    """The timings (module docstring) of a run of ``site`` - the compressed site the box
    ran - from the box's ``records``, in time order; ``announcement_seconds`` is how long
    the box's announcements play (None: the queues' configured ``duration``)."""
    records = list(records)
    behaviour = site.agent_behaviour
    wrap_ups = _wrap_ups(records)
    timings = [
        Timing("answer_delay", "Ring to answer", Sample.of(_ring_to_answer(records)),
               behaviour.answer_delay.mean_value),
        Timing("missed_rings", "Rings unanswered", Sample.of(_missed_rings(records)),
               behaviour.no_answer_probability, "share"),
        Timing("setup", "Offer to queue", Sample.of(_setup(records)), 0.0),
        _announcements(records, site, announcement_seconds),
        Timing("wrap_up", "Wrap-up", Sample.of([s for _, s in wrap_ups]),
               _configured_wrap_up(site, [queue for queue, _ in wrap_ups])),
    ]
    return Calibration(speedup, {timing.name: timing for timing in timings})


def _ring_to_answer(records: list[Record]) -> list[float]:
    rung: dict[tuple[int, str], float] = {}
    seconds = []
    for record in records:
        if type(record) is AgentRung:
            rung[(record.call, record.agent)] = record.t
        elif type(record) is CallAnswered and (record.call, record.agent) in rung:
            seconds.append(record.t - rung.pop((record.call, record.agent)))
    return seconds


def _missed_rings(records: list[Record]) -> list[float]:
    """1 for each ring that went unanswered, 0 for each other ring."""
    rings = sum(type(record) is AgentRung for record in records)
    missed = sum(type(record) is RingNoAnswer for record in records)
    return [1.0] * missed + [0.0] * (rings - missed)


def _setup(records: list[Record]) -> list[float]:
    offered: dict[int, float] = {}
    seconds = []
    for record in records:
        if type(record) is CallOffered:
            offered[record.call] = record.t
        elif type(record) is CallQueued and record.call in offered:
            seconds.append(record.t - offered.pop(record.call))
    return seconds


def _wrap_ups(records: list[Record]) -> list[tuple[str, float]]:
    """(queue of the call, seconds) of every wrap-up that ended."""
    queue_of = {r.call: r.queue for r in records if type(r) is CallAnswered}
    began: dict[str, tuple[float, int]] = {}
    done = []
    for record in records:
        if type(record) is not AgentStateChanged:
            continue
        start = began.pop(record.agent, None)
        if start is not None and start[1] in queue_of:
            done.append((queue_of[start[1]], record.t - start[0]))
        if record.state == AgentState.WRAP_UP:
            began[record.agent] = (record.t, record.call)
    return done


def _configured_wrap_up(site: Site, queues: list[str]) -> float | None:
    """The agents' own wrap-up, else the mean automatic wrap-up of the queues served."""
    if site.agent_behaviour.wrap_up is not None:
        return site.agent_behaviour.wrap_up.mean_value
    if not queues:
        return None
    return statistics.fmean(site.queue(queue).wrap_up for queue in queues)


def _announcements(records: list[Record], site: Site,
                   seconds: AnnouncementSeconds | None) -> Timing:
    announced = [r for r in records if type(r) is CallAnnounced]
    durations = {q.name: q.announcements.duration for q in site.queues if q.announcements}
    configured = [durations[r.queue] for r in announced if r.queue in durations]
    played = configured if seconds is None else [
        seconds(r.position, r.expected_wait) for r in announced]
    return Timing("announcements", "Announcement length", Sample.of(played),
                  statistics.fmean(configured) if configured else None)


# --- the site file's section ----------------------------------------------------------------


def calibrated_behaviour(site: Site, calibration: Calibration) -> dict[str, Any]:
    """``site``'s ``agent_behaviour`` (the real-speed site's) with its answer delay and
    wrap-up moved by what the run measured beyond noise, in the schema's own form: the
    fields the site set, and those moved."""
    behaviour = site.agent_behaviour.model_dump(mode="json")
    shown = set(site.agent_behaviour.model_fields_set)
    for name in ("answer_delay", "wrap_up"):
        timing = calibration.timings.get(name)
        if behaviour[name] is not None and timing is not None and timing.significant:
            behaviour[name] = shifted(behaviour[name], timing.excess or 0.0)
            shown.add(name)
    AgentBehaviour.model_validate(behaviour)  # a bug here must not reach the user's file
    return {key: value for key, value in behaviour.items() if key in shown}


def shifted(dist: dict[str, Any], seconds: float) -> dict[str, Any]:
    """A distribution (as ``model_dump`` gives it) ``seconds`` later, never below zero. An
    exponential's shift has no form of its own: a lognormal of the same spread stands in."""
    kind, at_least = dist["dist"], lambda v: _round(max(0.0, v + seconds))
    if kind == "fixed":
        return {**dist, "value": at_least(dist["value"])}
    if kind == "empirical":
        return {**dist, "values": [at_least(v) for v in dist["values"]]}
    if kind == "uniform":
        low = at_least(dist["low"])
        return {**dist, "low": low, "high": max(at_least(dist["high"]), low + 0.001)}
    mean = dist["mean"] + seconds
    if mean <= 0:
        return {"dist": "fixed", "value": 0.0}
    return {"dist": "lognormal", "mean": _round(mean), "sd": dist.get("sd", dist["mean"])}


def _round(seconds: float) -> float:
    return round(seconds, 3)


def section_text(behaviour: dict[str, Any], calibration: Calibration) -> str:
    """The ``agent_behaviour`` section as YAML, under a comment of what was measured."""
    lines = [f"{MARK} (a run at {calibration.speedup:g}x; seconds as the box saw them)."]
    lines += [f"#   {timing.label}: {timing.describe()}" for timing in
              calibration.timings.values()]
    body = yaml.safe_dump({SECTION: behaviour}, sort_keys=False, default_flow_style=None)
    return "\n".join(lines) + "\n" + body


_TOP_LEVEL = re.compile(r"^[^\s#]")


def with_section(text: str, section: str) -> str:
    """Site file ``text`` with its top-level ``agent_behaviour`` block (and the comment a
    previous calibration put above it) replaced by ``section``, or ``section`` appended.
    Every other line is kept as it was."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(f"{SECTION}:")), None)
    if start is None:
        return text.rstrip("\n") + "\n\n" + section
    end = start + 1
    while end < len(lines) and not _TOP_LEVEL.match(lines[end]):
        end += 1
    while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
        end -= 1  # comments and blank lines before the next key are that key's
    start = _own_comment_start(lines, start)
    kept = [*lines[:start], *section.rstrip("\n").splitlines(), *lines[end:]]
    return "\n".join(kept) + "\n"


def _own_comment_start(lines: list[str], start: int) -> int:
    """Where the comment a previous calibration wrote above line ``start`` begins."""
    first = start
    while first > 0 and lines[first - 1].startswith("#   "):  # its measurements
        first -= 1
    return first - 1 if first > 0 and lines[first - 1].startswith(MARK) else start


def write_calibrated(source: Path, site: Site, calibration: Calibration, target: Path) -> Site:
    """Write site file ``source`` (``site`` as read from it) to ``target`` - which may be
    ``source`` itself - with its ``agent_behaviour`` calibrated, and return the site read
    back from ``target``: ConfigError if it does not validate there (a copy in another
    folder loses the site's relative paths)."""
    section = section_text(calibrated_behaviour(site, calibration), calibration)
    target.write_text(with_section(source.read_text(encoding="utf-8-sig"), section))
    return load_site(target)
