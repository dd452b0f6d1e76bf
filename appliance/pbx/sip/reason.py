"""The Reason header (RFC 3326): which cause of another protocol a SIP failure carries. A
gateway in front of the telephone network says with it the Q.850 cause its side gave
(RFC 3398 maps the causes to SIP statuses), and that cause says more than the status: 503
with cause 38 is a span that is down, not a busy gateway."""

from __future__ import annotations

import re

from appliance.pbx.sip.headers import Headers

# `Q.850;cause=38;text="..."`; one header may list several protocols, comma-separated.
_Q850 = re.compile(r'(?i)(?:^|,)\s*Q\.850\s*((?:;\s*[^;,"]+(?:"[^"]*")?)*)')
_CAUSE = re.compile(r"(?i);\s*cause\s*=\s*(\d+)")


def q850_cause(headers: Headers) -> int | None:
    """The Q.850 cause in `headers`' Reason headers (the first one given); None if none
    gives one."""
    for value in headers.get_all("Reason"):
        for protocol in _Q850.finditer(value):
            cause = _CAUSE.search(protocol.group(1))
            if cause is not None:
                return int(cause.group(1))
    return None
