"""`/introduce-care`: parse, record (quick local writes only), ack, hand off.

The app answers Slack when the ack listener returns (`process_before_response`), so it
never calls Slack itself: opening the modal is a lazy listener, run after the answer.
A UserError (bad text, unknown deal) or anything unexpected raised here is answered by
`bot.listeners.errors.answer_error`.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import slash_grammar
from bot.db import session_scope
from bot.exceptions import UserError
from bot.flows import slash_handlers
from bot.ids import COMMAND
from bot.modal import introduce_modal
from bot.services import Services

log = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    def introduce_care(ack: Ack, command: dict[str, Any]) -> None:
        handle_command(ack, command, services)

    # A bare command opens the modal after the ack (lazy); a lazy listener copies the
    # request, so only the bare command gets one.
    app.command(COMMAND, matchers=[is_bare])(ack=ack_only, lazy=[open_modal])
    app.command(COMMAND)(introduce_care)


def is_bare(command: dict[str, Any]) -> bool:
    """A matcher: bad text is not bare (the main listener answers it with the reason)."""
    try:
        return isinstance(slash_grammar.parse(command.get("text") or ""), slash_grammar.OpenModal)
    except UserError:
        return False


def ack_only(ack: Ack) -> None:
    ack()


def open_modal(client: WebClient, command: dict[str, Any]) -> None:
    """After the ack, for a bare command: the trigger id is good for 3 seconds, one use."""
    try:
        client.views_open(trigger_id=command.get("trigger_id", ""), view=introduce_modal())
    except SlackApiError as exc:
        log.warning("could not open the modal: %s", exc.response.get("error"))


def handle_command(ack: Ack, command: dict[str, Any], services: Services) -> None:
    parsed = slash_grammar.parse(command.get("text") or "")
    with session_scope(services.engine) as session:
        reply = slash_handlers.handle(
            session, command=parsed, user_id=command.get("user_id", ""), settings=services.settings
        )
    ack(response_type="ephemeral", text=reply.text, blocks=reply.blocks or None)
    if reply.queued:
        services.hand_off()
