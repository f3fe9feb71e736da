"""Claims: work taken with a conditional UPDATE, so two workers never take the same row.

Candidates are read first, then each is updated only while it still matches; the first
update that changes one row has won it. Atomic on SQLite and PostgreSQL alike, so any
number of worker threads or processes can claim side by side.

A claim is held by an owner (a worker node, `bot.store.nodes`) and is free again when
it ran out OR its node has gone silent: `lease_free` is that one rule, used by every
claim that outlives its transaction (introductions, Slack events, reminders, response
alerts, CRM write-backs). The CRM inbox's claim needs none: it is taken and applied
in one transaction, which the database rolls back when its connection dies.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, update
from sqlmodel import Session, SQLModel, col, select

from bot.models import Introduction, IntroStatus
from bot.store.crm_events import NEWS_PENDING
from bot.store.nodes import silent_owner

ACTIVE = (IntroStatus.PENDING, IntroStatus.RUNNING)


def lease_free(owner: Any, *, expired: ColumnElement[bool], now: datetime) -> ColumnElement[bool]:
    """A held claim is free when it ran out (`expired`) or its owner's node is silent
    (killed, out of memory, its host lost): it need not wait out a 300-second lease."""
    return or_(expired, silent_owner(owner, now=now))


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
        or_(
            col(Introduction.lease_until).is_(None),
            lease_free(
                col(Introduction.lease_owner),
                expired=col(Introduction.lease_until) < now,
                now=now,
            ),
        ),
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
