"""Feature codes a phone dials (login, logout, ready, not ready), carried out with call
control, and call forwarding codes (`forwarding.py`); the call itself is a feature leg
(`appliance.pbx.legs.feature`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance.events import AgentState
from appliance.pbx.callcontrol import CallControl

if TYPE_CHECKING:
    from appliance.config.live import FeatureCodes as Codes


class FeatureCodes:
    """The site's codes, by the number dialled."""

    def __init__(self, cc: CallControl) -> None:
        self.cc = cc
        self._by_number: dict[str, str] = {}

    def apply(self, codes: Codes) -> None:
        self._by_number = {codes.login: "login", codes.logout: "logout",
                           codes.ready: "ready", codes.not_ready: "not_ready"}
        self._forwarding = codes.forwarding()

    def forwarding(self, number: str) -> tuple[str, str] | None:
        """The forwarding change `number` asks for: (condition, target), target "" for off;
        None when it is no forwarding code (an "on" code needs a target after it)."""
        for code, (condition, on) in self._forwarding.items():
            if on and number.startswith(code) and len(number) > len(code):
                return condition, number[len(code):]
            if not on and number == code:
                return condition, ""
        return None

    def dialled(self, number: str) -> str | None:
        """The feature `number` asks for; None when it is no feature code."""
        return self._by_number.get(number)

    def carry_out(self, agent: str, feature: str, now: float) -> bool:
        """Carry out a feature code; False if the agent's state does not allow it. Asking
        for the state one is already in succeeds (a second *41 is not an error)."""
        cc = self.cc
        status = cc.agent_status(agent)
        state = AgentState.LOGGED_OUT if status is None else status.state
        if feature == "login":
            return cc.agent_login(now, agent, ready=True) or state is not AgentState.LOGGED_OUT
        if feature == "logout":
            return cc.agent_logout(now, agent) or state is AgentState.LOGGED_OUT
        if feature == "ready":
            return cc.agent_ready(now, agent) or state is AgentState.READY
        return cc.agent_not_ready(now, agent, "phone") or state is AgentState.NOT_READY
