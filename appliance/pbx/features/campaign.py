"""The dialer of an outbound campaign: which listed numbers to call, and when. Clock-free.

A driver (the live box's `appliance.live` campaign runner, the simulator's
`sim.traffic.campaign`) asks `dial(free_agents, now)` whenever agents of the campaign's queue
may have become free and when `next_deadline()` comes; it places a call to each number
returned and tells the outcome back by number: `answered` (the far end picked up; the dialer
says whether to hand the call on or hang up) or `not_reached` (busy, no answer, failed).
A number has at most one call up at a time.

What a caller may rely on (`tests/appliance/pbx/features/test_campaign_properties.py`):

* progressive dialing: calls ringing never exceed ``floor(free_agents * ratio)`` when
  `dial` returns; at most one call every ``60 / max_rate`` seconds; campaigns handing their
  calls to one queue share its free agents (`campaign_pacing.dial_shared`);
* a number on the do-not-call list is never dialed, nor is one outside the calling hours
  (`is_open`), nor one more than ``attempts`` times, nor a retry before its interval;
* every number ends in exactly one `CampaignNumberDone`, the campaign in one `CampaignDone`;
* after a restart, `restore` takes up what earlier runs did (`Past`): a number done is not
  dialed again, and one pending keeps its attempts and is retried its interval after its
  last outcome.

Every decision and outcome is in the event log (`Campaign*` records).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from appliance.eventlog import EventLog
from appliance.events import (
    CampaignAbandoned,
    CampaignAnswered,
    CampaignBusy,
    CampaignDialed,
    CampaignDone,
    CampaignFailed,
    CampaignNoAnswer,
    CampaignNumberDone,
    CampaignStarted,
    CampaignStopped,
    new,
)
from appliance.pbx.features.campaign_pacing import dial_shared

# Outcomes of an attempt that may be tried again (each with its own interval).
NO_ANSWER, BUSY, FAILED, ABANDONED = "no_answer", "busy", "failed", "abandoned"
RETRYABLE = (NO_ANSWER, BUSY, FAILED, ABANDONED)
CONNECTED, DO_NOT_CALL = "connected", "do_not_call"
# The last outcome of a number whose call a stop cut off (placed, never told back).
DIALED = "dialed"
# While calling hours are closed the dialer looks again this often: a schedule says
# whether it is open at a time, not when it next opens.
CLOSED_RECHECK = 60.0

Hours = Callable[[float], bool]


def always_open(now: float) -> bool:
    return True


@dataclass(frozen=True)
class DialerSettings:
    """How a campaign dials. ``ratio`` >= 1: calls per free agent (progressive at 1.0);
    ``max_rate``: calls placed per minute at most (0: no limit); ``attempts`` per number;
    ``retry``: seconds before a number is tried again after each retryable outcome;
    ``weight``: the campaign's share of a queue's free agents beside other campaigns'."""

    ratio: float = 1.0
    max_rate: float = 0.0
    attempts: int = 3
    retry: Mapping[str, float] = field(default_factory=lambda: dict.fromkeys(RETRYABLE, 3600.0))
    weight: float = 1.0


class Contact(NamedTuple):
    """A listed number and the fields its row carries (handed on like IVR variables)."""

    number: str
    fields: Mapping[str, str]


class Attempt(NamedTuple):
    """One call to place: the contact, and which attempt at it this is (1 for the first)."""

    contact: Contact
    attempt: int


class Past(NamedTuple):
    """What earlier runs did with a number: ``attempts`` placed, the last ``outcome``
    (``dialed`` if a stop cut the call off) at ``at`` (on this run's clock), and whether
    that outcome is final (``done``)."""

    attempts: int
    outcome: str
    at: float
    done: bool


class _Number:
    __slots__ = ("attempts", "contact", "last", "outcome", "up")

    def __init__(self, contact: Contact) -> None:
        self.contact = contact
        self.attempts = 0
        self.up = False  # a call to it is placed and not over
        self.outcome = ""  # final outcome once done
        self.last: tuple[str, float] | None = None  # an earlier run's last outcome, when


class Dialer:
    """One campaign's list and its dialing (see the module's docstring)."""

    def __init__(self, name: str, contacts: Iterable[Contact], do_not_call: Container[str],
                 settings: DialerSettings, log: EventLog, is_open: Hours = always_open) -> None:
        self.name, self.settings, self.log, self.is_open = name, settings, log, is_open
        self.numbers = {c.number: _Number(c) for c in contacts}
        self.left = len(self.numbers)  # numbers without their final outcome
        self.blocked = do_not_call  # numbers and prefixes (`routing.Numbers`)
        # (due, order, number): the numbers to call, fresh ones due at 0 in list order.
        self._due: list[tuple[float, int, str]] = []
        self._order = 0
        self.running = False
        self._enlisted = False
        self.ringing = 0  # calls placed and not answered or failed yet
        self.last_dial = -math.inf
        self.done = False
        self._closed_since: float | None = None
        self._asked = -math.inf  # when `dial` was last asked

    # --- commands -----------------------------------------------------------------------

    def start(self, now: float) -> None:
        """Start (or resume) dialing. The first start closes the do-not-call numbers."""
        if self.running or self.done:
            return
        self.running = True
        self._log(CampaignStarted, len(self.numbers), self.left, now=now)
        if not self._enlisted:
            self._enlisted = True
            self._enlist(now)

    def restore(self, past: Mapping[str, Past]) -> None:
        """Before the first `start`: take up the numbers where earlier runs left them (those
        no longer listed are ignored). A number done stays done (no `CampaignNumberDone`
        again); one pending keeps its attempts and is due its retry interval after its last
        outcome (a cut-off call counts as failed), or ends at start with that outcome if its
        attempts are used up."""
        if self._enlisted:
            raise ValueError(f"campaign {self.name!r} has started: too late to restore it")
        for number, was in past.items():
            entry = self.numbers.get(number)
            if entry is None or entry.outcome:
                continue
            entry.attempts = was.attempts
            outcome = FAILED if was.outcome == DIALED else was.outcome
            if was.done:
                entry.outcome = outcome
                self.left -= 1
            else:
                entry.last = (outcome, was.at)

    def stop(self, now: float) -> None:
        """Stop placing calls; calls up run on and their outcomes still count."""
        if self.running:
            self.running = False
            self._log(CampaignStopped, now=now)

    # --- decisions ------------------------------------------------------------------------

    def dial(self, free_agents: int, now: float) -> list[Attempt]:
        """The numbers to call now, given `free_agents` of the queue (for a campaign that
        hands calls to an IVR flow: its free lines). Each is logged `CampaignDialed`."""
        return [attempt for _, attempt in dial_shared([self], free_agents, now)]

    def in_use(self) -> float:
        """Free agents its calls ringing take: each 1/ratio of one."""
        return self.ringing / self.settings.ratio

    def asked(self, now: float) -> None:
        """`dial_shared` looks at this campaign at `now` (see `next_deadline`)."""
        self._asked = now

    def place_next(self, now: float) -> Attempt | None:
        """One call to place now, if a number is due and the rate and hours allow it
        (logged `CampaignDialed`); pacing by free agents is the caller's
        (`dial_shared`)."""
        if not self._may_dial(now):
            return None
        number = self._take_due(now)
        return None if number is None else self._place(number, now)

    def next_deadline(self) -> float | None:
        """When `dial` may have something new to place without any agent changing: the next
        retry due, the rate allowing one more call, the calling hours looked at again. None
        when only a free agent (or an outcome) would let it dial: always after the last time
        `dial` was asked, so a driver never spins."""
        if not self.running or not self._due:
            return None
        at = max(self._due[0][0], self.last_dial + self._spacing())
        if self._closed_since is not None:
            at = max(at, self._closed_since + CLOSED_RECHECK)
        return at if at > self._asked else None

    # --- outcomes -------------------------------------------------------------------------

    def answered(self, number: str, agent_free: bool, now: float) -> bool:
        """The call to `number` was answered. True: hand it on (logged `CampaignAnswered`,
        the number is done, connected); False: no agent is free, hang up (`CampaignAbandoned`,
        retried like any retryable outcome)."""
        entry = self._over(number)
        if not agent_free:
            self._not_reached(entry, ABANDONED, "", now)
            return False
        self._log(CampaignAnswered, number, entry.attempts, now=now)
        self._finish(entry, CONNECTED, now)
        return True

    def not_reached(self, number: str, outcome: str, now: float, cause: str = "") -> None:
        """The call to `number` ended unanswered: `outcome` no_answer, busy or failed (then
        `cause` says why, as `OutsideCallEnded.cause`)."""
        if outcome not in (NO_ANSWER, BUSY, FAILED):
            raise ValueError(f"not a way to be not reached: {outcome!r}")
        self._not_reached(self._over(number), outcome, cause or outcome, now)

    # --- progress -------------------------------------------------------------------------

    def progress(self) -> dict[str, int]:
        """Counts by state: pending (to call or retry), up (a call placed), and each final
        outcome."""
        counts: dict[str, int] = {"pending": 0, "up": 0}
        for entry in self.numbers.values():
            key = entry.outcome or ("up" if entry.up else "pending")
            counts[key] = counts.get(key, 0) + 1
        return counts

    # --- helpers --------------------------------------------------------------------------

    def _enlist(self, now: float) -> None:
        for number, entry in self.numbers.items():
            if entry.outcome:  # done in an earlier run
                continue
            if number in self.blocked:
                self._finish(entry, DO_NOT_CALL, now)
            elif entry.last is None:
                self._push(0.0, number)
            else:
                self._take_up(entry, *entry.last, now=now)
        self._check_done(now)

    def _take_up(self, entry: _Number, outcome: str, at: float, now: float) -> None:
        """A number an earlier run left pending after `outcome` at `at`."""
        if entry.attempts >= self.settings.attempts:
            self._finish(entry, outcome, now)
        else:
            self._push(at + self.settings.retry.get(outcome, 0.0), entry.contact.number)

    def _may_dial(self, now: float) -> bool:
        if not self.running or now < self.last_dial + self._spacing():
            return False
        if self.is_open(now):
            self._closed_since = None
            return True
        self._closed_since = now
        return False

    def _spacing(self) -> float:
        rate = self.settings.max_rate
        return 60.0 / rate if rate > 0 else 0.0

    def _take_due(self, now: float) -> _Number | None:
        if not self._due or self._due[0][0] > now:
            return None
        return self.numbers[heapq.heappop(self._due)[2]]

    def _place(self, entry: _Number, now: float) -> Attempt:
        entry.attempts += 1
        entry.up = True
        self.ringing += 1
        self.last_dial = now
        self._log(CampaignDialed, entry.contact.number, entry.attempts, now=now)
        return Attempt(entry.contact, entry.attempts)

    def _over(self, number: str) -> _Number:
        entry = self.numbers.get(number)
        if entry is None or not entry.up:
            raise ValueError(f"no call up to {number!r} in campaign {self.name!r}")
        entry.up = False
        self.ringing -= 1
        return entry

    def _not_reached(self, entry: _Number, outcome: str, cause: str, now: float) -> None:
        number, attempt = entry.contact.number, entry.attempts
        if outcome == FAILED:
            self._log(CampaignFailed, number, attempt, cause, now=now)
        else:
            self._log(_OUTCOME_RECORDS[outcome], number, attempt, now=now)
        if attempt >= self.settings.attempts:
            self._finish(entry, outcome, now)
        else:
            self._push(now + self.settings.retry.get(outcome, 0.0), number)

    def _push(self, due: float, number: str) -> None:
        self._order += 1
        heapq.heappush(self._due, (due, self._order, number))

    def _finish(self, entry: _Number, outcome: str, now: float) -> None:
        entry.outcome = outcome
        self.left -= 1
        self._log(CampaignNumberDone, entry.contact.number, outcome, entry.attempts, now=now)
        self._check_done(now)

    def _check_done(self, now: float) -> None:
        if self.done or self.left:
            return
        self.done, self.running = True, False
        connected = sum(1 for n in self.numbers.values() if n.outcome == CONNECTED)
        self._log(CampaignDone, len(self.numbers), connected, now=now)

    def _log(self, kind: type, *fields: object, now: float) -> None:
        self.log.append(new(kind, (now, self.name, *fields)))


_OUTCOME_RECORDS: dict[str, type] = {
    NO_ANSWER: CampaignNoAnswer, BUSY: CampaignBusy, ABANDONED: CampaignAbandoned,
}
