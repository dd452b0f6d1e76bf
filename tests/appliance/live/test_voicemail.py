"""Voicemail messages on disk: a kept message is a WAV with its JSON beside it and a mailed
notice (to a small SMTP server the test runs), a discarded one leaves no file, and the folder
reads back as messages and counts."""

from __future__ import annotations

import email
import socketserver
import threading
import wave
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from appliance.cli import app
from appliance.config.voicemail import Voicemail
from appliance.live.voicemail import VoicemailDesk, list_messages, mailbox_counts
from tests.factories import site_dict

NOW = datetime(2026, 12, 7, 18, 30, tzinfo=UTC).timestamp()


class _Session(socketserver.StreamRequestHandler):
    """Just enough of RFC 5321 for smtplib's send_message."""

    def handle(self) -> None:
        self.wfile.write(b"220 test ESMTP\r\n")
        while line := self.rfile.readline():
            verb = line[:4].upper()
            if verb == b"DATA":
                self.wfile.write(b"354 go on\r\n")
                data = b""
                while not data.endswith(b"\r\n.\r\n"):
                    data += self.rfile.readline()
                self.server.mails.append(data[:-5])  # type: ignore[attr-defined]
                self.wfile.write(b"250 queued\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def smtp_server() -> Iterator[socketserver.ThreadingTCPServer]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Session)
    server.mails = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def settings(port: int = 25) -> Voicemail:
    return Voicemail.model_validate({
        "mailboxes": [{"name": "night", "number": "800", "pin": "1234",
                       "email": "duty@example.com"}],
        "smtp": {"host": "127.0.0.1", "port": port, "sender": "box@example.com"}})


def leave(desk: VoicemailDesk, call: int, kept: bool) -> str:
    opened = desk.open(call, "night", "13800000000", 0.0)
    assert opened is not None
    sink, name = opened
    sink.write(np.full(8000, 3000, dtype=np.int16))
    sink.close()
    desk.done(name, kept, 1.0)
    return name


def test_a_kept_message_has_its_metadata_beside_it_and_a_mailed_notice(
        tmp_path: Path, smtp_server: socketserver.ThreadingTCPServer) -> None:
    desk = VoicemailDesk(settings(smtp_server.server_address[1]), tmp_path, "run1",
                         wall_clock=lambda: NOW, mailer=ThreadPoolExecutor(1))
    name = leave(desk, 7, kept=True)
    desk.shutdown()  # the notice is sent
    assert name == str(tmp_path / "night" / "20261207T183000-run1-call7.wav")
    with wave.open(name) as wav:
        assert (wav.getframerate(), wav.getnframes()) == (8000, 8000)
    (message,) = list_messages(tmp_path)
    assert (message.mailbox, message.caller, message.call, message.status, message.received) == (
        "night", "13800000000", 7, "new", "2026-12-07T18:30:00+00:00")
    (mail,) = smtp_server.mails  # type: ignore[attr-defined]
    parsed = email.message_from_bytes(mail)
    assert parsed["To"] == "duty@example.com"
    assert "mailbox night from 13800000000" in parsed["Subject"]
    (attachment,) = [part for part in parsed.walk() if part.get_filename()]
    assert attachment.get_content_type() == "audio/wav"
    assert attachment.get_payload(decode=True) == Path(name).read_bytes()


def test_a_discarded_message_leaves_no_file_and_no_mail(tmp_path: Path) -> None:
    mailer = ThreadPoolExecutor(1)
    desk = VoicemailDesk(settings(), tmp_path, "run1", wall_clock=lambda: NOW, mailer=mailer)
    name = leave(desk, 8, kept=False)
    desk.shutdown()
    assert not Path(name).exists() and list_messages(tmp_path) == []


def test_counts_are_new_and_old_messages_per_mailbox(tmp_path: Path) -> None:
    desk = VoicemailDesk(settings(), tmp_path, "run1", wall_clock=lambda: NOW)
    desk.settings = Voicemail()  # no notices
    for call in (1, 2):
        leave(desk, call, kept=True)
    heard = tmp_path / "night" / "20261207T183000-run1-call1.json"
    heard.write_text(heard.read_text().replace('"new"', '"old"'))
    assert mailbox_counts(tmp_path) == {"night": (1, 1)}


def test_ccbox_voicemail_lists_the_messages_of_the_sites_folder(tmp_path: Path) -> None:
    data = site_dict()
    data["voicemail"] = {"folder": "messages", "mailboxes": [
        {"name": "night", "number": "800", "pin": "1234"}]}
    config = tmp_path / "site.yaml"
    config.write_text(yaml.safe_dump(data))
    desk = VoicemailDesk(Voicemail(), tmp_path / "state" / "messages", "run1",
                         wall_clock=lambda: NOW)
    name = leave(desk, 3, kept=True)
    result = CliRunner().invoke(app, ["voicemail", str(config), "--state-dir",
                                      str(tmp_path / "state")])
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == ["2026-12-07T18:30:00+00:00", "night", "new",
                                     "13800000000", "1.0", "s", name]


def test_retrieval_plays_new_messages_first_marks_them_old_and_deletes_them(
        tmp_path: Path) -> None:
    desk = VoicemailDesk(Voicemail(), tmp_path, "run1", wall_clock=lambda: NOW)
    first, second = leave(desk, 1, kept=True), leave(desk, 2, kept=True)
    desk.set_status(first, "old")
    assert [m.file for m in desk.messages("night")] == [second, first]
    samples = desk.samples(second)
    assert samples is not None and len(samples) == 8000 and samples.max() == 3000
    desk.set_status(second, "deleted")
    assert not Path(second).exists() and not Path(second).with_suffix(".json").exists()
    assert mailbox_counts(tmp_path) == {"night": (0, 1)}
    assert desk.samples(second) is None  # gone: logged, not raised
