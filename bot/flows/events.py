"""The Slack event inbox: the listener stores each event once, the worker applies them.

`event_id` is unique, so Slack's retries (up to 3) are recognised and dropped. A row is
claimed with a conditional UPDATE (`bot.store.slack_events`), so two workers never apply
one event at once; a claim older than the lease is taken over, which is safe because
applying an event twice changes nothing (clocks are unique per message, answers and
acceptances are conditional updates).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlmodel import Session

from bot.config import DEFAULT_LEASE_SECONDS
from bot.db import session_scope
from bot.flows.home import HomeRefresh
from bot.flows.invite_answers import InviteAnswers
from bot.flows.response_watch import ResponseWatch
from bot.models import utcnow
from bot.outages import log_failure
from bot.store.slack_events import (
    add_event,
    claim_event,
    finish_event,
)

log = logging.getLogger(__name__)

INVITE_ANSWERS = (
    "shared_channel_invite_accepted",
    "shared_channel_invite_approved",
    "shared_channel_invite_declined",
)
HANDLED = ("message", *INVITE_ANSWERS, "member_joined_channel", "app_home_opened")


def wanted(body: dict[str, Any]) -> bool:
    """Events worth a row: DMs with the bot are not care channels."""
    event = body.get("event") or {}
    if not body.get("event_id") or event.get("type") not in HANDLED:
        return False
    return not (event.get("type") == "message" and event.get("channel_type") in ("im", "mpim"))


def record(session: Session, *, body: dict[str, Any]) -> bool:
    """Store one event callback; False when it is already stored (a retry)."""
    event = body.get("event") or {}
    return add_event(
        session,
        event_id=str(body["event_id"]),
        kind=str(event.get("type") or ""),
        payload=json.dumps(body),
    )


@dataclass
class EventProcessor:
    """Applies stored events in arrival order: a periodic worker task.

    `invite_next` is the introduction runner's `invite_next_contacts`: an answered
    invitation lets the next contact be invited (SPEC step 5, `bot.flows.invite_answers`).
    """

    engine: Engine
    client: WebClient
    homes: HomeRefresh
    invite_next: Callable[[int], str]
    lease_seconds: int = DEFAULT_LEASE_SECONDS
    owner: str | None = None  # the worker node claiming, so its death frees the claim
    watch: ResponseWatch = field(init=False)
    answers: InviteAnswers = field(init=False)

    def __post_init__(self) -> None:
        self.watch = ResponseWatch(self.engine, self.client, self.homes)
        self.answers = InviteAnswers(self.engine, self.client, self.homes, self.invite_next)

    def process_pending(self) -> int:
        done = 0
        while (claimed := self._claim()) is not None:
            self._apply(*claimed)
            done += 1
        return done

    def _claim(self) -> tuple[int, dict[str, Any]] | None:
        """The next event (row id and body), claimed in its own transaction."""
        with session_scope(self.engine) as session:
            row = claim_event(
                session, lease_seconds=self.lease_seconds, now=utcnow(), owner=self.owner
            )
            if row is None or row.id is None:
                return None
            return row.id, json.loads(row.payload)

    def _apply(self, row_id: int, body: dict[str, Any]) -> None:
        event = body.get("event") or {}
        error = None
        try:
            self._handle(event, body)
        except Exception as exc:  # one bad event must not stop the inbox
            log_failure(log, exc, "slack_event=%s type=%s failed", row_id, event.get("type"),
                        level=logging.ERROR, traceback=True)  # fmt: skip
            error = f"{type(exc).__name__}: {exc}"[:500]
        with session_scope(self.engine) as session:
            finish_event(session, row_id=row_id, error=error)

    def _handle(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "message":
            self.watch.on_message(event, body=body)
        elif kind in INVITE_ANSWERS:
            self.answers.handle(event)
        elif kind == "app_home_opened" and event.get("tab", "home") == "home":
            self.homes.publish(str(event.get("user") or ""))
        elif kind == "member_joined_channel":
            log.info("channel=%s joined by %s", event.get("channel"), event.get("user"))
