"""The appliance as a back-to-back user agent: SIP legs in front of call control and the ACD."""

from appliance.pbx.b2bua.core import B2bua

__all__ = ["B2bua"]
