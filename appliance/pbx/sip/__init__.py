"""RFC 3261 SIP as sans-I/O cores: bytes in, message objects out, and back."""

from appliance.pbx.sip.auth import digest_response, format_auth_params, parse_auth_params
from appliance.pbx.sip.dialog import Dialog, new_branch, new_tag
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
from appliance.pbx.sip.uri import SipUri, parse_uri

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
    "SipUri",
    "Via",
    "canonical_name",
    "digest_response",
    "format_auth_params",
    "parse",
    "parse_auth_params",
    "parse_cseq",
    "parse_name_addr",
    "parse_uri",
    "parse_via",
]

from appliance.pbx.sip.layer import (
    CancelRequested,
    SendTo,
    TransactionLayer,
    TransactionTimeout,
    response_destination,
)
from appliance.pbx.sip.transaction import (
    T1,
    T2,
    T4,
    Deliver,
    InviteClientTransaction,
    InviteServerTransaction,
    NonInviteClientTransaction,
    NonInviteServerTransaction,
    Send,
    State,
    Terminated,
    Timeout,
    TransactionStateError,
    make_ack,
    make_response,
    transaction_key,
)

__all__ += [
    "T1",
    "T2",
    "T4",
    "Deliver",
    "InviteClientTransaction",
    "InviteServerTransaction",
    "NonInviteClientTransaction",
    "NonInviteServerTransaction",
    "Send",
    "State",
    "Terminated",
    "Timeout",
    "TransactionStateError",
    "make_ack",
    "make_response",
    "transaction_key",
]

__all__ += [
    "CancelRequested",
    "SendTo",
    "TransactionLayer",
    "TransactionTimeout",
    "response_destination",
]

__all__ += [
    "Dialog",
    "new_branch",
    "new_tag",
]
