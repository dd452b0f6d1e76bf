"""Callers routed to a closed prompt through the B2BUA: answered (200), they hear the prompt in
the site's language, then the appliance hangs up (BYE), cause CLOSED; no 480. Signalling runs
on the simulated network; with the media anchored, RTP is read from the media plane."""

from __future__ import annotations

from typing import Any

from appliance.events import CallEnded, EndCause, IvrFlowEntered
from tests.appliance.pbx.b2bua.harness import Lab, live_site, media_plane
from tests.appliance.pbx.b2bua.test_ivr import WITH_EVENTS, Voice, hang_up, kinds
from tests.appliance.pbx.b2bua.test_races import CheckedLab

PROMPT_SECONDS = 2.0


def closed_lab(prompts: Any = None, **more: Any) -> CheckedLab:
    """A site without `ivr:` whose one route plays the built-in prompt 'closed'; with
    `prompts` (by language) the media is anchored."""
    site = live_site(agents=1, routes=[{"trunk_group": "pstn", "prompt": "closed"}], more=more)
    lab = CheckedLab(site, media_for=media_plane(prompts=prompts) if prompts else None,
                     prompt_seconds=lambda names, language: PROMPT_SECONDS * len(names))
    lab.register_all()
    return lab


def ends(lab: Lab) -> list[EndCause]:
    return [record.cause for record in lab.log if isinstance(record, CallEnded)]


def test_a_closed_caller_is_answered_then_gets_a_bye_after_the_prompt() -> None:
    lab = closed_lab()
    lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    assert kinds(lab) == ["answered"] and ends(lab) == []
    lab.run(PROMPT_SECONDS)
    assert kinds(lab) == ["ended_by_peer"]  # a BYE, not a 480
    assert ends(lab) == [EndCause.CLOSED]
    assert not [r for r in lab.log if isinstance(r, IvrFlowEntered)]  # not an IVR call
    lab.settle()


def test_a_caller_hanging_up_during_the_closed_prompt_ends_the_call_closed() -> None:
    lab = closed_lab()
    lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    hang_up(lab)
    lab.run(1)
    assert kinds(lab) == ["answered", "ended"]
    assert ends(lab) == [EndCause.CLOSED]
    lab.run(PROMPT_SECONDS)  # the prompt's end finds the call gone
    assert kinds(lab) == [] and ends(lab) == [EndCause.CLOSED]
    lab.settle()


def test_the_closed_prompt_plays_in_the_sites_language_without_welcome_or_music() -> None:
    english, mandarin = Voice(1000), Voice(-3000)
    lab = closed_lab({"en": english, "zh": mandarin}, media={"language": "zh"})
    lab.do(lab.gateway, "call", "100", WITH_EVENTS)
    lab.run(0.1)
    assert kinds(lab) == ["answered"]
    (call,) = lab.box.legs.callers
    assert lab.box.media.playing(call) == "closed"
    assert (mandarin.asked, english.asked) == (["closed"], [])
    lab.run(PROMPT_SECONDS)
    assert kinds(lab) == ["ended_by_peer"] and ends(lab) == [EndCause.CLOSED]
    lab.settle()
