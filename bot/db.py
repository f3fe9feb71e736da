"""The engine, sessions and migrations."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, event, inspect, text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, create_engine

from bot.config import database_url

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_POOL = 16  # >= the HTTP server's threads + worker threads: none opens its own
PG_CONNECT_TIMEOUT = 10  # seconds: a host that drops packets fails here, not after minutes


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
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10,
                         connect_args={"connect_timeout": PG_CONNECT_TIMEOUT})  # fmt: skip


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


def probe_engine(url: str) -> Engine:
    """A throwaway engine for one look at the database (start-up, `migrate`)."""
    url = database_url(url)
    if url.startswith("sqlite"):
        return create_engine(url)
    return create_engine(url, connect_args={"connect_timeout": PG_CONNECT_TIMEOUT})


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # imported only to migrate: ~10 MiB a process saves

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url(url).replace("%", "%%"))
    return config


@dataclass(frozen=True)
class Migration:
    """What `migrate` did: the revision before (None: a new database) and after."""

    before: str | None
    after: str | None

    @property
    def applied(self) -> bool:
        return self.before != self.after


def migrate(url: str) -> Migration:
    """Bring the schema to the newest migration (what the Procfile's `release` runs)."""
    from alembic import command

    before = schema_revision(url)
    command.upgrade(alembic_config(url), "head")
    return Migration(before=before, after=schema_revision(url))


_REVISION = re.compile(r'^(down_)?revision: .*= "?([0-9A-Za-z_]+)"?$', re.M)


@cache
def _revisions() -> tuple[frozenset[str], str]:
    """Every migration and the newest, read from the files: no alembic import needed."""
    revisions, parents = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for down, value in _REVISION.findall(path.read_text(encoding="utf-8")):
            (parents if down else revisions).add(value)
    [head] = revisions - parents
    return frozenset(revisions), head


def head_revision() -> str:
    """The newest migration, the one the code expects the database at."""
    return _revisions()[1]


def known_revision(revision: str) -> bool:
    return revision in _revisions()[0]


def read_revision(connection: Connection) -> str | None:
    """The database's migration (alembic_version), None when it has none yet."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def schema_revision(url: str) -> str | None:
    engine = probe_engine(url)
    try:
        with engine.connect() as connection:
            return read_revision(connection)
    finally:
        engine.dispose()


def migrate_if_needed(url: str) -> bool:
    """`migrate`, unless the schema is already at the newest migration.

    Start-up on SQLite calls this: alembic (~10 MiB resident) is only imported when
    there is something to do, so a process started on an up-to-date database never
    holds it (bench/README.md, memory).
    """
    if schema_revision(url) == head_revision():
        return False
    migrate(url)
    return True


def migrate_if_sqlite(url: str) -> bool:
    """Start-up's migration: the embedded SQLite default needs no set-up step, so it is
    brought up to date here; PostgreSQL migrates in the Procfile's `release` instead."""
    return url.startswith("sqlite") and migrate_if_needed(url)


def schema_state(engine: Engine) -> str:
    """For /healthz: "ok" (answers, at head), "unreachable", or what to do about the schema."""
    try:
        with engine.connect() as connection:
            revision = read_revision(connection)
    except (SQLAlchemyError, OSError):
        return "unreachable"
    if revision == head_revision():
        return "ok"
    if revision is None or known_revision(revision):
        return "behind: run careintro migrate"
    return f"unknown revision {revision}: deploy the code that has it"
