"""Figures of the PBX features that are not a call's own: supervision sessions per
supervisor, conference joins per room and campaign numbers' outcomes per campaign, each
added up from its own records (``SupervisionStarted`` ..., ``ConferenceJoined`` ...,
``CampaignNumberDone``) by when they happened."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from appliance.events import (
    CallForcedOff,
    CampaignNumberDone,
    ConferenceJoined,
    ConferenceLeft,
    SupervisionChanged,
    SupervisionEnded,
    SupervisionStarted,
)

MODES = ("listen", "whisper", "barge")


@dataclass(frozen=True)
class SupervisorStats:
    sessions: int
    """Times the supervisor joined an agent's call."""
    listen: int
    """Sessions that listened at some point (whisper and barge alike)."""
    whisper: int
    barge: int
    forced_off: int
    """Calls the supervisor forced off."""
    mean_seconds: float | None
    """Mean length of the sessions that ended."""


@dataclass(frozen=True)
class RoomStats:
    joins: int
    """Times a party joined the room."""
    parties: int
    """Different parties that joined."""
    mean_seconds: float | None
    """Mean stay of the joins that left."""


@dataclass(frozen=True)
class CampaignStats:
    numbers_done: int
    """Numbers that reached their final outcome."""
    connected: int
    """Of them, answered and handed to an agent or a flow."""
    attempts: int
    """Calls placed to the numbers done."""
    outcomes: dict[str, int] = field(default_factory=dict)
    """Numbers done by final outcome, sorted by outcome."""


@dataclass(frozen=True)
class FeatureReport:
    supervisors: dict[str, SupervisorStats]
    rooms: dict[str, RoomStats]
    campaigns: dict[str, CampaignStats]

    def to_dict(self) -> dict[str, Any]:
        return {part: {name: asdict(s) for name, s in getattr(self, part).items()}
                for part in ("supervisors", "rooms", "campaigns")}


class _Session:
    __slots__ = ("modes", "since", "supervisor")

    def __init__(self, supervisor: str, mode: str, since: float) -> None:
        self.supervisor, self.since, self.modes = supervisor, since, {mode}


class FeatureTally:
    """The records added up; ``report`` is None when none came."""

    def __init__(self) -> None:
        self.open: dict[tuple[int, str], _Session] = {}  # (call, supervisor) -> session
        self.sessions: dict[str, list[_Session]] = {}
        self.lengths: dict[str, list[float]] = {}  # supervisor or room -> ended lengths
        self.forced: dict[str, int] = {}
        self.joined: dict[tuple[str, int], tuple[str, float]] = {}  # (room, leg) -> party
        self.rooms: dict[str, list[str]] = {}
        self.stays: dict[str, list[float]] = {}
        self.numbers: dict[str, list[CampaignNumberDone]] = {}

    def supervision_started(self, r: SupervisionStarted) -> None:
        session = self.open[(r.call, r.supervisor)] = _Session(r.supervisor, r.mode, r.t)
        self.sessions.setdefault(r.supervisor, []).append(session)

    def supervision_changed(self, r: SupervisionChanged) -> None:
        session = self.open.get((r.call, r.supervisor))
        if session is not None:
            session.modes.add(r.mode)

    def supervision_ended(self, r: SupervisionEnded) -> None:
        session = self.open.pop((r.call, r.supervisor), None)
        if session is not None:
            self.lengths.setdefault(r.supervisor, []).append(r.t - session.since)

    def forced_off(self, r: CallForcedOff) -> None:
        self.forced[r.supervisor] = self.forced.get(r.supervisor, 0) + 1

    def conference_joined(self, r: ConferenceJoined) -> None:
        self.joined[(r.room, r.call)] = (r.party, r.t)
        self.rooms.setdefault(r.room, []).append(r.party)

    def conference_left(self, r: ConferenceLeft) -> None:
        joined = self.joined.pop((r.room, r.call), None)
        if joined is not None:
            self.stays.setdefault(r.room, []).append(r.t - joined[1])

    def number_done(self, r: CampaignNumberDone) -> None:
        self.numbers.setdefault(r.campaign, []).append(r)

    def report(self) -> FeatureReport | None:
        if not (self.sessions or self.forced or self.rooms or self.numbers):
            return None
        supervisors = {name: self.supervisor(name)
                       for name in sorted({*self.sessions, *self.forced})}
        rooms = {room: RoomStats(len(parties), len(set(parties)), _mean(self.stays.get(room)))
                 for room, parties in sorted(self.rooms.items())}
        campaigns = {name: _campaign(done) for name, done in sorted(self.numbers.items())}
        return FeatureReport(supervisors, rooms, campaigns)

    def supervisor(self, name: str) -> SupervisorStats:
        sessions = self.sessions.get(name, [])
        used = [sum(mode in s.modes for s in sessions) for mode in MODES]
        return SupervisorStats(len(sessions), *used, self.forced.get(name, 0),
                               _mean(self.lengths.get(name)))

    @property
    def handlers(self) -> dict[type, Any]:
        """Its method for each record type it adds up."""
        return {SupervisionStarted: self.supervision_started,
                SupervisionChanged: self.supervision_changed,
                SupervisionEnded: self.supervision_ended, CallForcedOff: self.forced_off,
                ConferenceJoined: self.conference_joined, ConferenceLeft: self.conference_left,
                CampaignNumberDone: self.number_done}


def _campaign(done: list[CampaignNumberDone]) -> CampaignStats:
    outcomes: dict[str, int] = {}
    for r in done:
        outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1
    return CampaignStats(len(done), outcomes.get("connected", 0),
                         sum(r.attempts for r in done), dict(sorted(outcomes.items())))


def _mean(values: list[float] | None) -> float | None:
    return sum(values) / len(values) if values else None
