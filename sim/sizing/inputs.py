"""What a sizing question is made of: traffic per interval, handling, the service target,
callers' patience, self-service in the IVR, shrinkage and the trunks.

`SizingInputs` comes from a few numbers (what sales has in front of a customer) or from a site
configuration (`from_site`). Validation names the field and what was expected, as the site
files do.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from appliance.config import Site
from appliance.config.schema import format_time_of_day

_SL = re.compile(r"\s*(\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)\s*")

Fraction = Annotated[float, Field(ge=0, lt=1)]


class RuleInputs(BaseModel):
    """The sources' one-line rule: population x call rate x busy-hour share gives the busy
    hour's calls, divided over agents kept `max_occupancy` busy."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    population: Annotated[int, Field(ge=1)]
    call_rate: Annotated[float, Field(gt=0, le=1)]  # calls per person in the day
    busy_hour_share: Annotated[float, Field(gt=0, le=1)]

    @property
    def busy_hour_calls(self) -> float:
        return self.population * self.call_rate * self.busy_hour_share


class SizingInputs(BaseModel):
    """One sizing question. Rates are calls per hour offered to the center in each interval;
    times are seconds."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    calls_per_hour: Annotated[tuple[Annotated[float, Field(ge=0)], ...], Field(min_length=1)]
    interval_minutes: Annotated[int, Field(ge=1, le=1440)] = 60
    day_start: Annotated[float, Field(ge=0, lt=86_400)] = 8 * 3600.0
    aht: Annotated[float, Field(gt=0)] = 180.0
    sl_threshold: Annotated[float, Field(gt=0)] = 20.0
    sl_target: Annotated[float, Field(gt=0, lt=1)] = 0.8
    # Mean seconds a caller waits before hanging up (exponential); None: callers never leave.
    patience: Annotated[float, Field(gt=0)] | None = None
    # Callers who abandon call again with this probability (after about five minutes).
    retrial: Annotated[float, Field(ge=0, le=1)] = 0.0
    ivr_share: Fraction = 0.0  # calls that end in the IVR's self-service, never reaching agents
    ivr_seconds: Annotated[float, Field(ge=0)] = 60.0  # time such a call holds a trunk
    # Mean time in the IVR of the calls that go on to agents (0 for those routed straight to
    # a queue): a trunk held before the queue, on top of the wait and the talk.
    ivr_queue_seconds: Annotated[float, Field(ge=0)] = 0.0
    shrinkage: Fraction = 0.0  # paid time away from the phones (breaks, training, absence)
    max_occupancy: Annotated[float, Field(gt=0, le=1)] = 0.7  # the rule's occupancy cap
    trunks: Annotated[int, Field(ge=1)] | None = None  # given: report their blocking
    blocking_target: Annotated[float, Field(gt=0, lt=1)] = 0.01  # else: size trunks for this
    rule: RuleInputs | None = None

    @model_validator(mode="after")
    def _check(self) -> SizingInputs:
        if self.interval_minutes > 1440 or 1440 % self.interval_minutes:
            raise ValueError(f"interval_minutes: expected a divisor of 1440; got "
                             f"{self.interval_minutes}")
        return self

    @property
    def interval_seconds(self) -> float:
        return self.interval_minutes * 60.0

    def agent_rate(self, calls_per_hour: float) -> float:
        """Calls per second that reach the agents' queue (self-service taken out)."""
        return calls_per_hour * (1.0 - self.ivr_share) / 3600.0

    def ivr_trunk_load(self, calls_per_hour: float) -> float:
        """Erlangs the IVR holds on the trunks: the calls that end there for `ivr_seconds`,
        and those that go on to agents for `ivr_queue_seconds` before they queue."""
        ended = calls_per_hour * self.ivr_share / 3600.0 * self.ivr_seconds
        return ended + self.agent_rate(calls_per_hour) * self.ivr_queue_seconds

    def interval_label(self, index: int) -> str:
        start = (self.day_start + index * self.interval_seconds) % 86_400
        end = (start + self.interval_seconds) % 86_400
        return f"{format_time_of_day(start)}-{format_time_of_day(end)}"


def parse_service_level(text: str) -> tuple[float, float]:
    """`"80/20"` -> (0.8, 20.0): the share answered within the threshold in seconds."""
    match = _SL.fullmatch(text)
    if match is None:
        raise ValueError(f"expected a service level like 80/20 (percent/seconds); got {text!r}")
    percent, seconds = float(match[1]), float(match[2])
    if not 0 < percent < 100 or seconds <= 0:
        raise ValueError(f"expected 0 < percent < 100 and seconds > 0; got {text!r}")
    return percent / 100.0, seconds


def from_site(site: Site, **overrides: object) -> SizingInputs:
    """The sizing question a site's configuration asks: its traffic profile, its call types'
    mean talk time and patience (weighted by share), its first queue's service level and its
    trunk channels. Keyword arguments replace any field."""
    traffic = site.traffic
    if traffic is None:
        raise ValueError(f"site {site.site!r} has no traffic section to size from")
    types = traffic.call_types
    total = sum(t.share for t in types)
    aht = sum(t.share * t.talk_time.mean_value for t in types) / total
    wrap = site.agent_behaviour.wrap_up
    aht += wrap.mean_value if wrap is not None else site.queues[0].wrap_up
    patient = [t for t in types if t.patience is not None]
    patience = None
    if patient:
        patience = sum(t.share * t.patience.mean_value for t in patient) / sum(  # type: ignore[union-attr]
            t.share for t in patient)
    queue = site.queues[0]
    values: dict[str, object] = {
        "calls_per_hour": traffic.profile,
        "interval_minutes": traffic.interval_minutes,
        "day_start": float(traffic.start),
        "aht": aht,
        "sl_threshold": queue.service_level.threshold,
        "sl_target": queue.service_level.target,
        "patience": patience,
        "retrial": max(t.retrial.after_abandon for t in types),
        "trunks": sum(group.channels for group in site.trunk_groups),
    }
    values.update(overrides)
    return SizingInputs.model_validate(values)
