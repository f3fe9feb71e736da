"""`/introduce-care`: parse, record (quick local writes only), ack, hand off.

The app answers Slack when the ack listener returns (`process_before_response`), so it
never calls Slack itself: opening the modal is a lazy listener, run after the answer.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import commands as c
from bot.db import session_scope
from bot.exceptions import UserError
from bot.flows import slash
from bot.ids import COMMAND
from bot.services import Services, unexpected
from bot.views import introduce_modal

log = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    def introduce_care(ack: Ack, command: dict[str, Any]) -> None:
        handle_command(ack, command, services)

    # A bare command opens the modal after the ack (lazy); a lazy listener copies the
    # request, so only the bare command gets one.
    app.command(COMMAND, matchers=[is_bare])(ack=ack_only, lazy=[open_modal])
    app.command(COMMAND)(introduce_care)


def is_bare(command: dict[str, Any]) -> bool:
    return isinstance(_parse_or_none(command), c.OpenModal)


def _parse_or_none(command: dict[str, Any]) -> c.Command | None:
    try:
        return c.parse(command.get("text") or "")
    except UserError:
        return None


def ack_only(ack: Ack) -> None:
    ack()


def open_modal(client: WebClient, command: dict[str, Any]) -> None:
    """After the ack, for a bare command: the trigger id is good for 3 seconds, one use."""
    try:
        client.views_open(trigger_id=command.get("trigger_id", ""), view=introduce_modal())
    except SlackApiError as exc:
        log.warning("could not open the modal: %s", exc.response.get("error"))


def handle_command(ack: Ack, command: dict[str, Any], services: Services) -> None:
    user_id = command.get("user_id", "")
    try:
        parsed = c.parse(command.get("text") or "")
        with session_scope(services.engine) as session:
            reply = slash.handle(
                session, command=parsed, user_id=user_id, settings=services.settings
            )
    except UserError as exc:
        ack(response_type="ephemeral", text=str(exc))
        return
    except Exception as exc:  # one place turns the unexpected into an error id
        ack(response_type="ephemeral", text=unexpected(exc, "slash command"))
        return
    ack(response_type="ephemeral", text=reply.text, blocks=reply.blocks or None)
    if reply.queued:
        services.hand_off()
