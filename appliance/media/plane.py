"""The media side of the appliance's calls, sans-I/O: what the B2BUA asks of RTP.

Each call gets a relay session (`MediaRelay`) from the moment its caller is answered. While
the caller waits, a `Player` sends prompts and music from the caller-side port; once an agent
is bridged the relay carries both directions and a `CallRecorder` taps them. Digits come out of
the caller's stream as RFC 4733 events or, for analog trunks, as in-band tones (Goertzel).
The agent hears the appliance only when told something (`tell_agent`: the tone of a refused
in-call code, a parked call's slot); the caller never hears an ACD agent's telephone-events,
which are keys for the appliance (`set_agent`).

One 20 ms tick paces every player and recorder of the appliance, instead of a timer per
packet: at a few hundred calls that is fifty wake-ups a second rather than thousands. The
tick runs only while something plays or records. The tick and the relay's silence timers live
in the caller's `Deadlines`, so one heap drives signalling and media alike.

Out: datagrams `(local port, bytes, destination)` and events (`Digit`, `MediaTimeout`,
`RecordingStopped`, `DiskAlarm`, `PromptMissing`). Whoever owns the plane drains both after
every input.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from random import Random
from typing import Protocol

import numpy as np

from appliance.clock import Deadlines, TimerHandle
from appliance.hw.silence import SilenceDetector
from appliance.hw.tones import Cadence, ToneDetector
from appliance.media.callrecorder import CallRecorder, RecordingSink
from appliance.media.diskguard import DiskAlarm
from appliance.media.dtmf import GoertzelDetector, Rfc4733Receiver
from appliance.media.g711 import alaw_decode, ulaw_decode
from appliance.media.mixer import FRAME_SAMPLES, Mixer
from appliance.media.player import PACKET_SECONDS, SAMPLE_RATE, Player, encode
from appliance.media.prompts import (
    BEEP,
    ERROR_TONE,
    PromptError,
    SoundSource,
    beep_samples,
    error_tone_samples,
)
from appliance.media.quality import PartyQuality
from appliance.media.relay import AGENT, CALLER, MediaPortFailed, MediaRelay, MediaTimeout, Side
from appliance.media.rtp import payload_of
from appliance.media.voicemeter import VoiceMeter
from appliance.net import Address

MUSIC = "\x00music"  # the music's key among the encoded sounds (no prompt has this name)
TONES = {BEEP: beep_samples, ERROR_TONE: error_tone_samples}  # sounds made, not read
Prompts = SoundSource | Mapping[str, SoundSource]
"""The prompts a plane plays: one set for every call, or a set per language."""
DISK_CHECK_SECONDS = 5.0
"""How often free space is looked at while the appliance records."""


class RecordingDesk(Protocol):
    """Where recordings come from: opens a call's files and watches the disk they go to."""

    def open(self, call: int, now: float) -> tuple[CallRecorder, str] | None:
        """A recorder for `call` and its file's name; None when recording is not allowed."""
        ...

    def check(self, now: float) -> DiskAlarm | None:
        """Look at the free space; an alarm when recording must stop or may start again."""
        ...


class MessageDesk(Protocol):
    """Where voicemail messages go: opens a message's file, and removes one not kept."""

    def open(self, call: int, mailbox: str, caller: str,
             now: float) -> tuple[RecordingSink, str] | None:
        """A sink for the message `caller` (their number) leaves in `mailbox` on `call`, and
        its file's name; None when it cannot be recorded."""
        ...

    def done(self, name: str, kept: bool, seconds: float) -> None:
        """The message's sink is closed after `seconds`; `kept` False: remove its file
        (silence only)."""
        ...


@dataclass(frozen=True)
class TakenMessage:
    """A voicemail message that has ended: `file` is "" when it was discarded as silence."""

    file: str
    seconds: float


@dataclass(frozen=True)
class Digit:
    """A key pressed by `side` of `call`, heard as `via` ("rfc4733" or "inband")."""

    call: int
    side: int
    digit: str
    via: str
    at: float


@dataclass(frozen=True)
class LineTone:
    """Busy or reorder tone `tone` (a cadence's name) heard in the caller's audio of `call`
    (an analog line the far end has left), confirmed at `at`."""

    call: int
    tone: str
    at: float


@dataclass(frozen=True)
class LineSilence:
    """`seconds` of continuous silence in the caller's audio of `call` (an analog line that
    gives no sign when its far end hangs up), reached at `at`."""

    call: int
    seconds: float
    at: float


@dataclass(frozen=True)
class RecordingStopped:
    """The recording of `call` stopped before the call ended (the disk is nearly full)."""

    call: int
    reason: str
    seconds: float


@dataclass(frozen=True)
class PromptMissing:
    """A prompt asked to play to `call` could not be read (`reason` says why: a file removed
    or broken after start). The other prompts play; the caller hears nothing in its place."""

    call: int
    name: str
    reason: str


@dataclass(frozen=True)
class MixBroken:
    """The mix `name` was dissolved because `call`, one of its calls, ended or lost its
    agent (a transfer): whoever made the mix decides what its other members do now."""

    name: str
    call: int


Member = tuple[int, int]
"""A party of a mix: (call, side); a phone with a call of its own is its call's caller side."""

PlaneEvent = (Digit | LineTone | LineSilence | MediaTimeout | MediaPortFailed
              | RecordingStopped | DiskAlarm | PromptMissing | MixBroken)
"""What the plane reports (`take_events`)."""


@dataclass
class Notice:
    """Sounds the appliance plays to an agent (`MediaPlane.tell_agent`): from `port` to
    `peer` through the stream of `side`, which is covered meanwhile. Kept when the agent
    leaves the call, so that a last word reaches a phone that has not been hung up yet."""

    player: Player
    port: int
    peer: Address
    side: Side


def _agent_keys() -> Rfc4733Receiver:
    """An agent's telephone-events: a hook flash counts (an analog phone's transfer key)."""
    return Rfc4733Receiver(flash=True)


@dataclass
class CallMedia:
    """What the plane keeps for one call besides its relay session."""

    call: int
    payload_type: int = 0  # the G.711 law the caller's side negotiated
    event_payload_type: int | None = None  # telephone-event, if negotiated
    player: Player | None = None
    recorder: CallRecorder | None = None
    recording: str | None = None
    meter: VoiceMeter | None = None  # while a voicemail message is recorded
    next_record_tick: float = 0.0
    digit_receiver: Rfc4733Receiver = field(default_factory=Rfc4733Receiver)
    agent_digit_receiver: Rfc4733Receiver = field(default_factory=_agent_keys)
    inband: GoertzelDetector | None = None
    tones: ToneDetector | None = None  # an analog line's busy and reorder tones
    silence: SilenceDetector | None = None  # an analog line that goes quiet when left
    bridged: bool = False  # an agent answered
    held: bool = False  # the agent put the caller on hold: music, the parties parted
    quality_reported: bool = False  # since the last agent was bridged
    notice: Notice | None = None  # what the agent is being told


class MediaPlane:
    """`prompts` is one set for every call or a set per language; with sets per language a
    prompt asked for in a language the plane has no set for is played from `language`'s
    set (the site's language: a caller hears the wrong language rather than silence)."""

    def __init__(self, host: str, ports: Iterable[int], deadlines: Deadlines, rng: Random, *,
                 media_timeout: float = 60.0, prompts: Prompts | None = None,
                 music: np.ndarray | None = None,
                 recordings: RecordingDesk | None = None, language: str = "en",
                 messages: MessageDesk | None = None) -> None:
        self.host = host
        self.deadlines = deadlines
        self.rng = rng
        self.relay = MediaRelay(ports, media_timeout, deadlines, rng, cname=f"ccbox@{host}")
        self.prompts = prompts
        self.language = language
        self.music = music
        self.recordings = recordings
        self.messages = messages
        # Messages whose call's media closed first (the caller hung up), until asked for.
        self._taken: dict[int, TakenMessage] = {}
        self.calls: dict[int, CallMedia] = {}
        # (set's language, prompt name, payload type) -> G.711; "" for a single set's language
        self._sounds: dict[tuple[str, str, int], bytes] = {}
        self._out: list[tuple[int, bytes, Address]] = []
        self._events: list[PlaneEvent] = []
        self._tick_timer: TimerHandle | None = None
        self._tick_at = 0.0
        self._next_disk_check = 0.0
        self.mixes: dict[str, Mixer] = {}
        self._mixed: dict[Member, str] = {}  # which mix each member is in

    # --- calls ------------------------------------------------------------------------------

    def set_wall_clock(self, unix_time_at_zero: float) -> None:
        """The Unix time of `now == 0`, for our RTCP sender reports' NTP timestamps."""
        self.relay.set_wall_clock(unix_time_at_zero)

    def has_room(self) -> bool:
        return self.relay.calls_free > 0

    def open(self, call: int, now: float) -> tuple[int, int]:
        """Media for `call`: its caller-side and agent-side local ports. The agent side is not
        timed until an agent is bridged."""
        session = self.relay.open(call, now)
        self.relay.watch(call, AGENT, False, now)
        self.calls[call] = CallMedia(call)
        self.relay.tap(call, self._tap_for(call))
        return session.sides[CALLER].local_port, session.sides[AGENT].local_port

    def set_caller(self, call: int, address: Address, payload_type: int,
                   event_payload_type: int | None, inband_digits: bool,
                   line_tones: Sequence[Cadence] = (), line_silence: float = 0.0) -> None:
        """The caller receives at `address` in `payload_type`. `inband_digits`: its keys are
        in-band tones; `line_tones`: tones that say its line's far end is gone (`LineTone`);
        `line_silence`: seconds of silence that say so (`LineSilence`; 0: never)."""
        media = self.calls[call]
        media.payload_type = payload_type
        media.event_payload_type = event_payload_type
        media.inband = GoertzelDetector() if inband_digits else None
        law = "alaw" if payload_type == 8 else "ulaw"
        media.tones = ToneDetector(line_tones, law=law) if line_tones else None
        media.silence = SilenceDetector(line_silence) if line_silence > 0 else None
        self.relay.set_peer(call, CALLER, address)

    def set_agent(self, call: int, address: Address, now: float,
                  private_keys: bool = False) -> None:
        """The agent's phone receives at `address`. `private_keys`: its telephone-events
        (the caller's negotiated type) are keys for the appliance, never relayed to the
        caller (an ACD call, where they may be in-call codes)."""
        self.relay.set_peer(call, AGENT, address)
        self.relay.watch(call, AGENT, True, now)
        if private_keys:
            self.relay.withhold(call, AGENT, self.calls[call].event_payload_type)

    def unbridge(self, call: int, now: float) -> None:
        """The agent left a call that goes on (a transfer): the agent side waits for the next
        agent, the caller is timed again (off hold if held) and hears music. The recording
        goes on: a call is one recording from its first answer to its end."""
        media = self.calls.get(call)
        if media is None:
            return
        media.bridged = media.held = False
        media.agent_digit_receiver = _agent_keys()  # the next agent's keys are new ones
        self._break_mixes(call)
        self.relay.release(call, AGENT, now)
        self.relay.part(call, False)
        self.relay.watch(call, CALLER, True, now)
        self.play_music(call, now)

    def hold(self, call: int, held: bool, now: float) -> None:
        """While a call is on hold either side may stop sending: neither is timed."""
        if call in self.calls:
            self.relay.watch(call, CALLER, not held, now)
            self.relay.watch(call, AGENT, not held, now)

    def hold_caller(self, call: int, held: bool, now: float) -> None:
        """The agent put the caller on hold (`held`) or took them off it. While held the
        caller hears the music (silence without any) and the agent nothing; the parties do
        not hear each other until resumed. The recording goes on."""
        media = self.calls.get(call)
        if media is None or media.held == held:
            return
        media.held = held
        self.relay.part(call, held or self._in_mix(call))
        if held:
            self.play_music(call, now)
        else:
            self.silence(call)  # the agent's audio replaces the music again

    def close_all(self, now: float) -> None:
        """Finish every recording and free every port (the appliance is stopping)."""
        for call in list(self.calls):
            self.close(call, now)

    def close(self, call: int, now: float) -> tuple[PartyQuality, PartyQuality] | None:
        """Finish the call's recording, send each party a last RTCP report with BYE, free the
        ports. The caller's and agent's media figures; None for a call without media."""
        media = self.calls.pop(call, None)
        if media is None:
            return None
        self._break_mixes(call)
        media.notice = None  # its port is let go: a last word not finished is cut
        if media.meter is not None:
            self._taken[call] = self._end_message(media, now)
        elif media.recorder is not None:
            media.recorder.finish(now)
        return self.relay.close(call, now)

    def quality(self, call: int) -> tuple[PartyQuality, PartyQuality] | None:
        """The caller's and agent's media figures so far; None for a call without media."""
        return self.relay.quality(call) if call in self.calls else None

    # --- prompts and music ------------------------------------------------------------------

    def play(self, call: int, names: Sequence[str], now: float,
             language: str | None = None) -> None:
        """Queue prompts to the caller, in `language` (None: the plane's); music, if it
        plays, resumes after them."""
        if self.prompts is None:
            return
        player = self._player(call, now)
        if player is not None:
            self._queue(call, player, names, language, now)

    def tell_agent(self, call: int, names: Sequence[str], now: float) -> float:
        """Play `names` (prompts in the plane's language, or ERROR_TONE) to the agent of
        `call`, who hears nothing of the caller meanwhile (the caller hears the agent as
        ever). It plays on if the agent leaves the call (`unbridge`), until the call closes:
        a last word before the phone is hung up. Seconds it takes; 0.0 when nothing plays
        (no media, no agent's address, no sound found)."""
        media = self.calls.get(call)
        side = None if media is None else self.relay.sessions[call].sides[AGENT]
        if media is None or side is None or side.peer is None:
            return 0.0
        player = Player(side.stream, media.payload_type)
        seconds = self._queue(call, player, names, None, now)
        if seconds:
            self._end_notice(media)
            media.notice = Notice(player, side.local_port, side.peer, side)
            side.covered = True
        return seconds

    def _queue(self, call: int, player: Player, names: Sequence[str], language: str | None,
               now: float) -> float:
        """Queue `names` on `player`; the seconds queued (a sound that cannot be read is
        reported and left out)."""
        key = self._set_for(language or self.language)
        queued = 0
        for name in names:
            try:
                payload = self._encoded(key, name, player.payload_type)
            except PromptError as error:  # reported, not raised into the driver's callback
                self._events.append(PromptMissing(call, name, str(error)))
                continue
            player.play_encoded(name, payload, now)
            queued += len(payload)  # G.711: a byte a sample
        self._ensure_tick(now)
        return queued / SAMPLE_RATE

    def play_samples(self, call: int, name: str, samples: np.ndarray, now: float) -> None:
        """Queue a sound that is no prompt (a voicemail message: int16, 8 kHz mono) to the
        caller, after the prompts queued before it."""
        player = self._player(call, now)
        if player is not None:
            player.play(name, samples, now)
            self._ensure_tick(now)

    def source_for(self, language: str) -> SoundSource | None:
        """The prompt set that plays prompts asked for in `language`."""
        prompts = self.prompts
        if isinstance(prompts, Mapping):
            return prompts.get(self._set_for(language))
        return prompts

    def play_music(self, call: int, now: float) -> None:
        if self.music is None:
            return
        player = self._player(call, now)
        if player is not None:
            player.loop_encoded("music", self._encoded("", MUSIC, player.payload_type), now)
            self._ensure_tick(now)

    def silence(self, call: int) -> None:
        media = self.calls.get(call)
        if media is not None and media.player is not None:
            media.player.stop()

    def playing(self, call: int) -> str | None:
        """The prompt (or "music") the caller hears now; None for silence."""
        media = self.calls.get(call)
        return None if media is None or media.player is None else media.player.playing

    def use_sounds(self, prompts: Prompts | None, music: np.ndarray | None) -> None:
        """Prompts and music for what is played from now on (a reload); sounds already
        queued to a caller play on as they are."""
        self.prompts = prompts
        self.music = music
        self._sounds.clear()

    def _send_notice(self, media: CallMedia, now: float) -> bool:
        """Send what the agent is told that is due; whether more is to come."""
        notice = media.notice
        if notice is None:
            return False
        notice.player.on_deadline(now)
        self._out += [(notice.port, data, notice.peer) for data in notice.player.take_datagrams()]
        notice.player.events.clear()
        if notice.player.next_deadline() is not None:
            return True
        self._end_notice(media)
        return False

    def _end_notice(self, media: CallMedia) -> None:
        if media.notice is not None:
            media.notice.side.covered = False  # the caller is heard again
            media.notice = None

    def _set_for(self, language: str) -> str:
        """The key of the prompt set that speaks `language`: "" for a single set."""
        prompts = self.prompts
        if not isinstance(prompts, Mapping):
            return ""
        return language if language in prompts else self.language

    def _encoded(self, language: str, name: str, payload_type: int) -> bytes:
        """A sound in G.711, encoded once for all the calls that hear it."""
        key = (language, name, payload_type)
        payload = self._sounds.get(key)
        if payload is None:
            if name == MUSIC:
                assert self.music is not None
                samples = self.music
            elif name in TONES:
                samples = TONES[name]()
            else:
                source = self.source_for(language)
                if source is None:
                    raise PromptError(f"{name}: no prompts to play it from")
                samples = source.samples(name)
            payload = self._sounds[key] = encode(samples, payload_type)
        return payload

    def _player(self, call: int, now: float) -> Player | None:
        media = self.calls.get(call)
        if media is None:
            return None
        if media.player is None:
            stream = self.relay.sessions[call].sides[CALLER].stream
            media.player = Player(stream, media.payload_type)
        return media.player

    # --- mixes -------------------------------------------------------------------------------

    def mix(self, name: str, hears: Mapping[Member, Iterable[Member]], now: float) -> None:
        """Make (or rearrange) the mix `name`: each member hears the sum of the members it
        is given (never itself) from the next tick on, in its call's law. The calls of the
        members stop being relayed side to side: the mix alone says who hears whom. A member
        of another mix leaves it. Members' calls must have media."""
        members = set(hears).union(*hears.values())
        for member in members:
            other = self._mixed.get(member)
            if other is not None and other != name:
                self.unmix(other)
        mixer = self.mixes.setdefault(name, Mixer())
        for member in set(mixer.laws) - members:
            del self._mixed[member]
        mixer.arrange({m: self.calls[m[0]].payload_type for m in members}, hears)
        for member in members:
            self._mixed[member] = name
            self.relay.part(member[0], True)
        self._ensure_tick(now)

    def unmix(self, name: str) -> None:
        """Dissolve the mix `name`: its calls are relayed side to side again (unless held)."""
        mixer = self.mixes.pop(name, None)
        if mixer is None:
            return
        for member in mixer.laws:
            del self._mixed[member]
        for call in {member[0] for member in mixer.laws}:
            media = self.calls.get(call)
            if media is not None:
                self.relay.part(call, media.held or self._in_mix(call))

    def _in_mix(self, call: int) -> bool:
        return (call, CALLER) in self._mixed or (call, AGENT) in self._mixed

    def _break_mixes(self, call: int) -> None:
        for side in (CALLER, AGENT):
            name = self._mixed.get((call, side))
            if name is not None:
                self.unmix(name)
                self._events.append(MixBroken(name, call))

    def _send_mixes(self, now: float) -> None:
        sessions = self.relay.sessions
        held = [(media.call, CALLER) for media in self.calls.values() if media.held]
        for mixer in self.mixes.values():
            for (call, side), payload in mixer.tick(held).items():
                target = sessions[call].sides[side]
                if target.peer is not None:
                    packet = target.stream.own(mixer.laws[(call, side)], payload,
                                               FRAME_SAMPLES, False, now)
                    self._out.append((target.local_port, packet, target.peer))

    # --- recording --------------------------------------------------------------------------

    def record(self, call: int, now: float) -> str | None:
        """Start recording `call` (both parties); the file's name, or None if not recorded."""
        media = self.calls.get(call)
        if media is None or self.recordings is None or media.recorder is not None:
            return None
        self._check_disk(now, force=True)
        opened = self.recordings.open(call, now)
        if opened is None:
            return None
        media.recorder, media.recording = opened
        media.next_record_tick = now + 1.0
        self._ensure_tick(now)
        return media.recording

    def record_message(self, call: int, mailbox: str, caller: str, now: float) -> str | None:
        """Start recording `caller` on `call` (the caller alone) as a voicemail message for
        `mailbox`; the file's name, or None if it cannot be recorded."""
        media = self.calls.get(call)
        if media is None or self.messages is None or media.recorder is not None:
            return None
        opened = self.messages.open(call, mailbox, caller, now)
        if opened is None:
            return None
        sink, media.recording = opened
        media.meter = VoiceMeter(sink)
        media.recorder = CallRecorder(media.meter, now)
        media.next_record_tick = now + 1.0
        self._ensure_tick(now)
        return media.recording

    def finish_message(self, call: int, now: float) -> TakenMessage | None:
        """End the message `call` is leaving (or take the one its closing ended); None if it
        left none (it was never recorded)."""
        taken = self._taken.pop(call, None)
        media = self.calls.get(call)
        if taken is None and media is not None and media.meter is not None:
            taken = self._end_message(media, now)
        return taken

    def _end_message(self, media: CallMedia, now: float) -> TakenMessage:
        assert media.recorder is not None and media.meter is not None and self.messages
        seconds = media.recorder.finish(now)
        kept, name = media.meter.voiced, media.recording or ""
        media.recorder = media.meter = media.recording = None
        self.messages.done(name, kept, seconds)
        return TakenMessage(name if kept else "", seconds)

    def _check_disk(self, now: float, force: bool = False) -> None:
        if self.recordings is None or (not force and now < self._next_disk_check):
            return
        self._next_disk_check = now + DISK_CHECK_SECONDS
        alarm = self.recordings.check(now)
        if alarm is None:
            return
        self._events.append(alarm)
        if alarm.raised:
            for media in self.calls.values():
                if media.recorder is not None and media.meter is None:  # messages are short
                    seconds = media.recorder.finish(now)
                    media.recorder = None
                    self._events.append(RecordingStopped(media.call, "disk_low", seconds))

    # --- packets ----------------------------------------------------------------------------

    def receive(self, local_port: int, data: bytes, source: Address, now: float) -> None:
        self.relay.receive(local_port, data, source, now)

    def _tap_for(self, call: int):
        media = self.calls[call]

        def tap(side: int, packet: bytes, now: float) -> None:
            recorder = media.recorder
            if recorder is not None:
                recorder.packet(side, packet, now)
            if self._mixed:
                self._to_mix((call, side), packet)
            if len(packet) < 12:
                return
            payload_type = packet[1] & 0x7F  # cheap: most packets need no more than this
            if payload_type == media.event_payload_type:
                self._rfc4733(media, side, packet, now)
            elif side == CALLER and payload_type in (0, 8):
                self._caller_audio(media, packet, now)

        return tap

    def _to_mix(self, member: Member, packet: bytes) -> None:
        name = self._mixed.get(member)
        found = None if name is None else payload_of(packet)
        if found is not None:
            self.mixes[name].heard(member, *found)

    def _rfc4733(self, media: CallMedia, side: int, packet: bytes, now: float) -> None:
        """Keys from either party: the caller's for the IVR, the agent's in-call codes."""
        found = payload_of(packet)
        if found is None:
            return
        timestamp = int.from_bytes(packet[4:8], "big")
        receiver = media.digit_receiver if side == CALLER else media.agent_digit_receiver
        try:
            digits = receiver.feed(timestamp, bool(packet[1] & 0x80), found[1], now)
        except ValueError:
            return  # a malformed event: drop it, as any bad RTP
        self._events += [Digit(media.call, side, d, "rfc4733", now) for d in digits]

    def _caller_audio(self, media: CallMedia, packet: bytes, now: float) -> None:
        """An analog caller's G.711: in-band keys, and the tone or silence of a far end gone."""
        if media.inband is None and media.tones is None and media.silence is None:
            return
        found = payload_of(packet)
        if found is None:
            return
        payload_type, payload = found
        samples = ulaw_decode(payload) if payload_type == 0 else alaw_decode(payload)
        if media.inband is not None:
            for digit in media.inband.feed(samples):
                self._events.append(Digit(media.call, CALLER, digit, "inband", now))
        heard = None if media.tones is None else media.tones.feed(samples, now)
        if heard is not None:
            self._events.append(LineTone(media.call, heard.cadence.name, now))
        if media.silence is not None and media.silence.feed(samples):
            self._events.append(LineSilence(media.call, media.silence.bound, now))

    def next_deadline(self) -> float | None:
        return self.deadlines.next_deadline()

    def on_deadline(self, now: float) -> None:
        self.deadlines.run_due(now)

    def take_datagrams(self) -> list[tuple[int, bytes, Address]]:
        out = self.relay.take_datagrams()
        if self._out:
            out += self._out
            self._out = []
        return out

    def take_port_changes(self) -> tuple[list[int], list[int]]:
        return self.relay.take_port_changes()

    def port_failed(self, port: int) -> None:
        self.relay.port_failed(port)

    def take_events(self) -> list[PlaneEvent]:
        events = self._events
        events += self.relay.take_events()
        self._events = []
        return events

    @property
    def has_events(self) -> bool:
        return bool(self._events) or self.relay.has_events

    # --- the tick ---------------------------------------------------------------------------

    def _ensure_tick(self, now: float) -> None:
        if self._tick_timer is None:
            self._tick_at = now
            self._tick_timer = self.deadlines.schedule(now, self._tick)

    def _tick(self, now: float) -> None:
        self._tick_timer = None
        busy = False
        sessions = self.relay.sessions
        for media in self.calls.values():
            player = media.player
            if player is not None and player.next_deadline() is not None:
                player.on_deadline(now)
                datagrams = player.take_datagrams()
                player.events.clear()
                caller = sessions[media.call].sides[CALLER]
                peer = caller.peer
                if peer is not None:
                    port = caller.local_port
                    self._out += [(port, data, peer) for data in datagrams]
                busy = busy or player.next_deadline() is not None
            if media.notice is not None:
                busy = self._send_notice(media, now) or busy
            recorder = media.recorder
            if recorder is not None:
                if now >= media.next_record_tick:
                    recorder.tick(now)
                    media.next_record_tick = now + 1.0
                busy = True
        if self.mixes:
            self._send_mixes(now)
            busy = True
        if busy:
            self._check_disk(now)
            # On a fixed 20 ms grid: a late tick does not push the next ones back.
            self._tick_at = max(self._tick_at + PACKET_SECONDS, now - PACKET_SECONDS)
            self._tick_timer = self.deadlines.schedule(self._tick_at, self._tick)
