"""The engine, sessions and migrations."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, event, inspect, text
from sqlmodel import Session, create_engine

from bot.config import database_url

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_POOL = 16  # >= the HTTP server's threads + worker threads: none opens its own


def make_engine(url: str) -> Engine:
    """One engine per process; SQLite gets WAL and a busy timeout so threads can share it."""
    url = database_url(url)
    if url.startswith("sqlite"):
        # A connection per server/worker thread stays open: opening one (and its pragmas)
        # per request, beyond a small pool, cost more than the query it served.
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=SQLITE_POOL,
            max_overflow=SQLITE_POOL,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            # In WAL mode, NORMAL loses no commit when the app crashes (only on power loss
            # or an OS crash), and spares an fsync per commit. A step lost that way is run
            # again in resumed mode, which checks Slack first: still nothing repeated.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


@contextmanager
def session_scope(bind: Engine | Connection) -> Iterator[Session]:
    """One unit of work: committed when the block ends, rolled back when it raises."""
    with Session(bind, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # imported only to migrate: ~10 MiB a process saves

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url(url).replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    """Bring the schema to the newest migration (what the Procfile's `release` runs)."""
    from alembic import command

    command.upgrade(alembic_config(url), "head")


_REVISION = re.compile(r'^(down_)?revision: .*= "?([0-9A-Za-z_]+)"?$', re.M)


def head_revision() -> str:
    """The newest migration, read from the files: no alembic import needed for it."""
    revisions, parents = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for down, value in _REVISION.findall(path.read_text(encoding="utf-8")):
            (parents if down else revisions).add(value)
    [head] = revisions - parents
    return head


def migrate_if_needed(url: str) -> bool:
    """`migrate`, unless the schema is already at the newest migration.

    Start-up on SQLite calls this: alembic (~10 MiB resident) is only imported when
    there is something to do, so a process started on an up-to-date database never
    holds it (bench/README.md, memory).
    """
    engine = create_engine(database_url(url))
    try:
        with engine.connect() as connection:
            if inspect(connection).has_table("alembic_version"):
                found = connection.execute(text("SELECT version_num FROM alembic_version"))
                if [row[0] for row in found] == [head_revision()]:
                    return False
    finally:
        engine.dispose()
    migrate(url)
    return True


def migrate_if_sqlite(url: str) -> bool:
    """Start-up's migration: the embedded SQLite default needs no set-up step, so it is
    brought up to date here; PostgreSQL migrates in the Procfile's `release` instead."""
    return url.startswith("sqlite") and migrate_if_needed(url)


def ping(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:
        return False
    return True
