"""The legs of a call, one role per module, each with its own state table: `trunk.py` (the caller
on a trunk), `agent.py` (an agent's phone), `feature.py` (a feature-code call), `outside.py` (an
outside number through a gateway, a customer called back), `pickup.py` (a phone picking up a parked
call); and `offer.py` (whose re-INVITE is in progress in a leg's dialog) and `reinvite.py` (a
re-INVITE relayed between two legs). `machine.py` holds what they share."""

from appliance.pbx.legs.agent import AgentLeg
from appliance.pbx.legs.feature import FeatureLeg
from appliance.pbx.legs.leg import Leg, Role
from appliance.pbx.legs.machine import LegEvent, LegState, LegStateError
from appliance.pbx.legs.outside import CustomerLeg, OutsideLeg
from appliance.pbx.legs.pickup import PickupLeg
from appliance.pbx.legs.trunk import CallerLeg

__all__ = ["AgentLeg", "CallerLeg", "CustomerLeg", "FeatureLeg", "Leg", "LegEvent", "LegState",
           "LegStateError", "OutsideLeg", "PickupLeg", "Role"]
