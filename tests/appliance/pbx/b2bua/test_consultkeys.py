"""An agent's phone drives the box's consultation with keys sent in SIP INFO: `*2` target
`#`, then `*1` abort, `*2` complete, `*3` three-way, `*4` swap. The keys reach a stand-in for
`Consultations` that notes what was asked (the live test drives the real one: keyed targets
are digits, and this harness's agents are a1, a2)."""

from __future__ import annotations

from appliance.pbx.legs import Leg
from tests.appliance.pbx.b2bua.test_consultation import Scene


class Asked:
    """What the keys asked of the consultations; a start succeeds unless refused."""

    def __init__(self, refuse: bool = False) -> None:
        self.asked: list[tuple[str, ...]] = []
        self.consulting = False
        self.refuse = refuse

    def active(self, agent_leg: Leg) -> bool:
        return self.consulting

    def start(self, agent_leg: Leg, target: str, now: float) -> bool:
        self.asked.append(("start", target))
        self.consulting = not self.refuse
        return self.consulting

    def __getattr__(self, name: str):
        return lambda agent_leg, now: self.asked.append((name,))


def keyed(keys: str, refuse: bool = False) -> tuple[Scene, Asked]:
    scene = Scene()
    asked = Asked(refuse)
    scene.box.consultation_keys.consultations = asked  # type: ignore[assignment]
    phone = scene.lab.phones[scene.agent]
    for key in keys:
        scene.lab.do(phone, "press", scene.agent_call, key)
        scene.lab.run(0.05)
    return scene, asked


def test_a_start_then_each_consultation_code():
    _, asked = keyed("*21002#*4*3*1*2")
    assert asked.asked == [("start", "1002"), ("swap",), ("three_way",), ("abort",),
                           ("complete",)]


def test_keys_that_fit_no_code_are_ignored():
    _, asked = keyed("5*7**2#9*21002#8#*5**4")
    assert asked.asked == [("start", "1002"), ("swap",)]


def test_a_refused_start_forgets_the_keys():
    scene, asked = keyed("*21002#*3", refuse=True)
    assert asked.asked == [("start", "1002")]  # *3 is no code outside a consultation
    assert scene.box.consultation_keys.keyed == {}
