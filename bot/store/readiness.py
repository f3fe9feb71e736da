"""Deals whose introduction waits for what the deal lacks, and the one notice their AE
gets (`Deal.missing_notice_at`, claimed before the DM is sent)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.models import Deal, Introduction, IntroStatus
from bot.store.rows import update_row


def _ae() -> Any:
    """Who to tell: the deal's AE (CRM owner or registrant), else who asked."""
    return func.coalesce(Deal.ae_user_id, Introduction.requested_by, Deal.registered_by)


def notices_due(session: Session, *, limit: int = 50) -> list[tuple[int, str]]:
    """(deal id, AE) of waiting deals whose AE is known and not told yet; an indexed
    lookup on the introduction's status, cheap at every poll."""
    rows = session.exec(
        select(Deal.id, _ae())
        .join(Introduction, col(Introduction.deal_id) == Deal.id)
        .where(Introduction.status == IntroStatus.WAITING)
        .where(col(Deal.missing_notice_at).is_(None), _ae().is_not(None))
        .order_by(col(Deal.id))
        .limit(limit)
    ).all()
    return [(deal_id, ae) for deal_id, ae in rows if deal_id is not None]


def claim_notice(session: Session, *, deal_id: int, now: datetime) -> bool:
    """Take the deal's one notice; False when another worker took it first."""
    return update_row(session, Deal, deal_id, where={"missing_notice_at": None},
                      missing_notice_at=now) == 1  # fmt: skip


def unclaim_notice(session: Session, *, deal_id: int, claimed_at: datetime) -> None:
    """Slack refused the DM before it was sent: the next poll tries again."""
    update_row(session, Deal, deal_id, where={"missing_notice_at": claimed_at},
               missing_notice_at=None)  # fmt: skip
