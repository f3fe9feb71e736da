"""The Slack event inbox: the listener stores each event once, the worker applies them.

`event_id` is unique, so Slack's retries (up to 3) are recognised and dropped. A row is
claimed with a conditional UPDATE (`processed_at` set, `error` = "processing"), so two
workers never apply one event at once; a claim older than the lease is taken over, which
is safe because applying an event twice changes nothing (clocks are unique per message,
answers and acceptances are conditional updates).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient
from sqlalchemy import Engine, and_, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.config import Settings
from bot.db import session_scope
from bot.flows.home import HomePublisher
from bot.flows.introduction import IntroductionRunner
from bot.flows.response_watch import ResponseWatch
from bot.models import Contact, Deal, Introduction, InviteState, SlackEvent, utcnow
from bot.slack.client import send_dm
from bot.store.contacts import contacts_of
from bot.store.rows import update_row
from bot.templating import render_internal
from bot.text import mask_email

if TYPE_CHECKING:
    from bot.worker import Worker

log = logging.getLogger(__name__)

HANDLED = ("message", "shared_channel_invite_accepted", "member_joined_channel", "app_home_opened")
PROCESSING = "processing"
BATCH = 50


def wanted(body: dict[str, Any]) -> bool:
    """Events worth a row: DMs with the bot are not care channels."""
    event = body.get("event") or {}
    if not body.get("event_id") or event.get("type") not in HANDLED:
        return False
    return not (event.get("type") == "message" and event.get("channel_type") in ("im", "mpim"))


def record(session: Session, *, body: dict[str, Any]) -> bool:
    """Store one event callback; False when it is already stored (a retry)."""
    event = body.get("event") or {}
    try:
        with session.begin_nested():
            session.add(
                SlackEvent(
                    event_id=str(body["event_id"])[:64],
                    type=str(event.get("type") or "")[:64],
                    payload=json.dumps(body),
                )
            )
            session.flush()
    except IntegrityError:
        return False
    return True


def our_team(body: dict[str, Any]) -> str:
    """Our workspace: the event callback's own team (or its first authorization)."""
    team = body.get("team_id")
    if not team:
        team = next((a.get("team_id") for a in body.get("authorizations") or []), "")
    return str(team or "")


@dataclass
class EventProcessor:
    """Applies stored events in arrival order; one per worker."""

    engine: Engine
    client: WebClient
    settings: Settings
    runner: IntroductionRunner
    lease_seconds: int = 300
    homes: HomePublisher = field(init=False)
    watch: ResponseWatch = field(init=False)

    def __post_init__(self) -> None:
        self.homes = HomePublisher(self.engine, self.client, self.settings)
        self.watch = ResponseWatch(self.engine, self.client, self.settings, self.homes)

    def process_pending(self) -> int:
        done = 0
        while (claimed := self._claim()) is not None:
            self._apply(*claimed)
            done += 1
        return done

    def _claim(self) -> tuple[int, dict[str, Any]] | None:
        now = utcnow()
        claimable = or_(
            col(SlackEvent.processed_at).is_(None),
            and_(
                col(SlackEvent.error) == PROCESSING,
                col(SlackEvent.processed_at) < now - timedelta(seconds=self.lease_seconds),
            ),
        )
        with session_scope(self.engine) as session:
            ids = session.exec(
                select(SlackEvent.id).where(claimable).order_by(col(SlackEvent.id)).limit(BATCH)
            ).all()
            for event_id in ids:
                taken = session.execute(
                    update(SlackEvent)
                    .where(col(SlackEvent.id) == event_id, claimable)
                    .values(processed_at=now, error=PROCESSING)
                )
                if taken.rowcount == 1:  # type: ignore[attr-defined]
                    row = session.get(SlackEvent, event_id)
                    assert row is not None and event_id is not None
                    session.commit()
                    return event_id, json.loads(row.payload)
        return None

    def _apply(self, row_id: int, body: dict[str, Any]) -> None:
        event = body.get("event") or {}
        error = None
        try:
            self._handle(event, body)
        except Exception as exc:  # one bad event must not stop the inbox
            log.exception("slack_event=%s type=%s failed", row_id, event.get("type"))
            error = f"{type(exc).__name__}: {exc}"[:500]
        with session_scope(self.engine) as session:
            update_row(session, SlackEvent, row_id, error=error)

    def _handle(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "message":
            self.watch.on_message(event, our_team=our_team(body))
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
            intro = session.exec(
                select(Introduction).where(Introduction.channel_id == channel_id)
            ).first()
            if intro is None:
                log.info("channel=%s invite accepted outside a care channel", channel_id)
                return
            contact = self._accepted_contact(session, intro, invite)
            if contact is None:
                log.info("channel=%s invite %s matches no contact", channel_id, invite.get("id"))
                return
            first = session.execute(
                update(Contact)
                .where(col(Contact.id) == contact.id)
                .where(col(Contact.invite_state) != InviteState.ACCEPTED)
                .values(invite_state=InviteState.ACCEPTED, accepted_at=utcnow(), invite_error=None)
            )
            if first.rowcount != 1:  # type: ignore[attr-defined]
                return
            deal = session.get(Deal, intro.deal_id)
        log.info("deal=%s %s accepted", deal and deal.crm_id, mask_email(contact.email))
        result = self.runner.invite_next_contacts(intro.id or 0)
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
            (c for c in contacts if email and c.email.lower() == email), None
        )


def worker_tasks(
    worker: Worker, settings: Settings, client: WebClient
) -> list[tuple[str, Callable[[], int]]]:
    """The event inbox and the response alerts, as periodic worker tasks."""
    processor = EventProcessor(
        worker.engine, client, settings, worker.runner, lease_seconds=worker.lease_seconds
    )
    return [
        ("slack_events", processor.process_pending),
        ("response_alerts", processor.watch.alert_due),
    ]
