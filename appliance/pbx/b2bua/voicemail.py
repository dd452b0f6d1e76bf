"""The B2BUA's side of voicemail: call control's `RecordMessage` and `StopMessage` become a
recording of the caller on the media plane, a `VoicemailLeft` record, and a new count for the
mailbox's message-waiting subscribers (`mwi.py`).

Without a media plane (SIP-fidelity simulation) nothing is recorded, and the record still
says a message of that length was left (with no file; kept if 0.3 s long or more), as
call-fidelity simulation says it (`sim.channels.direct`).
"""

from __future__ import annotations

from appliance.eventlog import EventLog
from appliance.events import VoicemailLeft, new
from appliance.media.voicemeter import MIN_VOICED_SECONDS
from appliance.pbx.actions import RecordMessage, StopMessage
from appliance.pbx.b2bua.anchor import MediaAnchor
from appliance.pbx.b2bua.mwi import MessageWaiting
from appliance.pbx.callcontrol import CallControl


class Messages:
    """Messages being left, by call: (mailbox, caller's number, when recording began)."""

    def __init__(self, anchor: MediaAnchor | None, cc: CallControl, log: EventLog,
                 waiting: MessageWaiting) -> None:
        self.anchor = anchor
        self.cc = cc
        self.log = log
        self.waiting = waiting
        self.recording: dict[int, tuple[str, str, float]] = {}

    def record(self, action: RecordMessage, now: float) -> None:
        call = self.cc.calls.get(action.call)
        caller = "" if call is None else call.ani
        self.recording[action.call] = (action.mailbox, caller, now)
        if self.anchor is not None:
            self.anchor.media.silence(action.call)
            self.anchor.media.record_message(action.call, action.mailbox, caller, now)

    def stop(self, action: StopMessage, now: float) -> None:
        started = self.recording.pop(action.call, None)
        if started is None:
            return
        mailbox, caller, began = started
        seconds, file, kept = now - began, "", now - began >= MIN_VOICED_SECONDS
        if self.anchor is not None:  # else simulation: only its length says
            taken = self.anchor.media.finish_message(action.call, now)
            if taken is not None:
                seconds, file = taken.seconds, taken.file
            kept = bool(file)
        self.log.append(new(VoicemailLeft, (now, action.call, mailbox, caller, seconds, file,
                                            kept)))
        if kept:
            fresh, heard = self.waiting.counts.get(mailbox, (0, 0))
            self.waiting.changed(mailbox, (fresh + 1, heard), now)
