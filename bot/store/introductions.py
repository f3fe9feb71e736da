"""Introductions: one per deal, their recorded steps, and the channel name they hold."""

from __future__ import annotations

from sqlalchemy import bindparam, func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.models import (
    Deal,
    Introduction,
    IntroductionStep,
    IntroStatus,
    Step,
    missing_for_introduction,
    utcnow,
)
from bot.store.rows import update_row

OPEN_STATUSES = (IntroStatus.PENDING, IntroStatus.RUNNING, IntroStatus.DONE)
STEP_DETAIL_LIMIT = 500  # IntroductionStep.detail's column length
ERROR_LIMIT = 500  # Introduction.last_error's column length

# The bookkeeping every step of a run does, built once and run as Core statements on the
# session's connection: the ORM's per-statement work (building, cache keys, bulk-update
# evaluation, unit of work) was most of a worker's CPU in the bulk benchmark
# (bench/README.md).
_INTRO_AND_DEAL = (
    select(Introduction, Deal)
    .join(Deal, col(Deal.id) == col(Introduction.deal_id))
    .where(col(Introduction.id) == bindparam("b_id"))
)
_START_STEP = {  # by dialect; RETURNING, as psycopg counts a skipped row in rowcount
    dialect: insert(IntroductionStep)
    .values(introduction_id=bindparam("b_id"), step=bindparam("b_step"),
            started_at=bindparam("b_at"))
    .on_conflict_do_nothing(index_elements=["introduction_id", "step"])
    .returning(IntroductionStep.id)
    for dialect, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}  # fmt: skip
_RECORD_DONE = (
    update(IntroductionStep)
    .where(col(IntroductionStep.introduction_id) == bindparam("b_id"))
    .where(col(IntroductionStep.step) == bindparam("b_step"))
    .where(col(IntroductionStep.done_at).is_(None))
    .values(done_at=bindparam("b_at"), detail=bindparam("b_detail"))
)


def introduction_of(session: Session, *, deal_id: int | None) -> Introduction | None:
    return session.exec(select(Introduction).where(Introduction.deal_id == deal_id)).first()


def request_introduction(
    session: Session, *, deal: Deal, source: str, requested_by: str | None, late: bool = False
) -> tuple[Introduction, bool]:
    """The deal's one introduction, created if needed; a failed one is queued again.

    A deal that lacks what an introduction needs (`missing_for_introduction`) gets it
    `waiting`: no worker claims it until the deal is complete and it is queued again.
    Returns (introduction, queued): queued is False when one is already under way or
    done, or waits.
    """
    status = IntroStatus.WAITING if missing_for_introduction(deal) else IntroStatus.PENDING
    intro = introduction_of(session, deal_id=deal.id)
    if intro is None:
        try:
            with session.begin_nested():
                intro = Introduction(
                    deal_id=deal.id,
                    source=source,
                    requested_by=requested_by,
                    late=late,
                    status=status,
                )
                session.add(intro)
                session.flush()
            return intro, status == IntroStatus.PENDING
        except IntegrityError:
            intro = introduction_of(session, deal_id=deal.id)
            assert intro is not None
            return intro, False
    if intro.status in (IntroStatus.FAILED, IntroStatus.CANCELLED, IntroStatus.WAITING):
        if status == IntroStatus.WAITING:
            intro.status = status
            session.add(intro)
            session.flush()
            return intro, False
        requeue(session, intro=intro, requested_by=requested_by)
        return intro, True
    return intro, False


def waiting_to_release(session: Session, *, deal_id: int | None) -> Introduction | None:
    """The deal's introduction when it waits for what the deal lacked."""
    intro = introduction_of(session, deal_id=deal_id)
    return intro if intro is not None and intro.status == IntroStatus.WAITING else None


def release_waiting(session: Session, *, intro: Introduction, late: bool) -> bool:
    """Queue a waiting introduction (fenced: one caller wins); False when it was not waiting."""
    values: dict[str, object] = {"status": IntroStatus.PENDING}
    if late:
        values["late"] = True
    won = update_row(session, Introduction, intro.id, where={"status": IntroStatus.WAITING},
                     **values)  # fmt: skip
    session.refresh(intro)
    return won == 1


def cancel_waiting(session: Session, *, deal_id: int | None) -> bool:
    """Cancel the deal's introduction if it waits (a lost deal); True when one was."""
    intro = waiting_to_release(session, deal_id=deal_id)
    if intro is None:
        return False
    cancelled = update_row(session, Introduction, intro.id, where={"status": IntroStatus.WAITING},
                           status=IntroStatus.CANCELLED)  # fmt: skip
    session.refresh(intro)
    return cancelled == 1


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


def open_introduction_counts(session: Session) -> dict[str, int]:
    """Open introductions per engineer, for picking the least loaded one."""
    rows = session.exec(
        select(Introduction.engineer_user_id, func.count())
        .where(col(Introduction.status).in_(OPEN_STATUSES))
        .group_by(Introduction.engineer_user_id)
    )
    return {user: count for user, count in rows if user}


def introduction_and_deal(session: Session, *, intro_id: int) -> tuple[Introduction, Deal]:
    """An introduction and its deal, in one prebuilt query (read before every step)."""
    intro, deal = session.exec(_INTRO_AND_DEAL, params={"b_id": intro_id}).one()
    return intro, deal


def start_step(session: Session, *, intro_id: int, step: Step) -> bool:
    """Record a step as started, before its Slack calls (a prebuilt INSERT); False when
    it was started already: a run that took the introduction over from one still going
    (its node taken for dead) finds the step begun after it read the steps."""
    connection = session.connection()
    started = connection.execute(
        _START_STEP[connection.dialect.name], {"b_id": intro_id, "b_step": step, "b_at": utcnow()}
    )
    return started.scalar_one_or_none() is not None


def record_step_done(session: Session, *, intro_id: int, step: Step, detail: str) -> None:
    """Record a started step as done, once (a prebuilt UPDATE); `detail` is cut to fit."""
    session.connection().execute(
        _RECORD_DONE,
        {
            "b_id": intro_id,
            "b_step": step,
            "b_at": utcnow(),
            "b_detail": detail[:STEP_DETAIL_LIMIT],
        },
    )
