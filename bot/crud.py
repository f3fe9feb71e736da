"""Queries and writes, keyword-only with the session first. No Slack calls here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Row, Table, Update, bindparam, func, union, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from bot.models import (
    CareMember,
    Contact,
    Deal,
    Introduction,
    IntroductionStep,
    IntroStatus,
    InviteState,
    utcnow,
)

OPEN_STATUSES = (IntroStatus.PENDING, IntroStatus.RUNNING, IntroStatus.DONE)


def update_row(
    session: Session,
    model: type[SQLModel],
    row_id: int | None,
    /,
    *,
    where: Mapping[str, Any] | None = None,
    **values: Any,
) -> int:
    """Set `values` on the row with this id and, with `where`, only while those columns
    hold those values (None: IS NULL); returns how many rows changed (0 or 1), so a
    claim or a fenced write knows whether it won.

    A prebuilt Core statement on the session's connection: built through the ORM, each
    UPDATE cost its building, cache key and bulk-update evaluation, more than running it
    (bench/README.md, bulk introductions). Objects already loaded in the session are not
    refreshed: read after writing.
    """
    where = where or {}
    match = tuple((name, value is None) for name, value in where.items())
    statement = _update_row(model.__table__, tuple(values), match)  # type: ignore[attr-defined]
    params: dict[str, Any] = {"w_id": row_id}
    params |= {f"w_{name}": value for name, value in where.items() if value is not None}
    params |= {f"v_{name}": value for name, value in values.items()}
    return int(session.connection().execute(statement, params).rowcount)  # type: ignore[attr-defined]


@cache
def _update_row(
    table: Table, columns: tuple[str, ...], match: tuple[tuple[str, bool], ...]
) -> Update:
    conditions = [table.c.id == bindparam("w_id")]
    conditions += [
        table.c[name].is_(None) if null else table.c[name] == bindparam(f"w_{name}")
        for name, null in match
    ]
    return update(table).where(*conditions).values({c: bindparam(f"v_{c}") for c in columns})


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


def add_contacts(session: Session, *, deal: Deal, emails: Iterable[str]) -> list[Contact]:
    """Add the new addresses (already validated and normalised); known ones are kept."""
    known = {c.email for c in contacts_of(session, deal_id=deal.id)}
    added = []
    for email in emails:
        if email not in known:
            contact = Contact(deal_id=deal.id, email=email)
            session.add(contact)
            known.add(email)
            added.append(contact)
    session.flush()
    return added


def contacts_of(session: Session, *, deal_id: int | None) -> Sequence[Contact]:
    return session.exec(
        select(Contact).where(Contact.deal_id == deal_id).order_by(Contact.id)
    ).all()


def introduction_of(session: Session, *, deal_id: int | None) -> Introduction | None:
    return session.exec(select(Introduction).where(Introduction.deal_id == deal_id)).first()


def request_introduction(
    session: Session, *, deal: Deal, source: str, requested_by: str | None, late: bool = False
) -> tuple[Introduction, bool]:
    """The deal's one introduction, created if needed; a failed one is queued again.

    Returns (introduction, queued): queued is False when one is already under way or done.
    """
    intro = introduction_of(session, deal_id=deal.id)
    if intro is None:
        try:
            with session.begin_nested():
                intro = Introduction(
                    deal_id=deal.id, source=source, requested_by=requested_by, late=late
                )
                session.add(intro)
                session.flush()
            return intro, True
        except IntegrityError:
            intro = introduction_of(session, deal_id=deal.id)
            assert intro is not None
            return intro, False
    if intro.status in (IntroStatus.FAILED, IntroStatus.CANCELLED):
        requeue(session, intro=intro, requested_by=requested_by)
        return intro, True
    return intro, False


def requeue(session: Session, *, intro: Introduction, requested_by: str | None) -> None:
    """Try a failed introduction again from its first unfinished step."""
    intro.status = IntroStatus.PENDING
    intro.attempts = 0
    intro.last_error = None
    intro.next_attempt_at = None
    if requested_by:
        intro.requested_by = requested_by
    if not step_done(session, intro_id=intro.id, step="prepare"):
        intro.engineer_user_id = intro.backup_user_id = intro.ae_user_id = None
    session.add(intro)
    session.flush()


def steps_of(session: Session, *, intro_id: int | None) -> dict[str, IntroductionStep]:
    rows = session.exec(
        select(IntroductionStep).where(IntroductionStep.introduction_id == intro_id)
    )
    return {row.step: row for row in rows}


def step_done(session: Session, *, intro_id: int | None, step: str) -> bool:
    row = steps_of(session, intro_id=intro_id).get(step)
    return bool(row and row.done_at)


def claim_channel_name(session: Session, *, intro: Introduction, name: str) -> bool:
    """Reserve a channel name for this introduction; False when another one holds it."""
    if intro.channel_name == name:
        return True
    try:
        with session.begin_nested():
            update_row(session, Introduction, intro.id, channel_name=name)
    except IntegrityError:
        return False
    intro.channel_name = name
    return True


def channel_owned(session: Session, *, channel_id: str) -> bool:
    return (
        session.exec(select(Introduction.id).where(Introduction.channel_id == channel_id)).first()
        is not None
    )


def pending_invites(session: Session, *, deal_id: int | None) -> list[Contact]:
    return [c for c in contacts_of(session, deal_id=deal_id) if c.invite_state == InviteState.SENT]


# --- the care roster ---------------------------------------------------------------


def add_member(
    session: Session, *, user_id: str, backup_id: str | None, added_by: str | None
) -> tuple[CareMember, bool]:
    member = session.exec(select(CareMember).where(CareMember.user_id == user_id)).first()
    created = member is None
    if member is None:
        member = CareMember(user_id=user_id, added_by=added_by)
    member.backup_user_id = backup_id or member.backup_user_id
    member.active = True
    session.add(member)
    session.flush()
    return member, created


def remove_member(session: Session, *, user_id: str) -> bool:
    member = session.exec(select(CareMember).where(CareMember.user_id == user_id)).first()
    if member is None or not member.active:
        return False
    member.active = False
    session.add(member)
    session.flush()
    return True


def active_members(session: Session) -> Sequence[CareMember]:
    return session.exec(select(CareMember).where(CareMember.active).order_by(CareMember.id)).all()


def member(session: Session, *, user_id: str) -> CareMember | None:
    return session.exec(
        select(CareMember).where(CareMember.user_id == user_id, CareMember.active)
    ).first()


def open_introduction_counts(session: Session) -> dict[str, int]:
    """Open introductions per engineer, for picking the least loaded one."""
    rows = session.exec(
        select(Introduction.engineer_user_id, func.count())
        .where(col(Introduction.status).in_(OPEN_STATUSES))
        .group_by(Introduction.engineer_user_id)
    )
    return {user: count for user, count in rows if user}


# Built once: `status` is the command people run most, and answers before the ack.
_DEALS_FOR_USER = (
    select(  # the columns the list shows, not entities: no hydration, no identity map
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
    """Deals a person registered or works on, newest first, as the status list's rows
    (`intro_id` is None for a deal not introduced)."""
    params = {"user_id": user_id, "limit": limit}
    return session.connection().execute(_DEALS_FOR_USER, params).all()  # Core: no ORM layer
