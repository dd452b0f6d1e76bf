"""The B2BUA taking a new configuration while phones are registered and calls are up."""

from __future__ import annotations

import yaml

from appliance.config import Site, parse_site
from appliance.events import AgentStateChanged, CallAnswered, CallEnded, EndCause
from tests.appliance.pbx.b2bua.harness import Lab, live_site


def without_agent(site: Site, agent: str) -> Site:
    data = site.model_dump(mode="json", exclude_defaults=True)
    data["agents"] = [a for a in data["agents"] if a["id"] != agent]
    return parse_site(yaml.safe_dump(data), source="<test>")


def state(lab: Lab, agent: str) -> str:
    found = lab.box.cc.acd.agents.get(agent)
    return "gone" if found is None else found.state.value


def test_an_agent_added_logs_in_when_their_phone_registers() -> None:
    full = live_site(agents=2)
    lab = Lab(full)
    lab.box.reload(without_agent(full, "a2"), 0.0)
    lab.run(0.5)
    lab.box.reload(full, lab.net.now)  # a2 is back in the file before their phone registers
    lab.register_all()
    assert (state(lab, "a1"), state(lab, "a2")) == ("ready", "ready")


def test_an_agent_added_whose_phone_is_registered_is_logged_in_at_once() -> None:
    full = live_site(agents=2)
    lab = Lab(full)
    lab.box.reload(without_agent(full, "a2"), 0.0)
    lab.register_all()  # a2's phone registers while a2 is no agent
    assert state(lab, "a2") == "gone"
    lab.box.reload(full, lab.net.now)
    assert state(lab, "a2") == "ready"
    logins = [r for r in lab.log if isinstance(r, AgentStateChanged) and r.agent == "a2"]
    assert [r.state.value for r in logins] == ["ready"]


def test_an_agent_removed_during_a_call_talks_on_and_is_logged_out_after_it() -> None:
    full = live_site(agents=2, strategy="linear")
    lab = Lab(full)
    lab.register_all()
    call = lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    incoming = next(iter(lab.phones["a1"].calls.values()))
    lab.do(lab.phones["a1"], "answer", incoming.id)
    lab.run(0.5)
    lab.box.reload(without_agent(full, "a1"), lab.net.now)
    lab.run(10)
    assert state(lab, "a1") == "talking"
    assert lab.gateway.calls[call].state == "answered"
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    assert state(lab, "a1") == "gone"
    assert [r.cause for r in lab.log if isinstance(r, CallEnded)] == [EndCause.CALLER_HANGUP]
    # The next call goes to the agent left; a1's phone, still registered, is not rung.
    lab.phones["a1"].take_events()
    lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    assert [e.kind for e in lab.phones["a1"].take_events()] == []
    incoming = next(c for c in lab.phones["a2"].calls.values() if c.state == "incoming")
    lab.do(lab.phones["a2"], "answer", incoming.id)
    lab.run(0.5)
    assert [r.agent for r in lab.log if isinstance(r, CallAnswered)] == ["a1", "a2"]


def test_a_new_autopause_policy_applies_to_the_next_busy_phone() -> None:
    lab = Lab(live_site(agents=2, strategy="linear"))
    lab.register_all()
    lab.box.reload(live_site(agents=2, strategy="linear",
                             queue={"autopause": "on_any_failure"}), lab.net.now)
    lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    incoming = next(iter(lab.phones["a1"].calls.values()))
    lab.do(lab.phones["a1"], "reject", incoming.id, 486, "Busy Here")
    lab.run(0.5)
    agent = lab.box.cc.acd.agents["a1"]
    assert (agent.state.value, agent.reason) == ("not_ready", "busy")
