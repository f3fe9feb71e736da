"""CRM connectors' shared state: the poll cursor, and whether the CRM takes our credential.

Every process reads it (`/healthz` in the web process, `status` and the Home), the
worker that talks to the CRM writes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.models import Connector

OK = "ok"
FAILING = "failing"


def connector(session: Session, *, name: str, now: datetime) -> Connector:
    """The connector's row, created the first time it runs (its poll starts from then)."""
    row = session.get(Connector, name)
    if row is None:
        try:
            with session.begin_nested():
                row = Connector(name=name, since=now, enabled_at=now)
                session.add(row)
                session.flush()
        except IntegrityError:  # another process created it first
            row = session.get(Connector, name)
            assert row is not None
    return row


def record_ok(session: Session, *, name: str, now: datetime) -> bool:
    """The CRM answered; True when this ends a failure (log that once)."""
    row = connector(session, name=name, now=now)
    recovered = row.state != OK
    if recovered:
        row.state, row.reason, row.since = OK, None, now
    row.checked_at = now
    session.add(row)
    return recovered


def record_failure(session: Session, *, name: str, reason: str, now: datetime) -> bool:
    """The CRM refused our credential; True when this starts a failure (log that once)."""
    row = connector(session, name=name, now=now)
    started = row.state != FAILING
    if started:
        row.state, row.since = FAILING, now
    row.reason, row.checked_at = reason[:300], now
    session.add(row)
    return started


def states(session: Session) -> Sequence[Connector]:
    """Every connector that has run, by name (for /healthz, `status`, the admins' Home)."""
    return session.exec(select(Connector).order_by(col(Connector.name))).all()


def failing(session: Session) -> Sequence[Connector]:
    return session.exec(
        select(Connector).where(Connector.state == FAILING).order_by(col(Connector.name))
    ).all()


def set_cursor(session: Session, *, name: str, cursor: str, now: datetime) -> None:
    """Move the poll's high-water mark; only forward, whoever polls."""
    row = connector(session, name=name, now=now)
    row.cursor = cursor
    session.add(row)


def poll_now(session: Session, *, name: str, now: datetime) -> None:
    """Make the connector's next poll due at once (a CRM's "something changed")."""
    connector(session, name=name, now=now)
    session.flush()
    session.execute(
        update(Connector)
        .where(col(Connector.name) == name)
        .values(polled_at=None)
        .execution_options(synchronize_session=False)
    )


def claim_poll(session: Session, *, name: str, now: datetime, every_seconds: float) -> bool:
    """True for the one caller, across processes, whose poll is due: a conditional
    UPDATE of `polled_at`, so two workers asking at once make one poll."""
    connector(session, name=name, now=now)
    session.flush()
    due = now - timedelta(seconds=every_seconds)
    result = session.execute(
        update(Connector)
        .where(
            col(Connector.name) == name,
            or_(col(Connector.polled_at).is_(None), col(Connector.polled_at) <= due),
        )
        .values(polled_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
