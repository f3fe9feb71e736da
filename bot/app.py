"""Builds the Bolt app. Nothing here calls Slack: start-up works offline."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.listeners import register_listeners
from bot.services import Services, unexpected
from bot.slack.client import make_client

log = logging.getLogger(__name__)


def build_app(
    services: Services, *, client: WebClient | None = None, socket_mode: bool = False
) -> App:
    settings = services.settings
    app = App(
        signing_secret=settings.slack_signing_secret or None,
        client=client or make_client(settings),
        token_verification_enabled=False,  # no auth.test at construction
        request_verification_enabled=not socket_mode,
        ignoring_self_events_enabled=False,  # it would call auth.test before the ack
        raise_error_for_unhandled_request=False,
    )
    register_listeners(app, services)

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> None:
        unexpected(error, f"listener for {body.get('type') or body.get('command') or 'request'}")

    return app
