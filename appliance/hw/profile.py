"""Gateway profiles as data: a real product's port layout and timings, validated with pydantic.
This module reads no file; `appliance/config/gateways.py` loads the YAML files (the built-in
ones are in `profiles/`) and reports errors by file and field.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, WrapValidator, model_validator

from . import kinds
from .capabilities import Capabilities, Supervision
from .gateway import Gateway
from .kinds import RingCadence
from .port import Port
from .toneplan import TONE_PLANS, TonePlan
from .tones import CADENCES, Cadence, cadence

Seconds = Annotated[float, Field(ge=0)]
PositiveSeconds = Annotated[float, Field(gt=0)]
Count = Annotated[int, Field(ge=1, le=1000)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False, strict=False)


class CadenceData(_Frozen):
    """Written `[on, off]` in seconds (a mapping `{on: .., off: ..}` is taken too, although
    YAML reads those keys as true and false)."""

    on: PositiveSeconds
    off: PositiveSeconds

    @model_validator(mode="before")
    @classmethod
    def _from_pair(cls, value: object) -> object:
        if isinstance(value, list | tuple) and len(value) == 2:
            return {"on": value[0], "off": value[1]}
        if isinstance(value, dict) and set(value) <= {True, False}:
            return {("on" if key else "off"): seconds for key, seconds in value.items()}
        return value

    def cadence(self) -> RingCadence:
        return RingCadence(self.on, self.off)


class ToneData(_Frozen):
    frequency: Annotated[float, Field(gt=0, lt=4000)]
    cadence: CadenceData

    def tone(self, kind: str) -> Cadence:
        """This tone as the detector's cadence (`tones.Cadence`), named for `kind`."""
        return Cadence(f"profile-{kind}", kind, (self.frequency,),
                    (self.cadence.on, self.cadence.off))


def _name_or(names: Collection[str], model: type[BaseModel], what: str) -> WrapValidator:
    """Validate a union of a name in `names` and a `model` by the input's type: a name is
    checked against `names`, anything else is the model's, its errors at its own fields."""

    def validate(value: object, handler: object) -> object:
        if not isinstance(value, str):
            return model.model_validate(value)
        if value not in names:
            raise ValueError(f"no {what} {value!r} (have: {', '.join(names)})")
        return value

    return WrapValidator(validate)


Tone = Annotated[str | ToneData, _name_or(CADENCES, ToneData, "tone cadence")]
"""A tone: a name in `tones.CADENCES` (`us-busy`, `uk-congestion` ...), or its data."""


class TonesData(_Frozen):
    """A line's busy and reorder tones: each a cadence of `tones.CADENCES` by name, or a
    frequency and cadence."""

    busy: Tone
    reorder: Tone

    def plan(self, ring: RingCadence) -> TonePlan:
        return TonePlan(_tone(self.busy, "busy"), _tone(self.reorder, "congestion"), ring)


def _tone(given: str | ToneData, kind: str) -> Cadence:
    return cadence(given) if isinstance(given, str) else given.tone(kind)


class Disconnect(_Frozen):
    """How the line says the far end hung up: `exact` (a signal), `tone` (busy/reorder tone,
    noticed `delay` seconds after the hang-up) or `timeout` (silence for `delay` seconds)."""

    supervision: Literal["exact", "tone", "timeout"] = "tone"
    delay: Seconds = 6.0


class Fxo(_Frozen):
    """FXO ports ("O-ports") on carrier analog lines. `dtmf` is one digit's tone and pause."""

    kind: Literal["fxo"]
    count: Count
    clip: bool = True
    clip_delay: Seconds = 0.5
    clip_duration: PositiveSeconds = 0.5
    answer_on_ring: Annotated[int, Field(ge=1, le=10)] = 2
    disconnect: Disconnect = Disconnect()
    guard_time: Seconds = 0.5
    dial_tone_wait: Seconds = 1.0
    dtmf: CadenceData = CadenceData(on=0.1, off=0.1)  # one digit's tone and pause

    def capabilities(self, ring: RingCadence) -> Capabilities:
        return kinds.fxo_trunk(
            ring=ring, clip=self.clip, clip_delay=self.clip_delay,
            clip_duration=self.clip_duration, answer_on_ring=self.answer_on_ring,
            supervision=Supervision(self.disconnect.supervision),
            disconnect_delay=self.disconnect.delay, guard_time=self.guard_time,
            dial_tone_wait=self.dial_tone_wait, digit_time=self.dtmf.cadence().period)


class Fxs(_Frozen):
    """FXS ports ("S-ports") feeding analog phones or headsets."""

    kind: Literal["fxs"]
    count: Count
    interdigit_timeout: PositiveSeconds = 4.0

    def capabilities(self, ring: RingCadence) -> Capabilities:
        return kinds.fxs_station(interdigit_timeout=self.interdigit_timeout)


class E1(_Frozen):
    """E1 spans of 30 bearer channels; `setup_time` and `release_time` are the D channel's."""

    kind: Literal["e1"]
    spans: Annotated[int, Field(ge=1, le=32)] = 1
    setup_time: Seconds = 0.05
    release_time: Seconds = 0.03

    @property
    def count(self) -> int:
        return kinds.E1_CHANNELS * self.spans

    def capabilities(self, ring: RingCadence) -> Capabilities:
        return kinds.e1_channel(setup_time=self.setup_time, release_time=self.release_time)


class SipTrunk(_Frozen):
    kind: Literal["sip_trunk"]
    count: Count

    def capabilities(self, ring: RingCadence) -> Capabilities:
        return kinds.sip_trunk()


class SipStation(_Frozen):
    kind: Literal["sip_station"]
    count: Count

    def capabilities(self, ring: RingCadence) -> Capabilities:
        return kinds.sip_station()


TonePlanName = Literal["china", "e180"]
Tones = Annotated[TonePlanName | TonesData, _name_or(TONE_PLANS, TonesData, "tone plan")]
"""A tone plan of `toneplan.TONE_PLANS` by name, or busy and reorder tones."""

PortBlock = Annotated[Fxo | Fxs | E1 | SipTrunk | SipStation, Field(discriminator="kind")]


class GatewayProfile(_Frozen):
    """A gateway product. Its ports are numbered from 1 in the order of `ports` (an E1
    block's channel c of span s is port 30 * (s - 1) + c of that block). `tones` names a tone
    plan (`china`, `e180`) or gives busy and reorder tones (each a cadence of `tones.CADENCES`
    by name, or a frequency and cadence); `ring` overrides the plan's ring cadence."""

    profile: Annotated[str, Field(min_length=1)]
    description: str = ""
    tones: Tones = "e180"
    ring: CadenceData | None = None
    ports: Annotated[list[PortBlock], Field(min_length=1)]

    @model_validator(mode="after")
    def _check_clip(self) -> GatewayProfile:
        off = self.tone_plan().ring.off
        for index, block in enumerate(self.ports):
            burst = block.clip_delay + block.clip_duration if isinstance(block, Fxo) else 0.0
            if isinstance(block, Fxo) and block.clip and burst > off:
                raise ValueError(f"ports[{index}]: the CLIP burst (clip_delay + clip_duration "
                                 f"= {burst} s) must fit in the {off} s between the first and "
                                 "second ring")
        return self

    def tone_plan(self) -> TonePlan:
        """The busy and reorder tones and the ring cadence of this gateway's lines."""
        tones = self.tones
        plan = TONE_PLANS[tones] if isinstance(tones, str) else tones.plan(TONE_PLANS["e180"].ring)
        ring = plan.ring if self.ring is None else self.ring.cadence()
        return TonePlan(plan.busy, plan.reorder, ring)

    def with_lines(self, tones: str | TonesData | None = None,
                   disconnect: Mapping[str, object] | None = None) -> GatewayProfile:
        """This product as a site sets up its lines: `tones` instead of the profile's, and
        `disconnect`'s fields (`supervision`, `delay`) over each FXO block's. Validated as a
        profile is (ValidationError); ValueError if `disconnect` is given and no block has
        FXO ports, the only ones whose supervision can be set."""
        data = self.model_dump()
        if tones is not None:
            data["tones"] = tones
        if disconnect:
            fxo = [block for block in data["ports"] if block["kind"] == "fxo"]
            if not fxo:
                raise ValueError(f"profile {self.profile} has no FXO ports; the others' "
                                 "hang-ups are signalled, not supervised")
            for block in fxo:
                block["disconnect"] = {**block["disconnect"], **disconnect}
        return GatewayProfile.model_validate(data)

    @property
    def port_count(self) -> int:
        return sum(block.count for block in self.ports)

    def spans(self) -> dict[str, tuple[str, ...]]:
        """The E1 spans, numbered from "1" across the gateway in port order, each with the
        names of its 30 bearer channels."""
        spans: dict[str, tuple[str, ...]] = {}
        first = 1  # the number of the block's first port
        for block in self.ports:
            for span in range(block.spans if isinstance(block, E1) else 0):
                start = first + kinds.E1_CHANNELS * span
                spans[str(len(spans) + 1)] = tuple(
                    str(n) for n in range(start, start + kinds.E1_CHANNELS))
            first += block.count
        return spans

    def layout(self) -> Iterator[tuple[str, Capabilities]]:
        """(port name, capabilities) for every port, port "1" first."""
        ring, number = self.tone_plan().ring, 0
        for block in self.ports:
            caps = block.capabilities(ring)
            for _ in range(block.count):
                number += 1
                yield str(number), caps

    def build(self, name: str) -> Gateway:
        """A gateway of this product named `name`, every port idle."""
        return Gateway(name, [Port(port, caps) for port, caps in self.layout()], self.spans())
