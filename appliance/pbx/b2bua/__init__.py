"""The appliance as a back-to-back user agent: SIP legs in front of call control and the ACD.

`B2bua` (core.py) routes; the parts it holds each own their state: `LegBook` (legs by call,
ring, dialog and INVITE), `Dialogs` (in-dialog requests, 2xx retransmission, session timers),
`Answers` (responses held until the log is durable), `ReinviteRelay`, `LegEnding`,
`AgentSide` (ringing agents' phones), `CallIntake` (new calls), `MediaAnchor`, `Phones`,
`AgentLogins`, `FeatureCodes` and `PeerProbes`."""

from appliance.pbx.b2bua.core import B2bua

__all__ = ["B2bua"]
