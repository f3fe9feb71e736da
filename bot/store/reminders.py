"""Weekly reminders: who has something to report, what their digest reads, and the
(person, week) claims that make one DM a week at most.

Every query here has a fixed statement count whatever the headcount: the digest
streams arrive in batches, each ordered by person, so the flow can merge them and keep
one person's rows in memory at a time (bench/reminders_scale.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, delete, func, not_, or_, union_all, update
from sqlmodel import Session, col, select

from bot.config import Settings
from bot.models import (
    Contact,
    Deal,
    Introduction,
    IntroStatus,
    InviteState,
    ReminderSent,
    ResponseClock,
    utcnow,
)
from bot.store.claims import lease_free
from bot.store.contacts import HOLDING, STALE_AFTER, stale_or_expired
from bot.store.deals import LOST, WON, closed_as
from bot.store.rows import update_row

STREAM_ROWS = 500
PENDING_INVITES = (InviteState.WAITING, InviteState.SENDING, *HOLDING)

# What a digest shows of a deal and its introduction; rows are read by these names.
DEAL_COLUMNS = (col(Deal.id).label("deal_id"), Deal.crm_id, Deal.company, Deal.stage,
                Deal.stage_label, Deal.close_date, Deal.stage_id, Deal.stage_status,
                Deal.probability)  # fmt: skip
INTRO_COLUMNS = (col(Introduction.id).label("intro_id"), Introduction.status,
                 Introduction.channel_id, Introduction.engineer_user_id,
                 Introduction.last_prospect_text)  # fmt: skip


class DigestStreams(NamedTuple):
    """Four streamed results, each ordered by `user_id` in code-point order."""

    invites: Iterable[Any]  # user_id, deal_id, email, invite_state, invited_at
    questions: Iterable[Any]  # user_id, intro_id, text, started_at
    prospects: Iterable[Any]  # user_id, DEAL_COLUMNS, INTRO_COLUMNS, last_message_at
    deals: Iterable[Any]  # user_id, DEAL_COLUMNS, INTRO_COLUMNS (None when not introduced)
    stale: Iterable[Any] = ()  # the AE's: user_id, contact_id, email, invite_state,
    # invited_at, crm_id, company (invitations to re-send)


def ae_of() -> Any:
    """Who a deal's AE is: the introduction's, else the deal's (its CRM owner, resolved when
    it was recorded), else who registered or requested it."""
    return func.coalesce(
        Introduction.ae_user_id, Deal.ae_user_id, Deal.registered_by, Introduction.requested_by
    )


def _reported() -> Any:
    """A deal someone follows: watched, introduced (or asked for), or with a known AE."""
    return or_(
        col(Deal.watched), col(Introduction.id).is_not(None), col(Deal.ae_user_id).is_not(None)
    )


def reporting_since(session: Session, *, settings: Settings) -> dict[str, datetime]:
    """Each person with something to report (an engineer's introduced prospect, an AE's
    open watched or introduced deal) -> since when, in one statement."""
    engineers = (
        select(
            col(Introduction.engineer_user_id).label("user_id"),
            func.coalesce(Introduction.finished_at, Introduction.created_at).label("since"),
        )
        .join(Deal, col(Deal.id) == Introduction.deal_id)
        .where(Introduction.status == IntroStatus.DONE)
        .where(not_(closed_as(settings, LOST)))
    )
    aes = (
        select(ae_of().label("user_id"), col(Deal.created_at).label("since"))
        .select_from(Deal)
        .join(Introduction, col(Introduction.deal_id) == Deal.id, isouter=True)
        .where(not_(closed_as(settings, WON, LOST)))
        .where(_reported())
    )
    both = union_all(engineers, aes).subquery()
    rows = session.execute(
        select(both.c.user_id, func.min(both.c.since))
        .where(both.c.user_id.is_not(None))
        .group_by(both.c.user_id)
    )
    return dict(rows.all())


def claims_of(session: Session, *, weeks: Iterable[str]) -> Sequence[ReminderSent]:
    return session.exec(select(ReminderSent).where(col(ReminderSent.week).in_(weeks))).all()


def digest_streams(
    session: Session, *, settings: Settings, stale_before: datetime | None = None
) -> DigestStreams:
    """Everything every digest shows, in five statements whatever the headcount."""
    engineer = col(Introduction.engineer_user_id)
    ae = ae_of()
    done = (Introduction.status == IntroStatus.DONE, engineer.is_not(None))
    by_engineer = _by_person(session, engineer)
    invites = (
        select(
            engineer.label("user_id"),
            col(Contact.deal_id).label("deal_id"),
            Contact.email,
            Contact.invite_state,
            Contact.invited_at,
        )
        .join(Introduction, col(Introduction.deal_id) == Contact.deal_id)
        .where(*done, col(Contact.invite_state).in_(PENDING_INVITES))
        .where(col(Contact.email).is_not(None))  # listed without an email: never invited
        .order_by(by_engineer, Contact.id)
    )
    questions = (
        select(
            engineer.label("user_id"),
            col(ResponseClock.introduction_id).label("intro_id"),
            col(ResponseClock.text_preview).label("text"),
            ResponseClock.started_at,
        )
        .join(Introduction, col(Introduction.id) == ResponseClock.introduction_id)
        .where(*done, col(ResponseClock.answered_at).is_(None))
        .order_by(by_engineer, ResponseClock.started_at)
    )
    last_at = col(Introduction.last_prospect_message_at).label("last_message_at")
    prospects = (
        select(engineer.label("user_id"), *DEAL_COLUMNS, *INTRO_COLUMNS, last_at)
        .join(Introduction, col(Introduction.deal_id) == Deal.id)
        .where(*done, not_(closed_as(settings, LOST)))
        .order_by(by_engineer)
    )
    deals = (
        select(ae.label("user_id"), *DEAL_COLUMNS, *INTRO_COLUMNS)
        .join(Introduction, col(Introduction.deal_id) == Deal.id, isouter=True)
        .where(not_(closed_as(settings, WON, LOST)))
        .where(_reported())
        .where(ae.is_not(None))
        .order_by(_by_person(session, ae))
    )
    stale = (
        select(
            ae.label("user_id"),
            col(Contact.id).label("contact_id"),
            Contact.email,
            Contact.invite_state,
            Contact.invited_at,
            Deal.crm_id,
            Deal.company,
        )
        .select_from(Contact)
        .join(Deal, col(Deal.id) == Contact.deal_id)
        .join(Introduction, col(Introduction.deal_id) == Deal.id)
        .where(Introduction.status == IntroStatus.DONE, col(Contact.email).is_not(None))
        .where(stale_or_expired(sent_before=stale_before or utcnow() - STALE_AFTER))
        .where(not_(closed_as(settings, WON, LOST)), ae.is_not(None))
        .order_by(_by_person(session, ae), Contact.id)
    )
    queries = (invites, questions, prospects, deals, stale)
    return DigestStreams(*(_stream(session, q) for q in queries))


def _by_person(session: Session, column: Any) -> Any:
    """Order by a user id in code-point order, as Python compares the merged streams
    (PostgreSQL's default collation would sort `U_X` and `UA` the other way)."""
    if session.get_bind().dialect.name == "postgresql":
        return column.collate("C")
    return column


def _stream(session: Session, query: Any) -> Any:
    """One statement whose rows arrive in batches, so a big workspace fits in memory."""
    return session.exec(query.execution_options(yield_per=STREAM_ROWS))


# --- claims: the unique (user, week) row ---------------------------------------------


def claim_week(session: Session, *, user_id: str, week: str, owner: str | None = None) -> int:
    """A new claim; IntegrityError (at flush or commit) when someone holds the week."""
    row = ReminderSent(user_id=user_id, week=week, lease_owner=owner)
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id


def _free(stale_before: datetime, now: datetime) -> Any:
    """An unsent claim older than the lease, or whose owner's node is silent."""
    return and_(
        col(ReminderSent.sent_at).is_(None),
        lease_free(
            col(ReminderSent.lease_owner),
            expired=col(ReminderSent.claimed_at) < stale_before,
            now=now,
        ),
    )


def free_claims(
    session: Session, *, weeks: Iterable[str], stale_before: datetime, now: datetime
) -> set[int]:
    """Ids of this weeks' claims that may be taken over (`take_over_claim`)."""
    rows = session.exec(
        select(ReminderSent.id)
        .where(col(ReminderSent.week).in_(weeks))
        .where(_free(stale_before, now))
    )
    return {row_id for row_id in rows.all() if row_id is not None}


def take_over_claim(
    session: Session, *, claim_id: int, stale_before: datetime, owner: str | None = None
) -> bool:
    """Take an unsent claim that is free; False when it was sent or renewed."""
    now = utcnow()
    taken = session.execute(
        update(ReminderSent)
        .where(col(ReminderSent.id) == claim_id)
        .where(_free(stale_before, now))
        .values(claimed_at=now, lease_owner=owner)
    )
    return bool(taken.rowcount == 1)  # type: ignore[attr-defined]


def settle_claim(session: Session, *, claim_id: int, ts: str | None) -> None:
    """The week is done: sent (`ts`), or settled without a DM (None)."""
    update_row(session, ReminderSent, claim_id, sent_at=utcnow(), message_ts=ts)


def release_claim(session: Session, *, claim_id: int) -> None:
    """Nothing was posted: the week is free again, unless it was sent meanwhile."""
    session.execute(
        delete(ReminderSent)
        .where(col(ReminderSent.id) == claim_id)
        .where(col(ReminderSent.sent_at).is_(None))
    )
