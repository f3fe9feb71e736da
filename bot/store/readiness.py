"""Deals whose introduction waits for what the deal lacks, and the one notice their AE
gets (`Deal.missing_notice_at`, claimed before the DM is sent)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, update
from sqlmodel import Session, col, select

from bot.models import Deal, Introduction, IntroStatus
from bot.store.rows import update_row


def _ae() -> Any:
    """Who to tell: the deal's AE (CRM owner or registrant), else who asked."""
    return func.coalesce(Deal.ae_user_id, Introduction.requested_by, Deal.registered_by)


STALE_CLAIM = timedelta(minutes=5)  # a claim not sent by then: its worker died, take it


def _unsent(now: datetime) -> ColumnElement[bool]:
    """Not sent, and not claimed by a worker that may still be sending it."""
    return col(Deal.missing_notice_sent_at).is_(None) & or_(
        col(Deal.missing_notice_at).is_(None), col(Deal.missing_notice_at) < now - STALE_CLAIM
    )


def notices_due(session: Session, *, now: datetime, limit: int = 50) -> list[tuple[int, str]]:
    """(deal id, AE) of waiting deals whose AE is known and not told yet; an indexed
    lookup on the introduction's status, cheap at every poll."""
    rows = session.exec(
        select(Deal.id, _ae())
        .join(Introduction, col(Introduction.deal_id) == Deal.id)
        .where(Introduction.status == IntroStatus.WAITING)
        .where(_unsent(now), _ae().is_not(None))
        .order_by(col(Deal.id))
        .limit(limit)
    ).all()
    return [(deal_id, ae) for deal_id, ae in rows if deal_id is not None]


def claim_notice(session: Session, *, deal_id: int, now: datetime) -> bool:
    """Take the deal's one notice; False when it was sent or another worker holds it."""
    taken = session.execute(
        update(Deal).where(col(Deal.id) == deal_id, _unsent(now)).values(missing_notice_at=now)
    )
    return bool(taken.rowcount == 1)  # type: ignore[attr-defined]


def notice_sent(session: Session, *, deal_id: int, claimed_at: datetime, now: datetime) -> None:
    """The DM went out (or was found already there): nobody sends it again."""
    update_row(session, Deal, deal_id, where={"missing_notice_at": claimed_at},
               missing_notice_sent_at=now)  # fmt: skip


def unclaim_notice(session: Session, *, deal_id: int, claimed_at: datetime) -> None:
    """Slack refused the DM before it was sent: the next poll tries again."""
    update_row(session, Deal, deal_id, where={"missing_notice_at": claimed_at},
               missing_notice_at=None)  # fmt: skip
