"""What must hold between the B2BUA's legs, call control (or, for a call between
phones, the B2BUA's own book of them) and the media plane after every input. A call that
breaks one of these is stuck: up inside the appliance (an agent's phone rung or talking,
relay ports held) while the caller is gone, until a timeout ends it. Tests check them after
each datagram and deadline; nothing here changes any state."""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance.pbx.legs import Leg, Role
from appliance.pbx.legs.agent import GIVEN_UP

if TYPE_CHECKING:
    from appliance.pbx.b2bua.core import B2bua


def broken_invariants(box: B2bua) -> list[str]:
    """Each invariant `box` breaks right now, in words; empty when all hold."""
    return [*_agent_legs_have_callers(box), *_calls_have_caller_legs(box),
            *_media_has_callers(box), *_partners_point_back(box)]


def _agent_legs_have_callers(box: B2bua) -> list[str]:
    broken = []
    for leg in box.legs.dialogs.values():
        if leg.role is not Role.AGENT or leg.ended:
            continue
        caller = box.legs.callers.get(leg.call) or _transferred_caller(box, leg.call)
        if leg.dialog is not None and (caller is None or caller.ended):
            broken.append(f"{leg!r} is up but its caller is gone")
        if leg.state not in GIVEN_UP and box.legs.rings.get((leg.call, leg.agent)) is not leg:
            broken.append(f"{leg!r} is alive but call control's actions cannot reach it")
    return broken


def _calls_have_caller_legs(box: B2bua) -> list[str]:
    broken = [f"call {call} is in call control with no caller leg"
              for call in box.cc.calls if call not in box.legs.callers]
    # A customer transferred into a conference room is the room's, no longer call control's;
    # one transferred to a phone or an outside number is the transfer's (`transferout.py`);
    # one a ring group's phone answered is the group's.
    out = box.transfers.out
    broken += [f"{leg!r} has no call in call control"
               for call, leg in box.legs.callers.items()
               if call not in box.cc.calls and call not in box.extensions.calls
               and call not in box.conferences.members and call not in box.ring_groups.calls
               and (out is None or call not in out.by_caller)]
    return broken


def _transferred_caller(box: B2bua, call: int) -> Leg | None:
    """The caller a target rung or talking under `call` was transferred to it, if any."""
    out = box.transfers.out
    handoff = None if out is None else out.by_id.get(call)
    return None if handoff is None else handoff.caller


def _media_has_callers(box: B2bua) -> list[str]:
    if box.media is None:
        return []
    return [f"media of call {call} is open with no caller leg"
            for call in box.media.calls if call not in box.legs.callers]


def _partners_point_back(box: B2bua) -> list[str]:
    """A caller in conversation talks to a live agent leg that talks to it: not to an agent
    who left (hung up, or transferred the call)."""
    return [f"{leg!r} is bridged to {leg.partner!r}, which is not bridged back"
            for leg in box.legs.callers.values()
            if leg.partner is not None and (leg.partner.ended or leg.partner.partner is not leg)]
