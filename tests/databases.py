"""Databases in odd states, for the tests of start-up checks and /healthz."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text

from bot.config import database_url
from bot.db import alembic_config
from tests.conftest import PG_URL

needs_postgres = pytest.mark.skipif(not PG_URL, reason="TEST_DATABASE_URL not set")


@contextmanager
def unmigrated_postgres() -> Iterator[str]:
    """A PostgreSQL database of the test's own, never migrated; dropped at the end."""
    admin = create_engine(database_url(PG_URL), isolation_level="AUTOCOMMIT")
    name = f"careintro_unmigrated_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield database_url(PG_URL).rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def up_to(url: str, revision: str) -> str:
    from alembic import command

    command.upgrade(alembic_config(url), revision)
    return url


def down_to(url: str, revision: str) -> str:
    from alembic import command

    command.downgrade(alembic_config(url), revision)
    return url
