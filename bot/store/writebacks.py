"""The CRM write-back outbox: one row per finished introduction, claimed with a lease.

A row is queued in the transaction that ends its introduction, so an introduction is
never done without its write-back, nor twice queued (unique per introduction). A
worker claims it (a conditional UPDATE: one worker at a time, and a dead worker's
lease runs out), then settles it done, retries it later with a growing wait, pauses it
while the CRM refuses our credential, or gives up after `MAX_ATTEMPTS` with the reason.
`attempts` counts claims: a claim after the first is a resumed attempt, which looks in
the CRM for what an earlier one may have written before writing again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from bot.models import CrmWriteback
from bot.store.claims import lease_free

PENDING, DONE, FAILED = "pending", "done", "failed"
MAX_ATTEMPTS = 8
MAX_RETRY_SECONDS = 3600


def queue_writeback(
    session: Session, *, introduction_id: int, crm: str, crm_deal_id: str, now: datetime
) -> bool:
    """Queue the introduction's write-back; False when it was queued already."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    values = {"introduction_id": introduction_id, "crm": crm, "crm_deal_id": crm_deal_id,
              "state": PENDING, "attempts": 0, "created_at": now}  # fmt: skip
    statement = (
        insert(CrmWriteback)
        .values(values)
        .on_conflict_do_nothing(index_elements=["introduction_id"])
        .returning(CrmWriteback.id)  # psycopg counts a skipped row in rowcount
    )
    return session.execute(statement).scalar_one_or_none() is not None


def _claimable(now: datetime) -> tuple:
    return (
        col(CrmWriteback.state) == PENDING,
        or_(col(CrmWriteback.next_attempt_at).is_(None), col(CrmWriteback.next_attempt_at) <= now),
        or_(
            col(CrmWriteback.lease_until).is_(None),
            lease_free(
                col(CrmWriteback.lease_owner), expired=col(CrmWriteback.lease_until) < now, now=now
            ),
        ),
    )


def due_writebacks(session: Session, *, now: datetime, limit: int) -> Sequence[int | None]:
    """Ids of write-backs a worker may claim now, oldest first."""
    return session.exec(
        select(CrmWriteback.id).where(*_claimable(now)).order_by(CrmWriteback.id).limit(limit)
    ).all()


def claim_writeback(
    session: Session, *, writeback_id: int | None, owner: str, now: datetime, lease_seconds: float
) -> CrmWriteback | None:
    """The row, leased to `owner` with one more attempt counted; None when another
    worker has it (or it is no longer due)."""
    result = session.execute(
        update(CrmWriteback)
        .where(col(CrmWriteback.id) == writeback_id, *_claimable(now))
        .values(
            lease_owner=owner,
            lease_until=now + timedelta(seconds=lease_seconds),
            attempts=CrmWriteback.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    return session.get(CrmWriteback, writeback_id, populate_existing=True)


def _settle(session: Session, writeback_id: int | None, owner: str, **values: object) -> bool:
    """Write `values` and free the lease, only while `owner` still holds it."""
    result = session.execute(
        update(CrmWriteback)
        .where(col(CrmWriteback.id) == writeback_id, col(CrmWriteback.lease_owner) == owner)
        .values(lease_owner=None, lease_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def settle_done(
    session: Session, *, writeback_id: int | None, owner: str, external_id: str, now: datetime
) -> bool:
    return _settle(
        session, writeback_id, owner, state=DONE, external_id=external_id[:64], done_at=now,
        last_error=None,
    )  # fmt: skip


def retry_later(
    session: Session, *, writeback_id: int | None, owner: str, attempts: int, error: str,
    now: datetime, first_wait_seconds: float = 30.0,
) -> str:  # fmt: skip
    """Try again after a wait that doubles per attempt; after MAX_ATTEMPTS, give up with
    the reason. Returns the state the row is left in."""
    if attempts >= MAX_ATTEMPTS:
        _settle(session, writeback_id, owner, state=FAILED, last_error=error[:500])
        return FAILED
    wait = timedelta(seconds=min(2 ** (attempts - 1) * first_wait_seconds, MAX_RETRY_SECONDS))
    _settle(session, writeback_id, owner, next_attempt_at=now + wait, last_error=error[:500])
    return PENDING


def pause(
    session: Session, *, writeback_id: int | None, owner: str, until: datetime, reason: str
) -> None:
    """The CRM refuses our credential: wait for it, never giving up. A refused call does
    nothing, so this claim is not counted: whether the next one is resumed depends only
    on the attempts that may have written."""
    _settle(
        session, writeback_id, owner, next_attempt_at=until, last_error=reason[:500],
        attempts=CrmWriteback.attempts - 1,
    )  # fmt: skip


def writeback_of(session: Session, *, introduction_id: int | None) -> CrmWriteback | None:
    return session.exec(
        select(CrmWriteback).where(CrmWriteback.introduction_id == introduction_id)
    ).first()
