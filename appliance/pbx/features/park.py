"""Call park: the slots a parked call waits in, and when each one's wait runs out.

A clock-free core (the aioquic timer shape): every input carries `now`, `next_deadline()`
says when the lot next needs attention and `on_deadline(now)` hands back the calls whose
wait ran out, oldest deadline first. The lot only keeps slots; what a timed-out call does
next (ring its parker back, go to its queue) is call control's choice.

What a caller may rely on: a slot holds at most one call and a call sits in at most one
slot; every parked call leaves its slot exactly once, by `pick_up`, `caller_left` or a
timeout returned from `on_deadline`; the lowest free slot is given first.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ParkedCall:
    """A call in a slot: who parked it, and until when it waits there."""

    call: int
    slot: int
    parker: str
    origin: str  # the queue the call came from ("" for none)
    deadline: float


class ParkError(ValueError):
    """An input the lot cannot take (a call parked twice)."""


class ParkLot:
    """Slots `first`..`first + size - 1`, each wait lasting `timeout` seconds."""

    def __init__(self, first: int, size: int, timeout: float) -> None:
        self.first, self.size, self.timeout = first, size, timeout
        self._by_slot: dict[int, ParkedCall] = {}
        self._by_call: dict[int, ParkedCall] = {}
        # (deadline, sequence, slot entry): stale entries (picked up, left) are skipped.
        self._heap: list[tuple[float, int, ParkedCall]] = []
        self._sequence = 0

    def holds(self, slot: int) -> bool:
        """Whether `slot` is one of the lot's numbers (parked in or not)."""
        return self.first <= slot < self.first + self.size

    def parked(self, slot: int) -> ParkedCall | None:
        return self._by_slot.get(slot)

    def slot_of(self, call: int) -> int | None:
        found = self._by_call.get(call)
        return None if found is None else found.slot

    def __len__(self) -> int:
        return len(self._by_slot)

    def park(self, call: int, parker: str, origin: str, now: float) -> ParkedCall | None:
        """Put `call` in the lowest free slot until `now + timeout`; None if all are taken."""
        if call in self._by_call:
            raise ParkError(f"call {call} is parked already")
        slot = next((s for s in range(self.first, self.first + self.size)
                     if s not in self._by_slot), None)
        if slot is None:
            return None
        entry = ParkedCall(call, slot, parker, origin, now + self.timeout)
        self._by_slot[slot] = self._by_call[call] = entry
        self._sequence += 1
        heapq.heappush(self._heap, (entry.deadline, self._sequence, entry))
        return entry

    def pick_up(self, slot: int) -> ParkedCall | None:
        """Take the call out of `slot` for whoever dialled it; None if the slot is empty."""
        entry = self._by_slot.get(slot)
        if entry is not None:
            self._remove(entry)
        return entry

    def caller_left(self, call: int) -> ParkedCall | None:
        """The parked caller hung up: its slot is free. None if `call` was not parked."""
        entry = self._by_call.get(call)
        if entry is not None:
            self._remove(entry)
        return entry

    def next_deadline(self) -> float | None:
        """When the next wait runs out; None if no call is parked."""
        self._drop_stale()
        return self._heap[0][0] if self._heap else None

    def on_deadline(self, now: float) -> list[ParkedCall]:
        """The calls whose wait ran out at or before `now`, out of their slots."""
        timed_out = []
        self._drop_stale()
        while self._heap and self._heap[0][0] <= now:
            entry = heapq.heappop(self._heap)[2]
            self._remove(entry)
            timed_out.append(entry)
            self._drop_stale()
        return timed_out

    def _remove(self, entry: ParkedCall) -> None:
        del self._by_slot[entry.slot]
        del self._by_call[entry.call]

    def _drop_stale(self) -> None:
        heap = self._heap
        while heap and self._by_call.get(heap[0][2].call) is not heap[0][2]:
            heapq.heappop(heap)
