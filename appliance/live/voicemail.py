"""Voicemail messages on disk, and the e-mail notice of a new one.

Each message is a WAV (8 kHz mono 16-bit, as call recordings) with a JSON file of the same
name beside it: `<folder>/<mailbox>/<UTC time>-<run>-call<n>.wav` and `.json` holding the
mailbox, the caller's number, the call, when it was left, its length and its status ("new"
until heard, then "old"). The folder is the site's `voicemail.folder` under the state folder.
`VoicemailDesk` satisfies `appliance.media.plane.MessageDesk`; `list_messages` and
`mailbox_counts` read the folder back (for `ccbox voicemail` and the counts at start).
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import time
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import numpy as np

from appliance.config.voicemail import Voicemail
from appliance.media.prompts import PromptError, prompt_samples
from appliance.media.recording import WavRecorder
from appliance.storage.wavfile import open_recording

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    """A message's metadata, as its JSON file holds it; `file` is the WAV's path."""

    mailbox: str
    caller: str
    call: int
    run: str
    received: str  # ISO 8601, UTC
    seconds: float
    status: str  # "new" or "old"
    file: str


class VoicemailDesk:
    """Opens message files under `folder`, keeps or removes them, and mails the notice of a
    kept one (in a worker thread: a slow mail server never holds up the calls)."""

    def __init__(self, settings: Voicemail, folder: Path, run: str, *,
                 wall_clock: Callable[[], float] = time.time,
                 mailer: Executor | None = None) -> None:
        self.settings = settings
        self.folder = folder
        self.run = run
        self._wall_clock = wall_clock
        self._mailer = mailer or ThreadPoolExecutor(max_workers=1, thread_name_prefix="mail")
        self._open: dict[str, tuple[str, str, int, float]] = {}  # file -> mailbox, caller ...

    def open(self, call: int, mailbox: str, caller: str,
             now: float) -> tuple[WavRecorder, str] | None:
        received = self._wall_clock()
        stamp = datetime.fromtimestamp(received, UTC).strftime("%Y%m%dT%H%M%S")
        path = self.folder / mailbox / f"{stamp}-{self.run}-call{call}.wav"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            recorder = open_recording(path)
        except OSError as error:
            _log.error("cannot record a message for mailbox %s in %s: %s", mailbox, path, error)
            return None
        self._open[str(path)] = (mailbox, caller, call, received)
        return recorder, str(path)

    def done(self, name: str, kept: bool, seconds: float) -> None:
        mailbox, caller, call, received = self._open.pop(name)
        path = Path(name)
        if not kept:
            path.unlink(missing_ok=True)
            _log.info("message for mailbox %s from %s discarded: silence only", mailbox, caller)
            return
        message = Message(mailbox, caller, call, self.run,
                          datetime.fromtimestamp(received, UTC).isoformat(timespec="seconds"),
                          round(seconds, 2), "new", name)
        try:
            write_metadata(message)
        except OSError as error:
            _log.error("cannot write the metadata of message %s: %s", name, error)
        box = self.settings.mailbox(mailbox)
        if box is not None and box.email and self.settings.smtp is not None:
            self._mailer.submit(_mail_logging_errors, self.settings, box.email, message)

    # --- retrieval by phone (`appliance.pbx.b2bua.retrieval.MessageStore`) ---------------

    def messages(self, mailbox: str) -> list[Message]:
        """The box's messages as a phone hears them: new ones first, each oldest first."""
        return sorted(list_messages(self.folder, mailbox), key=lambda m: m.status != "new")

    def samples(self, file: str) -> np.ndarray | None:
        try:
            return prompt_samples(Path(file).read_bytes(), file)
        except (OSError, PromptError) as error:
            _log.error("cannot play message %s: %s", file, error)
            return None

    def set_status(self, file: str, status: str) -> None:
        """"old": its JSON says so; "deleted": the WAV and JSON are removed."""
        path = Path(file)
        try:
            if status == "deleted":
                path.with_suffix(".json").unlink(missing_ok=True)
                path.unlink(missing_ok=True)
                return
            message = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
            write_metadata(Message(**{**message, "status": status}))
        except (OSError, ValueError, TypeError) as error:
            _log.error("cannot mark message %s %s: %s", file, status, error)

    def shutdown(self) -> None:
        """Wait for the notices being sent."""
        self._mailer.shutdown(wait=True)


def write_metadata(message: Message) -> None:
    """The message's JSON beside its WAV, written whole (a temporary file renamed)."""
    path = Path(message.file).with_suffix(".json")
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(json.dumps(asdict(message), indent=1), encoding="utf-8")
    os.replace(partial, path)


def list_messages(folder: Path, mailbox: str | None = None) -> list[Message]:
    """The messages under `folder` (of `mailbox` only, if given), oldest first; a JSON file
    that cannot be read is skipped with a warning."""
    found = []
    for path in sorted(folder.glob(f"{mailbox or '*'}/*.json")):
        try:
            found.append(Message(**json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError, TypeError) as error:
            _log.warning("skipped %s: %s", path, error)
    return sorted(found, key=lambda message: (message.received, message.file))


def mailbox_counts(folder: Path) -> dict[str, tuple[int, int]]:
    """(new, old) messages of every mailbox that has any under `folder`."""
    counts: dict[str, tuple[int, int]] = {}
    for message in list_messages(folder):
        fresh, heard = counts.get(message.mailbox, (0, 0))
        counts[message.mailbox] = ((fresh + 1, heard) if message.status == "new"
                                   else (fresh, heard + 1))
    return counts


def notice(sender: str, to: str, message: Message) -> EmailMessage:
    """The e-mail telling `to` of `message`, its WAV attached."""
    mail = EmailMessage()
    mail["From"], mail["To"] = sender, to
    caller = message.caller or "an unknown number"
    mail["Subject"] = f"New voicemail in mailbox {message.mailbox} from {caller}"
    mail.set_content(f"A message of {message.seconds:.0f} seconds from {caller} was left "
                     f"in mailbox "
                     f"{message.mailbox} at {message.received}.\n")
    audio = Path(message.file).read_bytes()
    mail.add_attachment(audio, maintype="audio", subtype="wav",
                        filename=Path(message.file).name)
    return mail


def send_notice(settings: Voicemail, to: str, message: Message) -> None:
    """Mail the notice through the site's SMTP server (blocking: a worker thread's job)."""
    smtp = settings.smtp
    assert smtp is not None
    with smtplib.SMTP(smtp.host, smtp.port, timeout=30) as client:
        if smtp.starttls:
            client.starttls()
        client.send_message(notice(smtp.sender, to, message))


def _mail_logging_errors(settings: Voicemail, to: str, message: Message) -> None:
    try:
        send_notice(settings, to, message)
        _log.info("mailed the notice of %s to %s", message.file, to)
    except (OSError, smtplib.SMTPException) as error:
        _log.error("cannot mail the notice of %s to %s: %s", message.file, to, error)
