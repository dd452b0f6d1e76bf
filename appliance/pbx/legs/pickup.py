"""A phone that dialled a park slot and took the parked call: its INVITE came to us (the
appliance is its UAS, so it has the trunk caller's table and races), but it plays the agent's
part in the call, which it joins as the agent who answered."""

from __future__ import annotations

from appliance.pbx.legs.leg import Leg, Role
from appliance.pbx.legs.machine import LegState
from appliance.pbx.legs.trunk import CALLER_TABLE


class PickupLeg(Leg, role=Role.AGENT, table=CALLER_TABLE, initial=LegState.INVITED):
    """The picking-up phone's dialog, from its INVITE to its end."""

    __slots__ = ()
