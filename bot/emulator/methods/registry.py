"""The table of Web API method handlers, filled by the `@method` decorator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.emulator.state import Workspace

# A handler runs under `Workspace.lock`, returns the fields to add to `{"ok": true}`,
# and raises `SlackError` for an `ok: false` answer.
Handler = Callable[[Workspace, dict[str, Any]], dict[str, Any]]

HANDLERS: dict[str, Handler] = {}


def method(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        HANDLERS[name] = handler
        return handler

    return register
