"""Holds an agent mixes: the phone's re-INVITE and the `*0` key in either order, a held
caller transferred by `#1` or consulted about by `*2`, and the hold time a detail record
counts across a consultation's swaps, three-way and abort (the seconds the caller heard
music). Over the simulated network, with the consultation tests' scene (media anchored)."""

from __future__ import annotations

from appliance.events import CallHeld, CallResumed, CallTransferred
from appliance.media import sdp
from appliance.records.cdr import call_details
from sim.sipua import offer_sdp
from tests.appliance.pbx.b2bua.test_consultation import Scene


def keys(scene: Scene, pressed: str) -> None:
    for key in pressed:
        scene.lab.do(scene.lab.phones[scene.agent], "press", scene.agent_call, key)
        scene.lab.run(0.2)


def phone_reinvite(scene: Scene, direction: str) -> None:
    phone = scene.lab.phones[scene.agent]
    scene.lab.do(phone, "reinvite", scene.agent_call, offer_sdp(phone.local[0], 42000,
                                                                  direction))
    scene.lab.run(0.5)


def caller_offered(scene: Scene) -> str:
    """The direction of our last SDP to the caller."""
    body = scene.lab.gateway.calls[scene.first_call].remote_body
    return "sendonly" if sdp.is_hold(body) else "sendrecv"


def held(scene: Scene) -> bool:
    return scene.box.media.calls[scene.call].held


def test_held_by_re_invite_and_resumed_by_star_0() -> None:
    scene = Scene()
    phone_reinvite(scene, "sendonly")
    assert held(scene) and caller_offered(scene) == "sendonly"
    keys(scene, "*0")
    assert not held(scene) and scene.box.media.playing(scene.call) is None
    assert caller_offered(scene) == "sendrecv"  # the caller sends to us again
    assert len(scene.of(CallHeld)) == len(scene.of(CallResumed)) == 1
    assert scene.box.cc.agent_status(scene.agent).state == "talking"


def test_held_by_star_0_a_refresh_does_not_resume_but_the_phones_resume_does() -> None:
    scene = Scene()
    keys(scene, "*0")
    phone_reinvite(scene, "sendrecv")  # a session refresh with the same SDP
    assert held(scene) and scene.box.media.playing(scene.call) == "music"
    assert scene.of(CallResumed) == []
    phone_reinvite(scene, "sendonly")  # the phone's own hold, then its resume
    phone_reinvite(scene, "sendrecv")
    assert not held(scene) and len(scene.of(CallResumed)) == 1
    assert scene.hears("caller", "agent")


def test_held_by_star_0_then_transferred_by_hash_1_the_caller_is_off_hold() -> None:
    scene = Scene(agents=3)
    keys(scene, "*0")
    # What `#1` target `#` does (the scene's agents' ids are no digits to key).
    scene.box.transfers.blind(scene.agent_leg, scene.target, scene.lab.net.now)
    scene.lab.run(0.5)
    (moved,) = scene.of(CallTransferred)
    assert moved.target == f"agent:{scene.target}"
    assert not held(scene)
    scene.target_answers()
    assert scene.box.media.playing(scene.call) is None
    assert scene.hears("caller", "target")


def test_held_by_star_0_then_consulting() -> None:
    scene = Scene()
    keys(scene, "*0")
    assert scene.start()  # what `*2` target `#` does
    assert scene.box.consultations.active(scene.agent_leg)
    scene.target_answers()
    assert scene.hears("agent", "target")
    assert scene.box.media.playing(scene.call) == "music"
    keys(scene, "*1")
    assert not held(scene) and scene.hears("caller", "agent")
    assert len(scene.of(CallHeld)) == len(scene.of(CallResumed)) == 1


def test_hold_time_is_the_music_heard_across_swap_three_way_and_abort() -> None:
    scene = Scene()
    scene.start()  # held from here
    scene.target_answers()
    scene.lab.run(10)
    scene.ask("swap")  # off hold
    scene.lab.run(10)
    scene.ask("swap")  # held
    scene.lab.run(5)
    scene.ask("three_way")  # off hold
    scene.lab.run(10)
    scene.ask("swap")  # the agent and the caller: off hold
    scene.lab.run(3)
    scene.ask("swap")  # held
    scene.lab.run(4)
    scene.ask("abort")
    scene.lab.run(5)
    music = _music_seconds(scene)
    scene.lab.do(scene.lab.gateway, "hangup", scene.first_call)
    scene.lab.run(1)
    [detail] = call_details(scene.lab.log)
    assert abs(detail.hold - music) < 0.01, (detail.hold, music)


def _music_seconds(scene: Scene) -> float:
    """The seconds between each CallHeld and the CallResumed after it."""
    marks = sorted([(r.t, 1) for r in scene.of(CallHeld)]
                   + [(r.t, -1) for r in scene.of(CallResumed)])
    total, since = 0.0, None
    for t, kind in marks:
        if kind == 1 and since is None:
            since = t
        elif kind == -1 and since is not None:
            total, since = total + t - since, None
    return total
