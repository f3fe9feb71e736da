"""Claims: work taken with a conditional UPDATE, so two workers never take the same row.

Candidates are read first, then each is updated only while it still matches; the first
update that changes one row has won it. Atomic on SQLite and PostgreSQL alike, so any
number of worker threads or processes can claim side by side.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, update
from sqlmodel import Session, SQLModel, col, select

from bot.models import Introduction, IntroStatus
from bot.store.crm_events import NEWS_PENDING

ACTIVE = (IntroStatus.PENDING, IntroStatus.RUNNING)


def claim_first(
    session: Session,
    *,
    model: type[SQLModel],
    candidates: Select[tuple[int | None]],
    fence: tuple[ColumnElement[bool], ...],
    values: Mapping[str, Any],
) -> int | None:
    """The first id of `candidates` whose row still matches `fence`, now set to `values`;
    None when every one was taken by someone else first. The caller commits."""
    table = model.__table__  # type: ignore[attr-defined]
    for row_id in session.exec(candidates).all():
        taken = session.execute(update(table).where(table.c.id == row_id, *fence).values(values))
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            return row_id
    return None


def claim_introduction(
    session: Session, *, owner: str, lease_seconds: int, now: datetime
) -> int | None:
    """Lease the oldest due introduction to `owner`, if any.

    Not while CRM news about its deal waits in the inbox: a batch saying "Contract
    Sent", then "Closed Lost" must cancel the introduction, not race it (the events
    are applied one transaction each, and another thread could claim in between).
    """
    due = (
        col(Introduction.status).in_(ACTIVE),
        or_(col(Introduction.lease_until).is_(None), col(Introduction.lease_until) < now),
        or_(
            col(Introduction.next_attempt_at).is_(None),
            col(Introduction.next_attempt_at) <= now,
        ),
        ~NEWS_PENDING,
    )
    return claim_first(
        session,
        model=Introduction,
        candidates=select(Introduction.id).where(*due).order_by(Introduction.id).limit(20),
        fence=due,
        values={
            "lease_owner": owner,
            "status": IntroStatus.RUNNING,
            "lease_until": now + timedelta(seconds=lease_seconds),
        },
    )
