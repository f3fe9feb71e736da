"""apps.connections.open: a one-use Socket Mode URL for an app-level token.

The dispatcher has already checked the token: none is `not_authed`, an unknown one
`invalid_auth`, a bot token `not_allowed_token_type` (Slack's answers).
"""

from __future__ import annotations

from typing import Any

from bot.emulator.methods.registry import method
from bot.emulator.rules import SlackError
from bot.emulator.state import Workspace


@method("apps.connections.open")
def apps_connections_open(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    if ws.socket_link is None:
        raise SlackError("internal_error")
    return {"url": ws.socket_link()}
