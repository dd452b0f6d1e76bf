"""Consultation controlled by the box over a simulated network: the agent's one call, the
caller on hold with music, the target rung from the agent, swaps, three-way, completion and
every way back. RTP is fed to and read from the media plane directly, each party sending
one constant level, so that what each hears is the sum of the levels it hears."""

from __future__ import annotations

from random import Random

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from appliance.events import (
    CallEnded,
    CallHeld,
    CallResumed,
    CallTransferred,
    ExtensionCallEnded,
    ExtensionCallStarted,
    OutsideCallEnded,
    OutsideCallStarted,
)
from appliance.media.g711 import ulaw_decode, ulaw_encode
from appliance.media.rtp import RtpPacket
from appliance.media.rtp import parse as parse_rtp
from appliance.records.cdr import call_details
from sim.sipua import UserAgent
from tests.appliance.pbx.b2bua.harness import (
    APPLIANCE,
    GATEWAY,
    Lab,
    live_site,
    media_plane,
    password,
)
from tests.appliance.pbx.b2bua.test_transfer_out import DESK, ROUTE, phone_entry

CALLER_MEDIA = (GATEWAY[0], 40000)
LEVELS = {"caller": 1000, "agent": 4000, "target": 16000}
EXPERT = "90301234567"  # an outside number, by the route out's prefix 9


class Scene:
    """A caller talking with one agent; the other agent (or phone) free to be consulted."""

    def __init__(self, agents: int = 2, desk: bool = False, outside: str = "") -> None:
        """With `desk`, the target is the phone 200, no agent's; with `outside`, the
        outside number EXPERT through the gateway (the route out), which the agents'
        phones may dial as `outside` says (a dial permission)."""
        site = live_site(agents=agents)
        if outside:
            site = live_site(agents=agents, trunk={"outbound": ROUTE}, phone={
                f"a{i}": {"dial": outside} for i in range(1, agents + 1)})
        if desk:
            site = live_site(agents=agents, sip={"phones": [
                phone_entry(user) for user in ("a1", "a2", DESK)]})
        self.lab = lab = Lab(site, media_for=media_plane(timeout=600))
        if desk:
            phone = UserAgent(DESK, password(DESK), ("10.0.1.9", 5060), APPLIANCE, Random("d"))
            lab.phones[DESK] = phone
            lab.net.attach(phone.local, phone)
        lab.register_all()
        self.first_call = lab.do(lab.gateway, "call", "100")
        lab.run(0.5)
        self.agent = next(user for user, phone in lab.phones.items()
                          if any(c.state == "incoming" for c in phone.calls.values()))
        self.target = DESK if desk else next(u for u in lab.phones if u != self.agent)
        self.target_ua = lab.phones[self.target]
        if outside:
            self.target, self.target_ua = EXPERT, lab.gateway
        phone = lab.phones[self.agent]
        self.agent_call = next(c.id for c in phone.calls.values() if c.state == "incoming")
        lab.do(phone, "answer", self.agent_call)
        lab.run(0.5)
        self.call = max(lab.box.cc.calls)
        self.box = lab.box

    @property
    def agent_leg(self):
        return self.box.legs.rings[(self.call, self.agent)]

    def start(self, target: str | None = None) -> bool:
        started = self.box.consultations.start(self.agent_leg, target or self.target,
                                               self.lab.net.now)
        self.lab.run(0.5)
        return started

    def target_answers(self) -> None:
        phone = self.target_ua
        for _ in range(10):  # a retransmitted INVITE comes a little later
            incoming = [c.id for c in phone.calls.values() if c.state == "incoming"]
            if incoming:
                break
            self.lab.run(0.5)
        self.lab.do(phone, "answer", incoming[0])
        self.lab.run(0.5)

    def target_call(self) -> int:
        """The target's end of the consultation, answered."""
        return next(c.id for c in self.target_ua.calls.values() if c.state == "answered"
                    and (self.target_ua is not self.lab.gateway or c.id != self.first_call))

    def ask(self, what: str) -> None:
        getattr(self.box.consultations, what)(self.agent_leg, self.lab.net.now)
        self.lab.run(0.5)

    def parties(self) -> dict[str, tuple[int, tuple[str, int]]]:
        """Each party's relay port and the address it is reached at (the relay's peers):
        the call's two sides, our own call's agent side facing the target; once the target
        took the call over, its phone is the call's agent side and the agent is gone."""
        sessions = self.box.media.relay.sessions
        sides = sessions[self.call].sides
        found = {"caller": (sides[0].local_port, sides[0].peer)}
        ours = [c for c in sessions if c < 0]
        if ours:
            found["agent"] = (sides[1].local_port, sides[1].peer)
            target = sessions[ours[0]].sides[1]
            found["target"] = (target.local_port, target.peer)
        else:
            agent_host = self.lab.phones[self.agent].local[0]
            taken = sides[1].peer is not None and sides[1].peer[0] != agent_host
            found["target" if taken else "agent"] = (sides[1].local_port, sides[1].peer)
        return {party: found[party] for party in found if found[party][1] is not None}

    def heard(self, seconds: float = 1.0) -> dict[str, list[int]]:
        """Every party sends its level for `seconds`; the first sample of every packet
        each party got."""
        where = self.parties()
        by_address = {address: party for party, (_, address) in where.items()}
        self.box.media.take_datagrams()
        received: dict[str, list[int]] = {}
        for seq in range(int(seconds / 0.02)):
            for party, (port, address) in where.items():
                payload = ulaw_encode(np.full(160, LEVELS[party], dtype=np.int16))
                packet = bytes(RtpPacket(0, seq, seq * 160, 0x100 + len(party), payload))
                self.box.receive_media(port, packet, address, self.lab.net.now)
            self.lab.run(0.02)
            for port, data, to in self.box.media.take_datagrams():
                if port % 2 == 0 and to in by_address:
                    first = int(ulaw_decode(parse_rtp(data).payload)[0])
                    received.setdefault(by_address[to], []).append(first)
        return received

    def hears(self, who: str, *parties: str) -> bool:
        levels = self.heard(0.6)[who]
        expected = sum(LEVELS[p] for p in parties)
        return abs(int(np.median(levels)) - expected) <= expected * 0.05 + 10

    def of(self, kind):
        return [r for r in self.lab.log if isinstance(r, kind)]


def test_the_caller_hears_music_while_the_agent_and_the_target_talk():
    scene = Scene()
    assert scene.start()
    assert scene.box.consultations.active(scene.agent_leg)
    assert [r.agent for r in scene.of(CallHeld)] == [scene.agent]
    (started,) = scene.of(ExtensionCallStarted)
    assert (started.caller, started.callee) == (scene.agent, scene.target)
    scene.target_answers()
    assert scene.box.media.playing(scene.call) == "music"
    assert scene.hears("agent", "target")
    assert scene.hears("target", "agent")
    music = scene.heard(0.4)["caller"]
    assert np.std(music) > 1000  # the 440 Hz tone, not one party's level


def test_swap_three_way_and_abort():
    scene = Scene()
    scene.start()
    scene.target_answers()
    scene.ask("swap")
    assert scene.hears("agent", "caller")
    assert scene.hears("caller", "agent")
    assert [r.agent for r in scene.of(CallResumed)] == [scene.agent]
    scene.ask("swap")
    assert scene.hears("agent", "target")
    scene.ask("three_way")
    assert scene.hears("caller", "agent", "target")
    assert scene.hears("agent", "caller", "target")
    assert scene.hears("target", "caller", "agent")
    scene.ask("abort")
    assert not scene.box.consultations.active(scene.agent_leg)
    assert scene.of(ExtensionCallEnded)[-1].cause == "caller_hangup"
    assert scene.box.media.mixes == {}
    assert scene.hears("caller", "agent")
    assert scene.hears("agent", "caller")
    target_calls = scene.lab.phones[scene.target].calls.values()
    assert all(c.state == "ended" for c in target_calls)


def test_complete_hands_the_caller_to_the_target_agent():
    scene = Scene()
    scene.start()
    scene.target_answers()
    scene.ask("complete")
    (moved,) = scene.of(CallTransferred)
    assert (moved.agent, moved.target) == (scene.agent, f"agent:{scene.target}")
    assert scene.of(ExtensionCallEnded)[-1].cause == "transferred"
    assert scene.lab.phones[scene.agent].calls[scene.agent_call].state == "ended"
    assert scene.box.legs.rings[(scene.call, scene.target)].partner is not None
    assert scene.hears("caller", "target")
    assert scene.hears("target", "caller")
    assert [c for c in scene.box.media.relay.sessions if c < 0] == []


def test_complete_to_a_desk_phone_transfers_the_caller_out_to_it():
    scene = Scene(desk=True)
    assert scene.start()
    scene.target_answers()
    assert scene.hears("agent", "target")
    scene.ask("complete")
    (moved,) = scene.of(CallTransferred)
    assert (moved.agent, moved.target) == (scene.agent, f"extension:{DESK}")
    assert [r.cause for r in scene.of(CallEnded)] == ["transferred_out"]
    assert scene.of(ExtensionCallEnded)[-1].cause == "transferred"
    assert scene.lab.phones[scene.agent].calls[scene.agent_call].state == "ended"
    desk = scene.lab.phones[DESK]
    assert [e.kind for e in desk.events].count("reinvited") == 1  # onto the call's port
    assert scene.box.media.mixes == {} and scene.box.cc.trunks.busy["pstn"] == 1
    assert scene.hears("caller", "target")
    assert scene.hears("target", "caller")
    scene.lab.do(scene.lab.gateway, "hangup", next(iter(scene.lab.gateway.calls)))
    scene.lab.run(1)
    assert all(c.state == "ended" for c in desk.calls.values())
    assert scene.box.legs.empty and scene.box.cc.trunks.busy["pstn"] == 0


def test_complete_to_an_outside_number_transfers_the_caller_out_to_it():
    scene = Scene(outside="national")
    assert scene.start()
    (started,) = scene.of(OutsideCallStarted)
    assert (started.number, started.placed_by, started.purpose) == (
        "0301234567", scene.agent, "consulted")
    assert scene.of(ExtensionCallStarted) == [] and scene.of(CallHeld)
    assert scene.box.cc.trunks.busy["pstn"] == 2  # the caller's channel and the expert's
    scene.target_answers()
    assert scene.hears("agent", "target")
    assert scene.hears("target", "agent")
    scene.ask("complete")
    (moved,) = scene.of(CallTransferred)
    assert (moved.agent, moved.target) == (scene.agent, "outside:0301234567")
    assert [r.cause for r in scene.of(CallEnded)] == ["transferred_out"]
    assert scene.of(ExtensionCallEnded) == []
    assert scene.lab.phones[scene.agent].calls[scene.agent_call].state == "ended"
    assert [e.kind for e in scene.lab.gateway.events].count("reinvited") == 1
    assert scene.box.media.mixes == {} and scene.box.cc.trunks.busy["pstn"] == 2
    assert scene.hears("caller", "target")
    assert scene.hears("target", "caller")
    scene.lab.do(scene.lab.gateway, "hangup", scene.target_call())
    scene.lab.run(1)
    assert all(c.state == "ended" for c in scene.lab.gateway.calls.values())
    assert [(r.cause, r.status) for r in scene.of(OutsideCallEnded)] == [("far_hangup", 200)]
    assert scene.box.legs.empty and scene.box.cc.trunks.busy["pstn"] == 0
    [detail] = call_details(scene.lab.log)
    assert (detail.transfers_outside, detail.transfers_to_extension) == (1, 0)


def test_an_outside_number_the_agent_may_not_dial_is_refused_and_recorded():
    scene = Scene(outside="internal")
    assert not scene.start()
    assert [r.cause for r in scene.of(OutsideCallEnded)] == ["barred"]
    assert scene.of(CallHeld) == [] and scene.box.consultations.sessions == {}
    assert not scene.start("12345")  # no phone, no agent, no route out
    assert scene.box.cc.trunks.busy["pstn"] == 1


def test_an_outside_number_busy_or_gone_brings_the_agent_back():
    scene = Scene(outside="national")
    assert scene.start()
    far = next(c.id for c in scene.lab.gateway.calls.values() if c.state == "incoming")
    scene.lab.do(scene.lab.gateway, "reject", far)
    scene.lab.run(0.5)
    assert scene.box.cc.agent_status(scene.agent).state == "talking"
    assert scene.box.cc.trunks.busy["pstn"] == 1
    assert scene.hears("caller", "agent")
    assert scene.start()
    scene.target_answers()
    scene.ask("swap")
    scene.ask("three_way")
    assert scene.hears("caller", "agent", "target")
    scene.lab.do(scene.lab.gateway, "hangup", scene.target_call())
    scene.lab.run(0.5)
    assert scene.box.cc.agent_status(scene.agent).state == "talking"
    assert [r.cause for r in scene.of(OutsideCallEnded)] == ["busy", "far_hangup"]
    assert scene.box.cc.trunks.busy["pstn"] == 1 and scene.box.media.mixes == {}
    assert scene.hears("agent", "caller")


def test_the_caller_hanging_up_lets_the_outside_number_go():
    scene = Scene(outside="national")
    scene.start()
    scene.target_answers()
    gateway = scene.lab.gateway
    scene.lab.do(gateway, "hangup", scene.first_call)
    scene.lab.run(1)
    assert all(c.state == "ended" for c in gateway.calls.values())
    assert [r.cause for r in scene.of(OutsideCallEnded)] == ["caller_hangup"]
    assert scene.box.legs.empty and scene.box.cc.trunks.busy["pstn"] == 0


def test_the_agent_hanging_up_while_consulting_completes():
    scene = Scene()
    scene.start()
    scene.target_answers()
    assert scene.hears("agent", "target")  # the relay latched to each phone's RTP
    scene.lab.do(scene.lab.phones[scene.agent], "hangup", scene.agent_call)
    scene.lab.run(0.5)
    assert len(scene.of(CallTransferred)) == 1
    assert not scene.of(CallEnded)
    assert scene.hears("caller", "target")
    assert scene.hears("target", "caller")


def test_the_agent_hanging_up_while_consulting_a_desk_phone_transfers_the_caller_out():
    scene = Scene(desk=True)
    scene.start()
    scene.target_answers()
    assert scene.hears("agent", "target")  # every party talks: the relay latched to each
    scene.lab.do(scene.lab.phones[scene.agent], "hangup", scene.agent_call)
    scene.lab.run(0.5)
    (moved,) = scene.of(CallTransferred)
    assert (moved.agent, moved.target) == (scene.agent, f"extension:{DESK}")
    assert [r.cause for r in scene.of(CallEnded)] == ["transferred_out"]
    assert scene.of(ExtensionCallEnded)[-1].cause == "transferred"
    assert scene.box.media.mixes == {}
    assert scene.hears("caller", "target")
    assert scene.hears("target", "caller")
    scene.lab.do(scene.lab.gateway, "hangup", scene.first_call)
    scene.lab.run(1)
    assert all(c.state == "ended" for c in scene.lab.phones[DESK].calls.values())
    assert scene.box.legs.empty and scene.box.cc.trunks.busy["pstn"] == 0


def test_the_agent_hanging_up_while_consulting_an_outside_number_transfers_the_caller_out():
    scene = Scene(outside="national")
    scene.start()
    scene.target_answers()
    assert scene.hears("agent", "target")  # every party talks: the relay latched to each
    scene.lab.do(scene.lab.phones[scene.agent], "hangup", scene.agent_call)
    scene.lab.run(0.5)
    (moved,) = scene.of(CallTransferred)
    assert (moved.agent, moved.target) == (scene.agent, "outside:0301234567")
    assert [r.cause for r in scene.of(CallEnded)] == ["transferred_out"]
    assert scene.box.media.mixes == {} and scene.box.cc.trunks.busy["pstn"] == 2
    assert scene.hears("caller", "target")
    assert scene.hears("target", "caller")
    scene.lab.do(scene.lab.gateway, "hangup", scene.target_call())
    scene.lab.run(1)
    assert [(r.cause, r.status) for r in scene.of(OutsideCallEnded)] == [("far_hangup", 200)]
    assert scene.box.legs.empty and scene.box.cc.trunks.busy["pstn"] == 0


def test_the_target_refusing_or_hanging_up_brings_the_agent_back():
    scene = Scene()
    scene.start()
    phone = scene.lab.phones[scene.target]
    incoming = next(c.id for c in phone.calls.values() if c.state == "incoming")
    scene.lab.do(phone, "reject", incoming)
    scene.lab.run(0.5)
    assert scene.of(ExtensionCallEnded)[-1].cause == "busy"
    assert scene.hears("caller", "agent")
    assert scene.start()
    scene.target_answers()
    answered = next(c.id for c in phone.calls.values() if c.state == "answered")
    scene.lab.do(phone, "hangup", answered)
    scene.lab.run(0.5)
    assert scene.of(ExtensionCallEnded)[-1].cause == "callee_hangup"
    assert scene.box.cc.agent_status(scene.agent).state == "talking"
    assert scene.hears("agent", "caller")


def test_the_caller_hanging_up_ends_the_call_and_lets_everyone_go():
    scene = Scene()
    scene.start()
    scene.target_answers()
    scene.lab.do(scene.lab.gateway, "hangup", next(iter(scene.lab.gateway.calls)))
    scene.lab.run(1)
    assert len(scene.of(CallEnded)) == 1
    assert scene.box.legs.empty
    assert scene.box.media.calls == {}


def test_refused_starts():
    scene = Scene()
    assert not scene.start("nobody")
    assert not scene.start(scene.agent)
    assert scene.start()
    assert not scene.start()  # consulting already
    assert scene.of(CallHeld) and len(scene.of(ExtensionCallStarted)) == 1


def test_a_target_that_does_not_answer_brings_the_agent_back():
    scene = Scene()
    scene.start()
    scene.lab.run(scene.box.sip.extension_ring_timeout + 1)
    assert scene.of(ExtensionCallEnded)[-1].cause == "no_answer"
    assert scene.box.cc.agent_status(scene.agent).state == "talking"


# "talk": every party sends, so that the relay latches to each (as phones do at once).
STEPS = st.lists(st.sampled_from(["start", "answer", "talk", "swap", "three_way", "abort",
                                  "complete", "agent_bye", "target_bye", "caller_bye", "wait"]),
                 max_size=8)


def _calls(scene: Scene, who: str, state: str) -> list[int]:
    """The calls of `who` (agent, target, caller) in `state`; the gateway's caller and
    outside target told apart by the caller's call."""
    ua = {"agent": scene.lab.phones[scene.agent], "target": scene.target_ua,
          "caller": scene.lab.gateway}[who]
    return [c.id for c in ua.calls.values() if c.state == state and (
        ua is not scene.lab.gateway or (c.id == scene.first_call) == (who == "caller"))]


def _hang_up(scene: Scene, who: str, steps: list[str]) -> None:
    """`who` (agent, target, caller) hangs up; the agent, consulting a target who answered,
    hands the caller to it."""
    lab, box = scene.lab, scene.box
    ua = {"agent": lab.phones[scene.agent], "target": scene.target_ua,
          "caller": lab.gateway}[who]
    leg = box.legs.rings.get((scene.call, scene.agent))
    handing = who == "agent" and any(c.agent_leg is leg and c.mode != "ringing"
                                     for c in box.consultations.sessions.values())
    transferred = len(scene.of(CallTransferred))
    for call in _calls(scene, who, "answered"):
        lab.do(ua, "hangup", call)
    lab.run(0.3)
    assert not handing or len(scene.of(CallTransferred)) == transferred + 1, steps


def _handed_over_both_ways(scene: Scene, steps: list[str]) -> None:
    """A caller transferred (by key or the agent's hang-up) and still talking to the
    target: the two hear each other."""
    caller = scene.box.legs.callers.get(scene.call)
    if (caller is None or caller.partner is None or not scene.of(CallTransferred)
            or caller.partner.agent == scene.agent):
        return
    assert scene.hears("caller", "target"), steps
    assert scene.hears("target", "caller"), steps


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(STEPS, st.sampled_from(["agent", "desk", "outside"]))
@example(["start", "answer", "talk", "agent_bye"], "desk")
@example(["start", "answer", "talk", "agent_bye"], "outside")
def test_every_leg_ends_connected_or_released(steps, kind):
    scene = Scene(desk=kind == "desk", outside="national" if kind == "outside" else "")
    lab = scene.lab
    for step in steps:
        leg = scene.box.legs.rings.get((scene.call, scene.agent))
        if step == "start" and leg is not None:
            scene.box.consultations.start(leg, scene.target, lab.net.now)
        elif step == "answer":
            lab.run(0.3)  # the target's phone rung: our INVITE takes a moment
            for call in _calls(scene, "target", "incoming"):
                lab.do(scene.target_ua, "answer", call)
        elif step in ("swap", "three_way", "abort", "complete") and leg is not None:
            getattr(scene.box.consultations, step)(leg, lab.net.now)
        elif step == "talk" and scene.call in scene.box.media.relay.sessions:
            scene.heard(0.2)
        elif step.endswith("_bye"):
            _hang_up(scene, step.removesuffix("_bye"), steps)
        lab.run(40 if step == "wait" else 0.3)
    lab.run(1)
    box = scene.box
    for (call, who), leg in box.legs.rings.items():
        assert not leg.ended
        consult = box.consultations.sessions.get(call)
        if consult is not None:  # the target, ringing or mixed with the agent
            assert consult.mix in box.media.mixes, steps
            assert consult.target == who or consult.outside is not None, steps
        elif leg.dialog is not None:
            assert leg.partner is not None and leg.partner.partner is leg, (call, who, steps)
    for leg in box.legs.callers.values():
        assert leg.partner is None or leg.partner.partner is leg
    consulting = box.consultations.sessions
    assert all((c.id, c.target) in box.legs.rings or c.outside is not None
               for c in consulting.values() if c.mode != "ringing") or not consulting
    if not consulting:
        assert [c for c in box.media.calls if c < 0] == []
        assert box.media.mixes == {}
    for who in ("agent", "target"):
        assert len(_calls(scene, who, "answered")) <= 1
    _handed_over_both_ways(scene, steps)
    lab.do(lab.gateway, "hangup", scene.first_call)
    for call in list(box.legs.callers):
        box.cc.caller_hangup(lab.net.now, call)
    lab.run(2)
    assert box.consultations.sessions == {}
    assert box.media.mixes == {}
    assert box.cc.trunks.busy["pstn"] == 0 or box.legs.callers
