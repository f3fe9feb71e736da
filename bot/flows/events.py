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
from bot.flows.response_watch import ResponseWatch
from bot.models import Contact, Deal, Introduction, InviteState, utcnow
from bot.outages import log_failure
from bot.slack.client import send_dm
from bot.store.contacts import accept_invitation, contacts_of
from bot.store.slack_events import (
    add_event,
    claim_event,
    finish_event,
    introduction_in_channel,
)
from bot.templating import render_internal
from bot.text import mask_email

log = logging.getLogger(__name__)

HANDLED = ("message", "shared_channel_invite_accepted", "member_joined_channel", "app_home_opened")


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

    `invite_next` is the introduction runner's `invite_next_contacts`: an accepted
    invitation lets the next contact be invited (SPEC step 5).
    """

    engine: Engine
    client: WebClient
    homes: HomeRefresh
    invite_next: Callable[[int], str]
    lease_seconds: int = DEFAULT_LEASE_SECONDS
    owner: str | None = None  # the worker node claiming, so its death frees the claim
    watch: ResponseWatch = field(init=False)

    def __post_init__(self) -> None:
        self.watch = ResponseWatch(self.engine, self.client, self.homes)

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
        elif kind == "shared_channel_invite_accepted":
            self.invite_accepted(event)
        elif kind == "app_home_opened" and event.get("tab", "home") == "home":
            self.homes.publish(str(event.get("user") or ""))
        elif kind == "member_joined_channel":
            log.info("channel=%s joined by %s", event.get("channel"), event.get("user"))

    # --- Slack Connect: an invitation was accepted ------------------------------------

    def invite_accepted(self, event: dict[str, Any]) -> None:
        """Mark the contact accepted, invite the next one (SPEC step 5), tell AE and engineer."""
        invite = event.get("invite") or {}
        channel_id = (event.get("channel") or {}).get("id") or invite.get("channel_id") or ""
        with session_scope(self.engine) as session:
            intro = introduction_in_channel(session, channel_id=channel_id)
            if intro is None:
                log.info("channel=%s invite accepted outside a care channel", channel_id)
                return
            contact = self._accepted_contact(session, intro, invite)
            if contact is None:
                log.info("channel=%s invite %s matches no contact", channel_id, invite.get("id"))
                return
            if not accept_invitation(session, contact_id=contact.id, now=utcnow()):
                return
            deal = session.get(Deal, intro.deal_id)
        log.info("deal=%s %s accepted", deal and deal.crm_id, mask_email(contact.email))
        result = self.invite_next(intro.id or 0)
        log.info("intro_id=%s next invitations: %s", intro.id, result)
        with session_scope(self.engine) as session:
            sent_next = [
                c.email
                for c in contacts_of(session, deal_id=intro.deal_id)
                if c.invite_state == InviteState.SENT
            ]
        message = render_internal(
            "internal/invite_accepted.j2",
            deal=deal,
            email=contact.email,
            channel_id=channel_id,
            next_emails=sent_next,
        )
        for person in dict.fromkeys(p for p in (intro.ae_user_id, intro.engineer_user_id) if p):
            send_dm(
                "accepted",
                self.client,
                person,
                text=message.text,
                blocks=message.blocks,
                unfurl_links=False,
            )
        self.homes.publish_for_introduction(intro.id)

    @staticmethod
    def _accepted_contact(
        session: Session, intro: Introduction, invite: dict[str, Any]
    ) -> Contact | None:
        """By invitation id, else by the invited email."""
        contacts = contacts_of(session, deal_id=intro.deal_id)
        invite_id = invite.get("id")
        email = str(invite.get("recipient_email") or "").lower()
        return next((c for c in contacts if invite_id and c.invite_id == invite_id), None) or next(
            (c for c in contacts if email and c.email and c.email.lower() == email), None
        )
