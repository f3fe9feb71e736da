"""Deals: found by their CRM id, upserted from any source, listed per person."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, bindparam, or_, union
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.config import Settings
from bot.models import Deal, Introduction, utcnow

WON, LOST = "won", "lost"


def get_deal(session: Session, *, crm_id: str) -> Deal | None:
    return session.exec(select(Deal).where(Deal.crm_id == crm_id)).first()


def upsert_deal(session: Session, *, crm_id: str, **fields: object) -> Deal:
    """Create the deal or update the fields given (None and "" leave a field as it is)."""
    deal = get_deal(session, crm_id=crm_id)
    if deal is None:
        try:
            with session.begin_nested():
                deal = Deal(crm_id=crm_id)
                session.add(deal)
                session.flush()
        except IntegrityError:
            deal = get_deal(session, crm_id=crm_id)
            assert deal is not None
    for name, value in fields.items():
        if value is not None and value != "":
            setattr(deal, name, value)
    deal.updated_at = utcnow()
    session.add(deal)
    session.flush()
    return deal


# Built once: `status` is the command people run most, and answers before the ack.
_DEALS_FOR_USER = (
    select(  # the columns the list shows, not entities: no hydration, no identity map
        col(Deal.id).label("deal_id"),
        Deal.crm_id,
        Deal.company,
        Deal.stage,
        Deal.stage_label,
        col(Introduction.id).label("intro_id"),
        Introduction.status,
        Introduction.channel_id,
        Introduction.engineer_user_id,
    )
    .join(Introduction, col(Introduction.deal_id) == Deal.id, isouter=True)
    .where(  # one indexed lookup per role, not an OR over a join (a scan of every deal)
        col(Deal.id).in_(
            union(
                select(Deal.id).where(Deal.registered_by == bindparam("user_id")),
                select(Deal.id).where(Deal.ae_user_id == bindparam("user_id")),
                select(Introduction.deal_id).where(
                    Introduction.engineer_user_id == bindparam("user_id")
                ),
                select(Introduction.deal_id).where(Introduction.ae_user_id == bindparam("user_id")),
            )
        )
    )
    .order_by(col(Deal.updated_at).desc())
    .limit(bindparam("limit"))
)


def deals_for_user(session: Session, *, user_id: str, limit: int = 20) -> Sequence[Row[Any]]:
    """Deals a person registered, is the AE of (introduced or not) or works on, newest
    first, as the status list's rows (`intro_id` is None for a deal not introduced)."""
    params = {"user_id": user_id, "limit": limit}
    return session.connection().execute(_DEALS_FOR_USER, params).all()  # Core: no ORM layer


def closed_as(settings: Settings, *kinds: str) -> ColumnElement[bool]:
    """SQL for "the deal's stage is one of these closed kinds" (WON, LOST), by the rule of
    `bot.flows.stage_kinds`: the CRM's own word when it gave one, else the stage names."""
    names: set[str] = set()
    if WON in kinds:
        names |= settings.won_stages
    if LOST in kinds:
        names |= settings.lost_stages
    by_name = or_(col(Deal.stage).in_(sorted(names)), col(Deal.stage_id).in_(sorted(names)))
    return or_(
        col(Deal.stage_status).in_(kinds),
        and_(col(Deal.stage_status) == "", by_name),
    )
