"""What an agent's phone or desktop learns of a call as it rings (screen-pop): the language
chosen in the IVR and the IVR's variables - the fields its lookups found among them - as
headers of our INVITE to the phone, as integrators of Asterisk and FreeSWITCH pass call data
to agent desktops.

One `X-CCBox-Var: NAME=VALUE` header per variable that has a value, the value
percent-encoded (RFC 3986), so that commas, semicolons and non-ASCII text survive any proxy
and the variable's name keeps its case (header names do not: RFC 3261 7.3.1). Values longer
than `MAX_VALUE` characters are cut, so that a lookup cannot swell the INVITE.
"""

from __future__ import annotations

import string

from appliance.pbx.callcontrol import CallData

LANGUAGE = "X-CCBox-Language"
VARIABLE = "X-CCBox-Var"
MAX_VALUE = 256


def screen_pop_headers(data: CallData | None) -> list[tuple[str, str]]:
    """The headers that carry `data` (none for a call that passed no IVR)."""
    if data is None:
        return []
    headers = [(LANGUAGE, data.language)] if data.language else []
    headers += [(VARIABLE, f"{name}={percent_encoded(value[:MAX_VALUE])}")
                for name, value in data.variables.items() if value]
    return headers


_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")


def percent_encoded(value: str) -> str:
    """`value` with every character but RFC 3986's unreserved ones as %XX of its UTF-8."""
    return "".join(char if char in _UNRESERVED else
                   "".join(f"%{byte:02X}" for byte in char.encode()) for char in value)
