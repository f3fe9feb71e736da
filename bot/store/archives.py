"""A lost deal's channel archive: recorded with the stage change, then claimed by a
worker node for each Slack call (the day-before notice, the archive, the unarchive).

A claim is free when nobody holds it or `claims.lease_free` says so (its lease ran out,
or its node went silent). Every write that ends a claim is fenced by its owner and the
loss's `round`, so a worker that lost its claim, or a deal lost again meanwhile, never
records the wrong loss.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, or_, update
from sqlmodel import Session, col, select

from bot.models import ArchiveState, ChannelArchive, Introduction
from bot.store.claims import lease_free

NOTICE, ARCHIVE, UNARCHIVE, CHECK = "notice", "archive", "unarchive", "check"
CHECK_EVERY = timedelta(minutes=15)  # BY_HAND: how often Slack is asked whether it is back
ERROR_LIMIT = 200  # ChannelArchive.last_error's column length


def archive_of(session: Session, *, intro_id: int | None) -> ChannelArchive | None:
    return session.exec(
        select(ChannelArchive).where(ChannelArchive.introduction_id == intro_id)
    ).first()


def record_lost(session: Session, *, intro_id: int, now: datetime) -> None:
    """The deal was lost: its channel is to be archived (again, after a reopen)."""
    row = archive_of(session, intro_id=intro_id)
    if row is None:
        session.add(ChannelArchive(introduction_id=intro_id, lost_at=now))
    elif row.state == ArchiveState.REOPENED:
        row.state = ArchiveState.ARCHIVED  # not unarchived yet: it simply stays archived
    elif row.state in (ArchiveState.CANCELLED, ArchiveState.UNARCHIVED, ArchiveState.BY_HAND):
        row.state, row.round, row.lost_at = ArchiveState.LOST, row.round + 1, now
        row.notice_sent_at = row.archive_at = None
        row.last_error = None
    session.flush()


def record_reopened(session: Session, *, intro_id: int, now: datetime) -> None:
    """The deal came back: a pending archive is cancelled, a done one is to be undone."""
    row = archive_of(session, intro_id=intro_id)
    if row is None:
        return
    if row.state == ArchiveState.LOST:
        row.state = ArchiveState.CANCELLED
    elif row.state == ArchiveState.ARCHIVED:
        row.state = ArchiveState.REOPENED
    elif row.state == ArchiveState.FAILED:
        row.state = ArchiveState.CANCELLED
    else:
        return
    row.reopened_at = now
    session.flush()


def _free(now: datetime) -> ColumnElement[bool]:
    owner = col(ChannelArchive.lease_owner)
    expired = col(ChannelArchive.lease_until) < now
    return or_(owner.is_(None), lease_free(owner, expired=expired, now=now))


def _wants(action: str, *, now: datetime, notice_before: datetime | None) -> ColumnElement[bool]:
    """The row needs `action` now. `notice_before`: lost before it, the notice is due
    (None: archiving is off, only unarchives run)."""
    lost = col(ChannelArchive.state) == ArchiveState.LOST
    if action == UNARCHIVE:
        return col(ChannelArchive.state) == ArchiveState.REOPENED
    if action == CHECK:
        checked = col(ChannelArchive.checked_at)
        return and_(col(ChannelArchive.state) == ArchiveState.BY_HAND,
                    or_(checked.is_(None), checked <= now - CHECK_EVERY))  # fmt: skip
    if notice_before is None:
        return false()
    if action == NOTICE:
        has_channel = exists().where(
            col(Introduction.id) == col(ChannelArchive.introduction_id),
            col(Introduction.channel_id).is_not(None),
        )
        return and_(lost, col(ChannelArchive.notice_sent_at).is_(None),
                    col(ChannelArchive.lost_at) <= notice_before, has_channel)  # fmt: skip
    return and_(lost, col(ChannelArchive.archive_at) <= now)


def due(
    session: Session, *, now: datetime, notice_before: datetime | None, limit: int = 50
) -> list[tuple[int, str]]:
    """(row id, action) of what is due and free; cheap at each poll (the state index)."""
    found: list[tuple[int, str]] = []
    for action in (NOTICE, ARCHIVE, UNARCHIVE, CHECK):
        rows = session.exec(
            select(ChannelArchive.id)
            .where(_wants(action, now=now, notice_before=notice_before), _free(now))
            .order_by(col(ChannelArchive.id))
            .limit(limit)
        ).all()
        found += [(row_id, action) for row_id in rows if row_id is not None]
    return found


def claim(
    session: Session,
    *,
    archive_id: int,
    action: str,
    owner: str,
    now: datetime,
    lease_seconds: int,
    notice_before: datetime | None,
) -> ChannelArchive | None:
    """Take the row for `action` while it still wants it and is free; None when someone
    else did first or it no longer wants it. The caller commits before calling Slack."""
    taken = session.execute(
        update(ChannelArchive)
        .where(col(ChannelArchive.id) == archive_id)
        .where(_wants(action, now=now, notice_before=notice_before), _free(now))
        .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease_seconds))
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.get(ChannelArchive, archive_id, populate_existing=True)


def _settle(
    session: Session, *, row: ChannelArchive, owner: str, when: Any = None, **values: Any
) -> bool:
    """End the claim with `values`; False when the claim or the loss is no longer ours."""
    fence = [
        col(ChannelArchive.id) == row.id,
        col(ChannelArchive.lease_owner) == owner,
        col(ChannelArchive.round) == row.round,
    ]
    if when is not None:
        fence.append(when)
    done = session.execute(
        update(ChannelArchive).where(*fence).values(lease_owner=None, lease_until=None, **values)
    )
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def notice_sent(
    session: Session, *, row: ChannelArchive, owner: str, now: datetime, archive_at: datetime,
    error: str | None = None,
) -> bool:  # fmt: skip
    """The engineer and AE were told (or could not be): the archive follows at `archive_at`."""
    return _settle(session, row=row, owner=owner, notice_sent_at=now, archive_at=archive_at,
                   last_error=error and error[:ERROR_LIMIT])  # fmt: skip


def archived(
    session: Session, *, row: ChannelArchive, owner: str, now: datetime, error: str | None = None
) -> bool:
    """Slack archived it (or refused for good: FAILED). A deal that reopened while the
    call was under way gets its channel back: REOPENED, to be unarchived."""
    if error is not None:
        return _settle(session, row=row, owner=owner, state=ArchiveState.FAILED,
                       last_error=error[:ERROR_LIMIT])  # fmt: skip
    state = col(ChannelArchive.state)
    return _settle(
        session, row=row, owner=owner, when=state == ArchiveState.LOST,
        state=ArchiveState.ARCHIVED, archived_at=now,
    ) or _settle(
        session, row=row, owner=owner, when=state == ArchiveState.CANCELLED,
        state=ArchiveState.REOPENED, archived_at=now,
    )  # fmt: skip


def unarchived(
    session: Session, *, row: ChannelArchive, owner: str, now: datetime, by_hand: str | None
) -> bool:
    """Unarchived by the bot, or (`by_hand`: Slack's reason) left for people, who were told."""
    state = ArchiveState.BY_HAND if by_hand else ArchiveState.UNARCHIVED
    return _settle(
        session, row=row, owner=owner, when=col(ChannelArchive.state) == ArchiveState.REOPENED,
        state=state, unarchived_at=None if by_hand else now, checked_at=now, last_error=by_hand,
    )  # fmt: skip


def checked(
    session: Session, *, row: ChannelArchive, owner: str, now: datetime, back: bool
) -> bool:
    """Slack was asked: still archived (asked again after CHECK_EVERY), or back."""
    if not back:
        return _settle(session, row=row, owner=owner, checked_at=now)
    return _settle(
        session, row=row, owner=owner, when=col(ChannelArchive.state) == ArchiveState.BY_HAND,
        state=ArchiveState.UNARCHIVED, checked_at=now, unarchived_at=now,
    )  # fmt: skip


def release(session: Session, *, archive_id: int | None, owner: str) -> None:
    """Slack failed for now: the claim is free for the next poll."""
    session.execute(
        update(ChannelArchive)
        .where(col(ChannelArchive.id) == archive_id, col(ChannelArchive.lease_owner) == owner)
        .values(lease_owner=None, lease_until=None)
    )
