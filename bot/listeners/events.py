"""Events API: ack at once, record the event (Slack's retries are recognised), hand off.

Everything that calls Slack or looks at clocks happens in the worker (`bot.flows.events`).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App

from bot.db import session_scope
from bot.flows import events
from bot.services import Services

log = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    def on_event(ack: Ack, body: dict[str, Any]) -> None:
        handle_event(ack, body, services)

    for event_type in events.HANDLED:
        app.event(event_type)(on_event)


def handle_event(ack: Ack, body: dict[str, Any], services: Services) -> None:
    ack()
    if not events.wanted(body):
        return
    with session_scope(services.engine) as session:
        new = events.record(session, body=body)
    if new:
        services.hand_off()
    else:
        log.info("event_id=%s already recorded (a retry)", body.get("event_id"))
