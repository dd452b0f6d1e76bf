"""The Reason header's Q.850 cause (RFC 3326)."""

from appliance.pbx.sip.headers import Headers
from appliance.pbx.sip.reason import q850_cause


def cause(*values: str) -> int | None:
    return q850_cause(Headers([("Reason", value) for value in values]))


def test_the_q850_cause_is_read_whatever_else_the_header_says():
    assert cause('Q.850;cause=38;text="Network out of order"') == 38
    assert cause('SIP;cause=503;text="down, sorry", q.850 ; cause = 27') == 27
    assert cause('Q.850;text="cause=5";cause=34') == 34
    assert cause("SIP;cause=503", "Q.850;cause=27") == 27


def test_no_q850_cause_is_none():
    assert cause() is None
    assert cause("SIP;cause=503") is None
    assert cause("Q.850;text=x") is None
