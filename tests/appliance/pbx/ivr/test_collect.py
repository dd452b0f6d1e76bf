"""One try's digit collection."""

from appliance.pbx.ivr.collect import COUNT, TERMINATOR, Collector, CollectSpec


def test_count_terminator_and_the_two_waits() -> None:
    collector = Collector(CollectSpec(3, "#", first_timeout=5.0, inter_timeout=2.0))
    assert collector.wait() == 5.0
    assert collector.press("1") is None
    assert collector.wait() == 2.0
    assert collector.press("#") == TERMINATOR and collector.digits == "1"
    full = Collector(CollectSpec(2, None, 5.0, 2.0))
    assert [full.press("#"), full.press("*")] == [None, COUNT] and full.digits == "#*"
