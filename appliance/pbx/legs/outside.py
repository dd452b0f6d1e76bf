"""The outside leg: the appliance calls an outside number through a trunk's gateway, as its
UAC. Its table is the agent phone's (`agent.py`): the same races (a CANCEL waiting for the
first 1xx, a 200 crossing our CANCEL, a refusal after it, a CANCEL never answered), and
the same answers from the transaction layer's point of view - plus the gateway's digest
challenge, after which the INVITE goes again as a new transaction: nothing heard yet, so a
CANCEL waits for its first 1xx again."""

from __future__ import annotations

from appliance.pbx.legs.agent import AGENT_TABLE
from appliance.pbx.legs.leg import Leg, Role
from appliance.pbx.legs.machine import LegEvent, LegState, Table

S, E = LegState, LegEvent

OUTSIDE_TABLE: Table = {
    **AGENT_TABLE,
    S.CALLING: {**AGENT_TABLE[S.CALLING], E.CHALLENGED: S.CALLING},
    S.PROCEEDING: {**AGENT_TABLE[S.PROCEEDING], E.CHALLENGED: S.CALLING},
}


class OutsideLeg(Leg, role=Role.AGENT, table=OUTSIDE_TABLE, initial=S.CALLING):
    """Our INVITE to a gateway for an outside number and, once answered, the dialog with
    the far end. `agent` holds the number sent (the leg's key among the rings)."""

    __slots__ = ()


class CustomerLeg(OutsideLeg, role=Role.CALLER, table=AGENT_TABLE, initial=LegState.CALLING):
    """An outside leg that calls a customer back (`appliance.pbx.b2bua.callback`): rung as
    any outside leg, and once answered the caller leg of call control's call, so that it is
    bridged, relayed, recorded and ended as an inbound caller's leg is."""

    __slots__ = ()
