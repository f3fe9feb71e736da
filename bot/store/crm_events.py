"""The CRM inbox: events stored before the webhook answers, applied later by the worker."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from bot.models import CrmEvent, Deal, Introduction
from bot.store.rows import update_row

# CRM events about the introduction's deal not yet applied (both columns are indexed).
NEWS_PENDING = (
    select(CrmEvent.id)
    .join(Deal, col(Deal.crm_id) == col(CrmEvent.crm_id))
    .where(col(Deal.id) == col(Introduction.deal_id), col(CrmEvent.processed_at).is_(None))
    .exists()
)


def add_new_events(session: Session, *, rows: Sequence[dict[str, Any]]) -> int:
    """One INSERT … ON CONFLICT DO NOTHING on the dedupe key, so the database itself
    recognises a repeated delivery, even two at once; returns how many were new."""
    if not rows:
        return 0
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(CrmEvent)
        .values(list(rows))
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(CrmEvent.id)  # psycopg's rowcount is -1 for a many-row INSERT
    )
    return len(session.execute(statement).all())


def pending_events(session: Session, *, limit: int, after: int = 0) -> Sequence[int | None]:
    """Ids of events not yet applied, in arrival order (those after `after`: one left
    pending, waiting for its CRM, does not hide the ones behind it)."""
    return session.exec(
        select(CrmEvent.id).where(col(CrmEvent.processed_at).is_(None), col(CrmEvent.id) > after)
        .order_by(CrmEvent.id).limit(limit)
    ).all()  # fmt: skip


def pending_event(session: Session, *, event_id: int | None) -> CrmEvent | None:
    """The event when it is still to be applied (read only: nothing is claimed)."""
    event = session.get(CrmEvent, event_id)
    return event if event is not None and event.processed_at is None else None


def claim_event(session: Session, *, event_id: int | None, now: datetime) -> CrmEvent | None:
    """The event, marked processed; None when another worker has it already."""
    if not update_row(session, CrmEvent, event_id, where={"processed_at": None}, processed_at=now):
        return None
    return session.get(CrmEvent, event_id)
