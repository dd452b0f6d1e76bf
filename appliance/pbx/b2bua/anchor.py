"""The B2BUA anchors every call's media: each party sees only the appliance's address.

A caller is answered as soon as call control queues it, with an SDP answer on the caller-side
relay port, and hears prompts and music from there. The agent's phone is offered the
agent-side port with the codec the caller's side negotiated (the relay copies bytes, it does
not transcode). Re-INVITEs are relayed with each SDP rewritten to the relay's address on the
side it goes to. Media events that end a call (no RTP, a port taken) go to `on_lost`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from random import Random

from appliance.eventlog import EventLog
from appliance.events import (
    Alarm,
    DigitReceived,
    MediaQuality,
    MediaTimedOut,
    RecordingStarted,
    RecordingStopped,
    new,
)
from appliance.hw.tones import Cadence
from appliance.media import sdp
from appliance.media.diskguard import DiskAlarm
from appliance.media.plane import (
    Digit,
    LineSilence,
    LineTone,
    MediaPlane,
    MixBroken,
    PromptMissing,
)
from appliance.media.plane import RecordingStopped as PlaneRecordingStopped
from appliance.media.relay import AGENT, CALLER, MediaPortFailed, MediaTimeout
from appliance.pbx.b2bua.dialogs import Lost
from appliance.pbx.b2bua.legbook import LegBook
from appliance.pbx.callcontrol import CallControl
from appliance.pbx.legs import Leg, LegEvent, Role

logger = logging.getLogger(__name__)

PARTIES = ("caller", "agent")
CALLBACK_EVENT = 101  # the telephone-event payload type offered to a customer called back


class MediaAnchor:
    """SDP on the appliance's relay ports, prompts, recording and media events."""

    def __init__(self, media: MediaPlane, log: EventLog, cc: CallControl, rng: Random,
                 legs: LegBook, on_lost: Lost) -> None:
        self.media = media
        self.media_host = media.host
        self.log = log
        self.cc = cc
        self.rng = rng
        self.legs = legs
        self.on_lost = on_lost
        # Digits of the B2BUA's own calls that are commands, not a caller's (a supervisor's
        # mode switch): True when taken. And where a mix that broke up is reported.
        self.own_digit: Callable[[int, str, float], bool] = lambda call, digit, now: False
        self.mix_broken: Callable[[MixBroken, float], None] = lambda event, now: None
        # Where an agent's keys go (in-call feature codes), after they are logged.
        self.agent_digit: Callable[[int, str, float], None] = lambda call, digit, now: None
        # Which tones say a call's caller line is gone (a gateway's analog port), and what
        # to do when one is heard (call, tone's name, now); both set by the B2BUA. The same
        # for a line that says so by going quiet: seconds of silence (0: not so), and then.
        self.line_tones_of: Callable[[int], Sequence[Cadence]] = lambda call: ()
        self.line_tone: Callable[[int, str, float], None] = lambda call, tone, now: None
        self.line_silence_of: Callable[[int], float] = lambda call: 0.0
        self.line_silent: Callable[[int, float, float], None] = lambda call, seconds, now: None

    # --- the caller's side ------------------------------------------------------------------

    def acceptable_offer(self, request_body: bytes) -> sdp.Sdp | None:
        """The caller's offer if it has an audio stream we can take (G.711), else None."""
        offer = sdp.readable(request_body)
        if offer is None or _first_audio(sdp.answer(offer, self.media_host, 2)) is None:
            return None
        return offer

    def caller_answer(self, leg: Leg, offer: sdp.Sdp, analog: bool, now: float) -> bytes:
        """Open media for the caller of `leg`; our SDP answer to its (acceptable) offer.
        `analog`: its keys come as in-band tones. The tones its line's far end leaves behind
        when it hangs up (`line_tones_of`) are listened for and reported to `line_tone`; so is
        the silence of a line that gives no tone (`line_silence_of`, to `line_silent`)."""
        media = self.media
        caller_port, _ = media.open(leg.call, now)
        leg.sdp_session = self.rng.getrandbits(31)
        answer = sdp.answer(offer, self.media_host, caller_port,
                            session_id=leg.sdp_session, session_version=leg.sdp_version)
        accepted = _first_audio(answer)
        offered = _first_audio(offer)
        assert accepted is not None and offered is not None  # checked by _acceptable_offer
        payload_type = int(accepted.formats[0])
        event = next((int(f) for f in accepted.formats[1:]), None)
        media.set_caller(leg.call, _address(offer, offered), payload_type, event,
                         inband_digits=analog, line_tones=self.line_tones_of(leg.call),
                         line_silence=self.line_silence_of(leg.call))
        leg.media_port = caller_port
        return bytes(answer)

    def open_callback(self, call: int, now: float) -> None:
        """Media for a call whose customer the box calls (back, or for a campaign) and who is
        not on the line yet (if it has none): G.711 mu-law and telephone-event 101, what the
        customer is offered; their side is not timed until they answer (`customer_answered`)."""
        if call in self.media.calls:
            return
        self.media.open(call, now)
        self.media.calls[call].event_payload_type = CALLBACK_EVENT  # mu-law: the default
        self.media.relay.watch(call, CALLER, False, now)

    def customer_offer(self, call: int, leg: Leg) -> bytes:
        """Our offer to the customer a callback calls: the caller-side port, with the codec
        the callback's media has (`open_callback`)."""
        leg.sdp_session = self.rng.getrandbits(31)
        leg.media_port = self.media.relay.sessions[call].sides[CALLER].local_port
        return self._offer_sdp(call, leg, leg.media_port)

    def customer_answered(self, call: int, leg: Leg, now: float) -> bool:
        """The customer's answer on `leg` gives the caller side its peer; False if it has no
        audio stream we offered."""
        answer = sdp.readable(leg.answer_body)
        stream = None if answer is None else _first_audio(answer)
        if answer is None or stream is None or call not in self.media.calls:
            return False
        self.media.relay.set_peer(call, CALLER, _address(answer, stream))
        self.media.relay.watch(call, CALLER, True, now)
        return True

    def welcome(self, call: int, now: float, language: str | None = None) -> None:
        """A queued caller's welcome (in `language`; None: the site's) and music."""
        self.media.play(call, ["welcome"], now, language)
        self.media.play_music(call, now)

    def agent_offer(self, call: int, leg: Leg) -> bytes:
        """Our offer to an agent's phone: the agent-side port and the caller's codec."""
        leg.sdp_session = self.rng.getrandbits(31)
        return self._offer_sdp(call, leg, self._agent_port(call))

    def moved_agent_offer(self, call: int, leg: Leg) -> bytes:
        """Our re-INVITE's offer that moves the phone of `leg` (answered on another call)
        onto `call`'s agent-side port, with `call`'s codec: the leg's next SDP version."""
        leg.media_port = self._agent_port(call)
        leg.sdp_version += 1
        return self._offer_sdp(call, leg, leg.media_port)

    def _offer_sdp(self, call: int, leg: Leg, port: int) -> bytes:
        media = self.media.calls[call]
        payload_type, event = media.payload_type, media.event_payload_type
        formats = [str(payload_type)] + ([] if event is None else [str(event)])
        attributes = [sdp.Attribute("rtpmap", f"{payload_type} "
                                    f"{'PCMU' if payload_type == 0 else 'PCMA'}/8000")]
        if event is not None:
            attributes += [sdp.Attribute("rtpmap", f"{event} telephone-event/8000"),
                           sdp.Attribute("fmtp", f"{event} 0-15")]
        attributes += [sdp.Attribute("ptime", "20"), sdp.Attribute("sendrecv")]
        address_type = "IP6" if ":" in self.media_host else "IP4"
        offer = sdp.Sdp(
            origin=sdp.Origin("ccbox", leg.sdp_session, leg.sdp_version, self.media_host, "IN",
                              address_type),
            session_name="-",
            connection=sdp.Connection(self.media_host, "IN", address_type),
            media=(sdp.Media("audio", port, "RTP/AVP", tuple(formats),
                             attributes=tuple(attributes)),),
        )
        return bytes(offer)

    def bridge(self, call: int, agent_leg: Leg, now: float, record: bool = True,
               private_keys: bool = False) -> None:
        """The agent answered: their audio replaces the music, and recording starts (if the
        site records, and `record`). `private_keys`: the agent's telephone-events are not
        relayed to the caller (an ACD agent's, which may be in-call codes)."""
        media = self.media
        answer = sdp.readable(agent_leg.answer_body)
        stream = None if answer is None else _first_audio(answer)
        if stream is None or answer is None:
            logger.warning("%r answered without a usable audio stream", agent_leg)
        else:
            media.set_agent(call, _address(answer, stream), now, private_keys)
        agent_leg.media_port = self._agent_port(call)
        call_media = media.calls[call]
        call_media.bridged, call_media.quality_reported = True, False
        media.relay.watch(call, CALLER, True, now)
        media.silence(call)
        recording = media.record(call, now) if record else None
        if recording is not None:
            self.log.append(new(RecordingStarted, (now, call, recording)))

    def leg_ended(self, leg: Leg, now: float) -> None:
        """`leg`'s party left. The first to leave a conversation puts both parties' media
        figures into the log (`MediaQuality`, before the call's `CallEnded`); the caller's
        leaving ends the call's media (a last RTCP report and BYE to each party)."""
        media = self.media
        call_media = media.calls.get(leg.call)
        if call_media is None:
            return
        if leg.role is Role.CALLER:
            figures = media.close(leg.call, now)
        elif leg.role is Role.AGENT and leg.partner is not None:
            figures = media.quality(leg.call)
        else:
            return  # an agent rung who never answered: the conversation goes on
        # A call that call control has already ended has logged its last record.
        if figures is None or call_media.quality_reported or leg.call not in self.cc.calls:
            return
        call_media.quality_reported = True
        for side in (CALLER, AGENT) if call_media.bridged else (CALLER,):
            self.log.append(new(MediaQuality, (now, leg.call, PARTIES[side],
                                               *figures[side].as_tuple())))

    def _agent_port(self, call: int) -> int:
        """The relay port that faces the agent's phone."""
        return self.media.relay.sessions[call].sides[AGENT].local_port

    # --- re-INVITEs -------------------------------------------------------------------------

    def anchored(self, leg: Leg, body: bytes) -> bytes:
        """`body` (an offer or answer from the other party) as we send it on `leg`: our
        address and `leg`'s relay port, our origin with the next version."""
        parsed = sdp.readable(body)
        if parsed is None or not leg.media_port:
            return body
        leg.sdp_version += 1
        address_type = "IP6" if ":" in self.media_host else "IP4"
        connection = sdp.Connection(self.media_host, "IN", address_type)
        streams = []
        audio_done = False
        for stream in parsed.media:
            if stream.media == "audio" and not audio_done and not stream.rejected:
                stream = replace(stream, port=leg.media_port, connection=None)
                audio_done = True
            streams.append(stream)
        rewritten = replace(
            parsed,
            origin=sdp.Origin("ccbox", leg.sdp_session, leg.sdp_version, self.media_host,
                              "IN", address_type),
            connection=connection,
            media=tuple(streams),
        )
        return bytes(rewritten)

    def update(self, leg: Leg, body: bytes, now: float, offer: bool) -> None:
        """A party's new SDP (a re-INVITE's offer or its answer): where it receives, and
        whether its offer holds the call."""
        parsed = sdp.readable(body)
        stream = None if parsed is None else _first_audio(parsed)
        if parsed is None or stream is None or leg.call not in self.media.calls:
            return
        side = CALLER if leg.role is Role.CALLER else AGENT
        self.media.relay.set_peer(leg.call, side, _address(parsed, stream))
        if offer:
            self.media.hold(leg.call, sdp.is_hold(body), now)

    def to_held_caller(self, leg: Leg, offer: bytes) -> bytes:
        """`offer`, a re-INVITE's from `leg`, as it goes on to the other party: an agent's
        offer that holds the caller (sendonly, inactive or to 0.0.0.0) says sendonly, for the
        appliance sends the held caller music."""
        held = sdp.readable(offer) if leg.role is Role.AGENT and sdp.is_hold(offer) else None
        return offer if held is None else bytes(sdp.with_audio_direction(held, "sendonly"))

    def to_holding_agent(self, leg: Leg, offer: bytes, answer: bytes) -> bytes:
        """The caller's `answer`, as it goes to `leg`, whose `offer` held the caller: its
        direction answers the agent's offer (the caller answered our sendonly, not that)."""
        parsed = sdp.readable(answer) if leg.role is Role.AGENT and sdp.is_hold(offer) else None
        offered = sdp.readable(offer)
        direction = None if offered is None else sdp.audio_direction(offered)
        if parsed is None or direction is None:
            return answer
        return bytes(sdp.with_audio_direction(parsed, sdp.mirrored(direction)))

    def queued_reoffer(self, leg: Leg, body: bytes) -> bytes:
        """Our answer to a queued caller's re-INVITE offer, on the same port."""
        offer = sdp.readable(body)
        if offer is None or not leg.media_port:
            return leg.sent_body
        leg.sdp_version += 1
        answer = sdp.answer(offer, self.media_host, leg.media_port,
                            session_id=leg.sdp_session, session_version=leg.sdp_version)
        return bytes(answer) if _first_audio(answer) is not None else leg.sent_body

    # --- what the media plane reports ----------------------------------------------------------

    def event(self, event: object, now: float) -> None:
        if isinstance(event, Digit):
            if event.call < 0 and self.own_digit(event.call, event.digit, now):
                return
            self.log.append(new(DigitReceived, (now, event.call, PARTIES[event.side],
                                                event.digit, event.via)))
            if event.side == CALLER:
                self.cc.caller_digit(now, event.call, event.digit)  # for the IVR, if in it
            else:
                self.agent_digit(event.call, event.digit, now)
        elif isinstance(event, LineTone):
            self.line_tone(event.call, event.tone, now)
        elif isinstance(event, LineSilence):
            self.line_silent(event.call, event.seconds, now)
        elif isinstance(event, MediaTimeout):
            self._media_timed_out(event, now)
        elif isinstance(event, MediaPortFailed):
            self._media_port_failed(event, now)
        elif isinstance(event, PlaneRecordingStopped):
            self.log.append(new(RecordingStopped, (now, event.call, event.reason)))
        elif isinstance(event, DiskAlarm):
            self._disk_alarm(event, now)
        elif isinstance(event, MixBroken):
            self.mix_broken(event, now)
        elif isinstance(event, PromptMissing):
            logger.error("call %d: prompt %s not played: %s", event.call, event.name,
                         event.reason)

    def _disk_alarm(self, event: DiskAlarm, now: float) -> None:
        detail = f"{event.free_bytes // 1_000_000} MB free for recordings"
        self.log.append(new(Alarm, (now, "disk_low", event.raised, detail)))
        log = logger.error if event.raised else logger.warning
        log("recording %s: %s", "stopped" if event.raised else "resumed", detail)

    def _media_timed_out(self, event: MediaTimeout, now: float) -> None:
        caller = self.legs.callers.get(event.call)
        if caller is None:
            return
        leg = caller if event.side == CALLER else caller.partner
        if leg is None or leg.ended:
            return
        self.log.append(new(MediaTimedOut, (now, event.call, PARTIES[event.side],
                                            round(event.silent_for, 3))))
        logger.info("no RTP from the %s of call %d for %.0f s: ending it",
                    PARTIES[event.side], event.call, event.silent_for)
        self.on_lost(leg, LegEvent.LOST, now)

    def _media_port_failed(self, event: MediaPortFailed, now: float) -> None:
        """A port of the call cannot be listened on: end the call rather than leave its
        parties in silence, and raise the alarm (the RTP port range overlaps another
        program's ports)."""
        detail = (f"media port {event.port} is held by another program: call {event.call} "
                  "ended, the port left out until a restart")
        self.log.append(new(Alarm, (now, "media_port_taken", True, detail)))
        logger.error("%s", detail)
        caller = self.legs.callers.get(event.call)
        if caller is not None and not caller.ended:
            self.on_lost(caller, LegEvent.LOST, now)



def _first_audio(description: sdp.Sdp) -> sdp.Media | None:
    return next((m for m in description.media if m.media == "audio" and not m.rejected), None)


def _address(description: sdp.Sdp, stream: sdp.Media) -> tuple[str, int]:
    connection = stream.connection or description.connection
    return (connection.address if connection is not None else "0.0.0.0", stream.port)
