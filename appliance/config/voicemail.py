"""Voicemail in the site file: the mailboxes callers leave messages in, where the messages are
kept, and whom a new message is mailed to.

A mailbox belongs to an agent, a queue or no one (the after-hours box a route names). Routes
(`voicemail: NAME`), IVR exits (`to_voicemail`) and queue overflows (`action: voicemail`,
`target: NAME`, else the queue's own box) name boxes by `name`; phones reach a box by its
`number` (message-waiting subscriptions, retrieval with the PIN).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Annotated

from pydantic import Field

from appliance.config.values import Frozen, Identifier, Problem

Digits = Annotated[str, Field(pattern=r"^[0-9]+$", min_length=1, max_length=20)]
Pin = Annotated[str, Field(pattern=r"^[0-9]{4,8}$")]
Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class Mailbox(Frozen):
    """One voicemail box. `greeting` is a prompt name: a built-in one (`voicemail`: "Please
    leave a message after the tone."), one of `ivr.prompts` (spoken by the prompt builder), or
    a recorded WAV of that name in `media.prompts`."""

    name: Identifier
    number: Digits
    pin: Pin
    agent: str | None = None
    queue: str | None = None
    greeting: Identifier = "voicemail"
    email: Email | None = None
    max_seconds: Annotated[int, Field(ge=5, le=600)] = 120


class Smtp(Frozen):
    """The mail server new-message notices go through (plain SMTP, optionally STARTTLS)."""

    host: Annotated[str, Field(min_length=1)]
    port: Annotated[int, Field(ge=1, le=65535)] = 25
    sender: Email = "ccbox@localhost.localdomain"
    starttls: bool = False


Code = Annotated[str, Field(pattern=r"^[*#][0-9]{1,4}$")]


class Voicemail(Frozen):
    """Mailboxes, the folder their messages go to (under the state folder unless absolute),
    the mail server for notices, and what phones may do: dial `own_box_code` to hear the box
    their agent owns, `any_box_code` to name a box first (the PIN is asked either way), and
    subscribe to the message-waiting indication of their own box only, or of any box
    (`subscribe_any`). A retrieval call is ended politely ("time is up", goodbye) once it
    has lasted `retrieval_limit` seconds, so that a phone left off-hook in the menu does not
    hold its line and media for ever."""

    mailboxes: list[Mailbox] = Field(default_factory=list)
    folder: Annotated[str, Field(min_length=1)] = "voicemail"
    smtp: Smtp | None = None
    own_box_code: Code = "*97"
    any_box_code: Code = "*98"
    subscribe_any: bool = False
    retrieval_limit: Annotated[int, Field(ge=30, le=7200)] = 900

    def box_of_agent(self, agent: str) -> Mailbox | None:
        return next((box for box in self.mailboxes if box.agent == agent), None)

    def box_by_number(self, number: str) -> Mailbox | None:
        return next((box for box in self.mailboxes if number in (box.number, box.name)), None)

    def mailbox(self, name: str) -> Mailbox | None:
        return next((box for box in self.mailboxes if box.name == name), None)

    def box_of_queue(self, queue: str) -> Mailbox | None:
        return next((box for box in self.mailboxes if box.queue == queue), None)


def voicemail_problems(voicemail: Voicemail, queues: Sequence[str],
                       agents: Sequence[str]) -> Iterator[Problem]:
    """Duplicate names and numbers, owners the site does not have, at their paths."""
    if voicemail.own_box_code == voicemail.any_box_code:
        yield (("voicemail", "any_box_code"), f"expected a code other than own_box_code; got "
                                              f"{voicemail.any_box_code!r} for both")
    where = ("voicemail", "mailboxes")
    for field in ("name", "number"):
        seen = Counter(getattr(box, field) for box in voicemail.mailboxes)
        for index, box in enumerate(voicemail.mailboxes):
            if seen[getattr(box, field)] > 1:
                yield ((*where, index, field), f"expected a {field} no other mailbox has; "
                                               f"got {getattr(box, field)!r} twice")
    for index, box in enumerate(voicemail.mailboxes):
        if box.queue is not None and box.queue not in queues:
            yield ((*where, index, "queue"), f"no queue named {box.queue!r} "
                                             f"(queues: {', '.join(queues)})")
        if box.agent is not None and box.agent not in agents:
            yield ((*where, index, "agent"), f"no agent with id {box.agent!r}")
        if box.agent is not None and box.queue is not None:
            yield ((*where, index), "expected one owner (agent or queue); got both")


def unknown_mailbox(voicemail: Voicemail, name: str) -> str | None:
    """Why `name` is no mailbox of the site (None when it is one)."""
    if voicemail.mailbox(name) is not None:
        return None
    names = ", ".join(box.name for box in voicemail.mailboxes) or "none declared"
    return f"no mailbox named {name!r} in voicemail.mailboxes (mailboxes: {names})"
