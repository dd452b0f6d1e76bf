"""RFC 3261 SIP as sans-I/O cores: bytes in, message objects out, and back."""

from appliance.pbx.sip.headers import COMPACT_FORMS, MULTI_VALUED, Headers, canonical_name
from appliance.pbx.sip.message import (
    KNOWN_METHODS,
    SIP_VERSION,
    NameAddr,
    Request,
    Response,
    SipError,
    Via,
    parse,
    parse_cseq,
    parse_name_addr,
    parse_via,
)

__all__ = [
    "COMPACT_FORMS",
    "KNOWN_METHODS",
    "MULTI_VALUED",
    "SIP_VERSION",
    "Headers",
    "NameAddr",
    "Request",
    "Response",
    "SipError",
    "Via",
    "canonical_name",
    "parse",
    "parse_cseq",
    "parse_name_addr",
    "parse_via",
]
