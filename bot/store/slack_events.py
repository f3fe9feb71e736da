"""The Slack event inbox: each event stored once, claimed by one worker to be applied.

`event_id` is unique, so Slack's retries are recognised by the database. A claim sets
`processed_at` with `error` = "processing" and its owner; one older than the lease, or
whose owner's node is silent, is taken over (`claims.lease_free`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.models import Introduction, SlackEvent
from bot.store.claims import claim_first, lease_free
from bot.store.rows import update_row

PROCESSING = "processing"
BATCH = 50


def add_event(session: Session, *, event_id: str, kind: str, payload: str) -> bool:
    """Store one event; False when it is stored already (a retry)."""
    try:
        with session.begin_nested():
            session.add(SlackEvent(event_id=event_id[:64], type=kind[:64], payload=payload))
            session.flush()
    except IntegrityError:
        return False
    return True


def claim_event(
    session: Session, *, lease_seconds: int, now: datetime, owner: str | None = None
) -> SlackEvent | None:
    """The oldest event not applied (or whose claim is free), claimed; None when none is."""
    claimable = or_(
        col(SlackEvent.processed_at).is_(None),
        and_(
            col(SlackEvent.error) == PROCESSING,
            lease_free(
                col(SlackEvent.lease_owner),
                expired=col(SlackEvent.processed_at) < now - timedelta(seconds=lease_seconds),
                now=now,
            ),
        ),
    )
    row_id = claim_first(
        session,
        model=SlackEvent,
        candidates=select(SlackEvent.id).where(claimable).order_by(col(SlackEvent.id)).limit(BATCH),
        fence=(claimable,),
        values={"processed_at": now, "error": PROCESSING, "lease_owner": owner},
    )
    return None if row_id is None else session.get(SlackEvent, row_id)


def finish_event(session: Session, *, row_id: int, error: str | None) -> None:
    """Applied: the claim's marker gives way to the failure, or to nothing."""
    update_row(session, SlackEvent, row_id, error=error, lease_owner=None)


def event_applied(session: Session, *, event_id: str) -> bool:
    """The event is stored and applied (well or not): what waits on its effects looks here."""
    row = session.exec(select(SlackEvent).where(SlackEvent.event_id == event_id)).first()
    return row is not None and row.processed_at is not None and row.error != PROCESSING


def introduction_in_channel(session: Session, *, channel_id: str) -> Introduction | None:
    """The introduction whose care channel an event happened in."""
    return session.exec(select(Introduction).where(Introduction.channel_id == channel_id)).first()
