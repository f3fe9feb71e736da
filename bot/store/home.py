"""What a person's App Home lists: an engineer's prospects, an AE's deals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, union
from sqlmodel import Session, col, func, select

from bot.models import Contact, Deal, Introduction
from bot.store.introductions import OPEN_STATUSES
from bot.store.responses import waiting_per_introduction

MAX_ROWS = 25


@dataclass(frozen=True)
class HomeProspect:
    """One line of an engineer's Home list (not the reminders' `Prospect`)."""

    deal: Deal
    intro: Introduction
    invites: dict[str, int]
    waiting: int
    oldest_minutes: int | None


def prospects_of(session: Session, *, user_id: str, now: datetime) -> list[HomeProspect]:
    """Three statements however many prospects: their invitations and waiting questions
    are counted per deal and per introduction, not read one prospect at a time."""
    rows = session.exec(
        select(Introduction, Deal)
        .join(Deal, col(Deal.id) == Introduction.deal_id)
        .where(Introduction.engineer_user_id == user_id)
        .where(col(Introduction.status).in_(OPEN_STATUSES))
        .order_by(col(Deal.close_date).is_(None), col(Deal.close_date), col(Deal.id))
        .limit(MAX_ROWS)
    ).all()
    if not rows:
        return []
    invites: dict[int, dict[str, int]] = {}
    for deal_id, state, count in session.exec(
        select(Contact.deal_id, Contact.invite_state, func.count())
        .where(col(Contact.deal_id).in_([deal.id for _, deal in rows]))
        .where(col(Contact.email).is_not(None))  # listed without an email: never invited
        .group_by(col(Contact.deal_id), col(Contact.invite_state))
    ):
        invites.setdefault(deal_id, {})[state] = count
    waiting = waiting_per_introduction(session, intro_ids=[intro.id for intro, _ in rows])
    found = []
    for intro, deal in rows:
        count, oldest = waiting.get(intro.id or 0, (0, None))
        minutes = int((now - oldest).total_seconds() // 60) if oldest else None
        found.append(HomeProspect(deal, intro, invites.get(deal.id or 0, {}), count, minutes))
    return found


# Built once, like `status`'s list: one indexed lookup per way of being a deal's AE
# (registered it, its CRM owner or registrant, the introduction's AE), not an OR over
# an outer join, which scans every deal.
_DEALS_OF_AE = (
    select(Deal, Introduction)
    .join(Introduction, col(Introduction.deal_id) == Deal.id, isouter=True)
    .where(
        col(Deal.id).in_(
            union(
                select(Deal.id).where(Deal.registered_by == bindparam("user_id")),
                select(Deal.id).where(Deal.ae_user_id == bindparam("user_id")),
                select(Introduction.deal_id).where(Introduction.ae_user_id == bindparam("user_id")),
            )
        )
    )
    .order_by(col(Deal.updated_at).desc())
    .limit(MAX_ROWS)
)


def deals_of_ae(session: Session, *, user_id: str) -> list[tuple[Deal, Introduction | None]]:
    """Deals an AE registered or is the AE of, introduced or not, most recently changed first."""
    return list(session.exec(_DEALS_OF_AE, params={"user_id": user_id}).all())
