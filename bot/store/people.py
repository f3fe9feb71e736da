"""People: a Slack user's own settings (weekly reminders on or off, their cached timezone)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from bot.models import Person


def set_reminders(session: Session, *, user_id: str, on: bool) -> None:
    """`/introduce-care reminders on|off`: a person met for the first time is created."""
    person = session.exec(select(Person).where(Person.user_id == user_id)).first()
    person = person or Person(user_id=user_id)
    person.reminders = on
    session.add(person)


def reminder_settings(session: Session) -> Sequence[Any]:
    """Everyone's (user_id, tz, tz_checked_at, reminders), in one statement: columns,
    not entities, because the reminder scan reads the whole table."""
    return session.execute(
        select(Person.user_id, Person.tz, Person.tz_checked_at, Person.reminders)
    ).all()


def cache_timezones(session: Session, *, found: Mapping[str, str | None], now: datetime) -> None:
    """Remember what Slack said each person's timezone is, in one upsert whatever their
    number; a person met for the first time gets reminders on. Both dialects we run
    on spell INSERT … ON CONFLICT the same way, but SQLAlchemy keeps it per dialect."""
    table = Person.__table__  # type: ignore[attr-defined]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(table)
    session.execute(
        insert.on_conflict_do_update(
            index_elements=[table.c.user_id],
            set_={"tz": insert.excluded.tz, "tz_checked_at": insert.excluded.tz_checked_at},
        ),
        [
            {"user_id": user, "tz": tz, "tz_checked_at": now, "reminders": True, "created_at": now}
            for user, tz in found.items()
        ],
    )
