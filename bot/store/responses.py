"""Response clocks: started by a prospect's question, stopped by our first reply.

A clock's alerts are claims too: `engineer_alerted_at` / `backup_alerted_at` are set,
with the level's owner, before the DM goes out; given back when it fails, the owner
cleared once it is sent. A claim whose owner's node fell silent (or a lease old) is
taken over (`claims.lease_free`); the DM's marker is looked for before sending again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from bot.config import DEFAULT_LEASE_SECONDS
from bot.models import Introduction, ResponseClock, utcnow
from bot.store.claims import lease_free
from bot.store.rows import update_row

ALERTED = {"engineer": "engineer_alerted_at", "backup": "backup_alerted_at"}
ALERT_OWNER = {"engineer": "engineer_alert_owner", "backup": "backup_alert_owner"}


def note_prospect_message(
    session: Session, *, intro_id: int | None, at: datetime, text: str
) -> None:
    """Keep the prospect's latest message on the introduction (an older one never wins)."""
    last = col(Introduction.last_prospect_message_at)
    session.execute(
        update(Introduction)
        .where(col(Introduction.id) == intro_id)
        .where(or_(last.is_(None), last <= at))
        .values(last_prospect_message_at=at, last_prospect_text=text)
    )


def has_open_clock(session: Session, *, intro_id: int | None) -> bool:
    """One clock runs per introduction: a second question waits on the first's clock."""
    return (
        session.exec(
            select(ResponseClock.id).where(
                ResponseClock.introduction_id == intro_id,
                col(ResponseClock.answered_at).is_(None),
            )
        ).first()
        is not None
    )


def start_clock(session: Session, *, clock: ResponseClock) -> bool:
    """False when this very message started its clock already (a clock per message)."""
    try:
        with session.begin_nested():
            session.add(clock)
    except IntegrityError:
        return False
    return True


def open_clocks_in(session: Session, *, channel_id: str) -> Sequence[ResponseClock]:
    """The channel's unanswered clocks: a reply of ours may stop them."""
    return session.exec(
        select(ResponseClock).where(
            ResponseClock.channel_id == channel_id,
            col(ResponseClock.answered_at).is_(None),
        )
    ).all()


def answer_clock(
    session: Session, *, clock_id: int | None, at: datetime, by: str, seconds: int
) -> int:
    """Stop a clock unless someone else did; returns 1 when this call stopped it."""
    return update_row(
        session, ResponseClock, clock_id, where={"answered_at": None},
        answered_at=at, answered_by=by, response_seconds=seconds,
    )  # fmt: skip


def clocks_of(session: Session, *, intro_id: int | None) -> Sequence[ResponseClock]:
    """One introduction's clocks, oldest first."""
    return session.exec(
        select(ResponseClock)
        .where(ResponseClock.introduction_id == intro_id)
        .order_by(col(ResponseClock.started_at))
    ).all()


def clocks_since(session: Session, *, since: datetime) -> Sequence[ResponseClock]:
    """Every clock started since `since`, for the team's figures."""
    return session.exec(select(ResponseClock).where(ResponseClock.started_at >= since)).all()


def waiting_per_introduction(
    session: Session, *, intro_ids: Iterable[int | None]
) -> dict[int, tuple[int, datetime]]:
    """Unanswered questions per introduction: how many, and when the oldest was asked."""
    rows = session.exec(
        select(ResponseClock.introduction_id, func.count(), func.min(ResponseClock.started_at))
        .where(col(ResponseClock.introduction_id).in_(list(intro_ids)))
        .where(col(ResponseClock.answered_at).is_(None))
        .group_by(col(ResponseClock.introduction_id))
    )
    return {intro_id: (count, oldest) for intro_id, count, oldest in rows}


def _alert_open(level: str, *, now: datetime, lease_seconds: int) -> Any:
    """Not yet alerted at this level, or claimed by someone whose claim is free."""
    alerted = col(getattr(ResponseClock, ALERTED[level]))
    owner = col(getattr(ResponseClock, ALERT_OWNER[level]))
    return or_(
        alerted.is_(None),
        and_(
            owner.is_not(None),
            lease_free(owner, expired=alerted < now - timedelta(seconds=lease_seconds), now=now),
        ),
    )


def alerts_due(
    session: Session,
    *,
    level: str,
    started_before: datetime,
    now: datetime | None = None,
    lease_seconds: int = DEFAULT_LEASE_SECONDS,
    limit: int = 50,
) -> Sequence[int | None]:
    """Open clocks old enough for this level's alert, not yet alerted at it (or whose
    alert's claim is free)."""
    return session.exec(
        select(ResponseClock.id)
        .where(col(ResponseClock.answered_at).is_(None))
        .where(_alert_open(level, now=now or utcnow(), lease_seconds=lease_seconds))
        .where(col(ResponseClock.started_at) <= started_before)
        .order_by(col(ResponseClock.started_at))
        .limit(limit)
    ).all()


def claim_alert(
    session: Session,
    *,
    clock_id: int | None,
    level: str,
    now: datetime,
    owner: str | None = None,
    lease_seconds: int = DEFAULT_LEASE_SECONDS,
) -> bool:
    """Claim a level's alert of a still open clock; False when it is sent, answered or
    held by a live worker."""
    taken = session.execute(
        update(ResponseClock)
        .where(col(ResponseClock.id) == clock_id)
        .where(col(ResponseClock.answered_at).is_(None))
        .where(_alert_open(level, now=now, lease_seconds=lease_seconds))
        .values({ALERTED[level]: now, ALERT_OWNER[level]: owner})
    )
    return bool(taken.rowcount == 1)  # type: ignore[attr-defined]


def alert_sent(session: Session, *, clock_id: int | None, level: str, claimed: datetime) -> None:
    """The DM went out: the claim is settled, nobody takes it over."""
    key = ALERTED[level]
    update_row(session, ResponseClock, clock_id, where={key: claimed}, **{ALERT_OWNER[level]: None})


def release_alert(session: Session, *, clock_id: int | None, level: str, claimed: datetime) -> None:
    """Give a claim back (its DM failed), so the next poll tries again."""
    key = ALERTED[level]
    update_row(session, ResponseClock, clock_id, where={key: claimed},
               **{key: None, ALERT_OWNER[level]: None})  # fmt: skip
