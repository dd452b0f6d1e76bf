"""Several subscribers per action type, at the cost of one when there is one.

The simulator's hot path hands millions of actions to their handlers; a type
with a single subscriber keeps that subscriber as its handler, so that
dispatching stays one dictionary look-up and one call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Handler = Callable[[Any], None]


def subscribe(handlers: dict[type, Handler], action_type: type, handler: Handler) -> None:
    """Add ``handler`` for ``action_type``; earlier subscribers hear each action first."""
    first = handlers.get(action_type)
    handlers[action_type] = handler if first is None else _both(first, handler)


def _both(first: Handler, second: Handler) -> Handler:
    def both(action: Any) -> None:
        first(action)
        second(action)

    return both


class Subscribers:
    """Who hears which action, for channels that produce actions of their own."""

    def __init__(self) -> None:
        self.handlers: dict[type, Handler] = {}

    def on(self, action_type: type, handler: Handler) -> None:
        subscribe(self.handlers, action_type, handler)

    def publish(self, action: Any) -> None:
        handler = self.handlers.get(type(action))
        if handler is not None:
            handler(action)
