"""Agents logged in by their phones (`agent_login`): all at once ("static"), or each while its
phone is registered or has a static contact ("register"); and phones' REGISTERs, whose
bindings come and go."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from appliance.clock import Deadlines, TimerHandle
from appliance.net import Address
from appliance.pbx.b2bua.phones import Phones
from appliance.pbx.callcontrol import CallControl
from appliance.pbx.sip.layer import TransactionLayer
from appliance.pbx.sip.message import Request

if TYPE_CHECKING:
    from appliance.config import Site


class AgentLogins:
    """Logs agents in and out with call control as registrations change."""

    def __init__(self, phones: Phones, cc: CallControl, layer: TransactionLayer,
                 deadlines: Deadlines) -> None:
        self.phones = phones
        self.cc = cc
        self.layer = layer
        self.deadlines = deadlines
        self.agents: set[str] = set()
        self.mode = "static"
        self._expiry_timer: TimerHandle | None = None
        # Told after every REGISTER taken and every expiry: registering gateways may move.
        self.registrations_changed: Callable[[float], None] = lambda now: None

    def apply(self, site: Site) -> None:
        self.agents = {agent.id for agent in site.expanded_agents()}
        self.mode = site.sip.agent_login

    def start(self) -> None:
        """Log in whom the mode logs in from the start."""
        if self.mode == "static":
            for agent in sorted(self.agents):
                self.cc.agent_login(0.0, agent)
        elif self.mode == "register":
            self._log_in_static_phones(0.0)

    def reloaded(self, before: set[str], now: float) -> None:
        """After a reload: an agent added whose phone is registered already is logged in as if
        it had just registered (with "static", at once); the others keep their state."""
        mode, registrar = self.mode, self.phones.registrar
        for agent in sorted(self.agents - before):
            if mode == "static" or (mode == "register" and registrar.lookup(agent, now)):
                self.cc.agent_login(now, agent)
        if mode == "register":
            self._log_in_static_phones(now)

    def register(self, request: Request, source: Address, now: float) -> None:
        """A REGISTER from `source`: authenticated, answered, and its bindings taken."""
        result = self.phones.authenticate(request, source, now)
        if result is None:
            return
        response = self.phones.registrar.handle(request, source, now, auth=result)
        self.layer.send_response(response, now)
        self._registrations_changed(now)

    def _log_in_static_phones(self, now: float) -> None:
        """With login by registration, an agent whose phone has a static contact or is a
        gateway's station port is always reachable, so logged in (ready) as if their phone had
        registered."""
        for agent in self.phones.fixed_users():
            if agent in self.agents and self.cc.agent_status(agent) is not None:
                self.cc.agent_login(now, agent, ready=True)

    def _registrations_changed(self, now: float) -> None:
        for user, registered in self.phones.registrar.take_changes():
            if self.mode != "register" or user not in self.agents:
                continue
            if user in self.phones.fixed_users():
                continue  # reachable at its static contact with or without a registration
            if registered:
                self.cc.agent_login(now, user, ready=True)
            else:
                self.cc.agent_logout(now, user)
        self._arm_expiry()
        self.registrations_changed(now)

    def _arm_expiry(self) -> None:
        when = self.phones.registrar.next_expiry()
        timer = self._expiry_timer
        if timer is not None and not timer.cancelled and when is not None and timer.when <= when:
            return
        if timer is not None:
            timer.cancel()
        self._expiry_timer = None if when is None else self.deadlines.schedule(
            when, self._expire_registrations)

    def _expire_registrations(self, now: float) -> None:
        self._expiry_timer = None
        self.phones.registrar.expire(now)
        self._registrations_changed(now)
