"""Stage changes: every move of a deal's stage, and what it did to the introduction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, or_
from sqlmodel import Session, col, func, select

from bot.models import Deal, Introduction, StageChange


def add_stage_change(session: Session, *, change: StageChange) -> None:
    """Keep a change in the history (flushed: `status` may read it in this session)."""
    session.add(change)
    session.flush()


def history_of(session: Session, *, deal: Deal, limit: int = 5) -> Sequence[StageChange]:
    """A deal's latest changes, newest first."""
    return session.exec(
        select(StageChange)
        .where(StageChange.deal_id == deal.id)
        .order_by(col(StageChange.id).desc())
        .limit(limit)
    ).all()


def wins_since(
    session: Session, *, won_stages: Iterable[str], since: datetime
) -> Sequence[Row[Any]]:
    """Deals first won since `since`: (won_at, their Introduction or None)."""
    by_name = col(StageChange.to_stage).in_(sorted(won_stages))  # rows from before `kind`
    first_won = (
        select(StageChange.deal_id, func.min(StageChange.recorded_at).label("won_at"))
        .where(
            or_(
                col(StageChange.kind) == "won",  # recorded by the rules: the CRM's word too
                and_(col(StageChange.kind) == "", by_name),
            )
        )
        .group_by(col(StageChange.deal_id))
        .subquery()
    )
    return session.exec(  # type: ignore[return-value]
        select(first_won.c.won_at, Introduction)
        .join(Introduction, col(Introduction.deal_id) == first_won.c.deal_id, isouter=True)
        .where(first_won.c.won_at >= since)
    ).all()
