"""Buttons in the bot's messages: ack at once; then, in a lazy listener (after Slack has
its answer), record (a quick local write), hand off, and answer the person.

Bolt only logs what a lazy listener raises (it never reaches `@app.error`), so this one
turns its own errors into words with `bot.listeners.errors.explain`.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.db import session_scope
from bot.exceptions import UserError
from bot.flows import reminders, resend
from bot.ids import ActionId
from bot.listeners.errors import explain
from bot.services import Services
from bot.templating import phrase


def register(app: App, services: Services) -> None:
    def introduce_deal(body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        handle_introduce(body, action, client, services)

    def resend_invite(body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        handle_resend(body, action, client, services)

    app.action(ActionId.INTRODUCE_DEAL.value)(ack=ack_now, lazy=[introduce_deal])
    app.action(ActionId.RESEND_INVITE.value)(ack=ack_now, lazy=[resend_invite])


def ack_now(ack: Ack) -> None:
    ack()


def handle_introduce(
    body: dict[str, Any], action: dict[str, Any], client: WebClient, services: Services
) -> None:
    """The reminder's "Introduce now": the deal's introduction, recorded and handed off."""
    user_id = (body.get("user") or {}).get("id", "")
    crm_id = str(action.get("value") or "")
    try:
        with session_scope(services.engine) as session:
            reply = reminders.introduce_from_reminder(session, crm_id=crm_id, user_id=user_id)
    except Exception as exc:  # a lazy listener's errors never reach Bolt's error handler
        text = explain(exc, "reminder button")
    else:
        text = reply.text
        if reply.queued:
            services.hand_off()
    answer(body, client, text)


def handle_resend(
    body: dict[str, Any], action: dict[str, Any], client: WebClient, services: Services
) -> None:
    """A stale invitation's "Re-send": recorded; the worker's invitation queue sends it."""
    value = str(action.get("value") or "")
    try:
        if not value.isdigit():
            raise UserError(phrase("invitations.resend.unknown"))
        with session_scope(services.engine) as session:
            reply = resend.request_resend(session, contact_id=int(value))
    except Exception as exc:  # a lazy listener's errors never reach Bolt's error handler
        text = explain(exc, "re-send button")
    else:
        text = reply.text
        if reply.queued:
            services.hand_off()
    answer(body, client, text)


def answer(body: dict[str, Any], client: WebClient, text: str) -> None:
    """Ephemeral, where the button was (a DM, or the App Home has no channel: a DM)."""
    user_id = (body.get("user") or {}).get("id", "")
    channel = (body.get("channel") or {}).get("id")
    if channel and user_id:
        client.chat_postEphemeral(channel=channel, user=user_id, text=text)
    elif user_id:
        client.chat_postMessage(channel=user_id, text=text)
