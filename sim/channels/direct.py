"""The direct channel: callers and agents as call-control inputs (call fidelity).

No SIP message is built: every act is one input to the real `CallControl`, and
what callers and agents hear are the core's own actions, handed out by the
`CoreDriver` after each input. A call's handle is call control's call id. Voicemail
messages are not recorded: each is logged (`VoicemailLeft`) with its length alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from appliance.events import Record, VoicemailLeft, new
from appliance.media.voicemeter import MIN_VOICED_SECONDS
from appliance.pbx.acd.agent import NOT_READY, WRAP_UP
from appliance.pbx.acd.core import REASON_NO_ANSWER
from appliance.pbx.actions import HangUpCaller, RecordMessage, StopMessage
from sim.channels import IVR_RECORDS, Conversation, Goodbye, IvrHeard

if TYPE_CHECKING:
    from appliance.pbx.callcontrol import CallControl
    from appliance.pbx.routing import Target
    from sim.channels.subscribers import Handler
    from sim.clock import SimClock
    from sim.driver import CoreDriver


class DirectChannel:
    """`sim.channels.Channel` on call control, through `driver`."""

    def __init__(self, clock: SimClock, core: CallControl, driver: CoreDriver) -> None:
        self.env = clock.env
        self.core = core
        self.driver = driver
        # Bound once: asked for on every call.
        self.settle = driver.settle
        self._offer_call = core.offer_call
        self._agent_answer = core.agent_answer
        self._caller_hangup = core.caller_hangup
        self._conversations: dict[int, Conversation] = {}
        # `Channel.conversation`, asked several times a call: the dictionary's own look-up.
        self.conversation: Callable[[int], Conversation | None] = self._conversations.get
        self._goodbye: Handler | None = None
        self._messages: dict[int, tuple[str, float]] = {}  # call -> caller's number, start

    def on(self, action_type: type, handler: Handler) -> None:
        self.driver.on(action_type, handler)

    def start(self) -> None:
        self.driver.on(RecordMessage, self._recording)
        self.driver.on(StopMessage, self._message_ended)
        # Last to hear a release, so that the callers' model still finds the conversation.
        self.driver.on(HangUpCaller, self._released)
        self._goodbye = self.driver.handlers.get(Goodbye)  # everyone has subscribed by now
        self.settle()

    # --- callers ---------------------------------------------------------------------

    def offer(self, conversation: Conversation, trunk_group: str, ani: str, dnis: str,
              attempt: int, line: str = "") -> int:
        call = self._offer_call(self.env.now, trunk_group, ani, dnis, attempt, line=line)
        self._conversations[call] = conversation
        self.settle()
        return call

    def connect_outside(self, conversation: Conversation, trunk_group: str, number: str,
                        dnis: str, target: Target, variables: Mapping[str, str]) -> int:
        """An outside call the appliance placed was answered by `conversation`'s party: it
        goes to `target` (`CallControl.connect_outside`); returns its handle."""
        call = self.core.connect_outside(self.env.now, trunk_group, number, dnis, target,
                                         variables)
        self._conversations[call] = conversation
        self.settle()
        return call

    def hang_up(self, call: int) -> None:
        self._caller_hangup(self.env.now, call)
        self.settle()  # a ring withdrawn now still finds the caller, who has left
        del self._conversations[call]

    def press(self, call: int, digit: str) -> None:
        self._input(self.core.caller_digit, call, digit)

    def answer_callback(self, call: int) -> None:
        self._input(self.core.callback_answered, call)

    def hear_latest(self) -> None:
        """Every record is heard as call control writes it: nothing is behind."""

    def follow_ivr(self, heard: IvrHeard) -> None:
        # A call's handle is call control's own id: the records need no translation. Those
        # written while a call is offered wait until the channel knows its caller.
        self._ivr_heard = heard
        self._ivr_held: list[Record] | None = None
        self.core.log.subscribe(self._follow, IVR_RECORDS)
        self.offer = self._offer_following  # type: ignore[method-assign]

    def _follow(self, record: Record) -> None:
        if self._ivr_held is None:
            self._ivr_heard(record.call, record)  # type: ignore[attr-defined]
        else:
            self._ivr_held.append(record)

    def _offer_following(self, conversation: Conversation, trunk_group: str, ani: str,
                         dnis: str, attempt: int, line: str = "") -> int:
        held = self._ivr_held = []
        call = self._offer_call(self.env.now, trunk_group, ani, dnis, attempt, line=line)
        self._conversations[call] = conversation
        self._ivr_held = None
        for record in held:
            self._ivr_heard(call, record)
        self.settle()
        return call

    def _input(self, method: Callable[..., object], *args: object) -> object:
        """One input to call control now, then what it makes callers and agents hear; what
        call control answered."""
        answer = method(self.env.now, *args)
        self.settle()
        return answer

    def _released(self, action: HangUpCaller) -> None:
        del self._conversations[action.call]

    def _recording(self, action: RecordMessage) -> None:
        call = self.core.calls.get(action.call)
        self._messages[action.call] = ("" if call is None else call.ani, self.env.now)

    def _message_ended(self, action: StopMessage) -> None:
        """Log the message as the B2BUA without media does: no file, kept if long enough."""
        started = self._messages.pop(action.call, None)
        if started is not None:
            ani, began = started
            now = self.env.now
            self.core.log.append(new(VoicemailLeft, (now, action.call, action.mailbox, ani,
                                                     now - began, "",
                                                     now - began >= MIN_VOICED_SECONDS)))

    # --- agents ----------------------------------------------------------------------

    def will_answer(self, call: int, at: float) -> None:
        conversation = self._conversations.get(call)
        if conversation is not None and at < conversation.answer_at:
            conversation.answer_at = at

    def answer(self, agent: str, call: int) -> None:
        self._agent_answer(self.env.now, agent, call)  # every call: no detour
        self.settle()

    def decline(self, agent: str, call: int) -> None:
        self._input(self.core.agent_decline, agent, call)

    def hold(self, agent: str) -> None:
        self._input(self.core.agent_hold, agent)

    def resume(self, agent: str) -> None:
        self._input(self.core.agent_resume, agent)

    def transfer(self, agent: str, queue: str) -> bool:
        # A transfer call control refuses (the agent's call is gone, the queue retired) leaves
        # the agent to end the conversation, as a refused REFER does over SIP.
        return bool(self._input(self.core.agent_transfer, agent, queue))

    def say_goodbye(self, call: int) -> None:
        if self._goodbye is not None:
            self._goodbye(new(Goodbye, (call,)))

    def hang_up_agent(self, agent: str) -> None:
        self._input(self.core.agent_hangup, agent)

    def log_in(self, agent: str) -> None:
        self._input(self.core.agent_login, agent)

    def log_out(self, agent: str) -> None:
        self._input(self.core.agent_logout, agent)

    def ready(self, agent: str) -> None:
        self._input(self.core.agent_ready, agent)

    def not_ready(self, agent: str, reason: str) -> None:
        self._input(self.core.agent_not_ready, agent, reason)

    def wrapping_up(self, agent: str) -> bool:
        status = self.core.agent_status(agent)
        return status is not None and status.state is WRAP_UP

    def paused_for_missed_ring(self, agent: str) -> bool:
        status = self.core.agent_status(agent)
        return (status is not None and status.state is NOT_READY
                and status.reason == REASON_NO_ANSWER)
