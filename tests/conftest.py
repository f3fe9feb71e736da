"""Shared fixtures: a migrated database per test, the Slack emulator, the running app."""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlmodel import Session, SQLModel, select

from bot.config import Settings, database_url
from bot.db import make_engine, migrate
from bot.emulator import FakeSlack
from bot.models import Introduction, IntroStatus
from bot.outages import SLACK
from bot.runtime import HttpServer, Runtime, build_runtime
from bot.slack.requests import interaction_body, post, signed_headers, slash_command_body

SECRET = "test-signing-secret"
TOKEN = "xoxb-test"
TEAM = "T_OURS"
PG_URL = os.environ.get("TEST_DATABASE_URL", "")
DB_KINDS = [
    "sqlite",
    pytest.param(
        "postgresql", marks=pytest.mark.skipif(not PG_URL, reason="TEST_DATABASE_URL not set")
    ),
]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of this run's own, migrated once, dropped at the end."""
    admin = create_engine(database_url(PG_URL), isolation_level="AUTOCOMMIT")
    name = f"careintro_test_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = database_url(PG_URL).rsplit("/", 1)[0] + f"/{name}"
    migrate(url)
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=DB_KINDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "careintro.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


PEOPLE = {
    "U_AE": dict(
        name="alex", real_name="Alex Account", email="alex@ours.example", title="Account Executive"
    ),
    "U_ENG": dict(
        name="erin", real_name="Erin Engineer", email="erin@ours.example", title="Support Engineer"
    ),
    "U_BACKUP": dict(
        name="sam", real_name="Sam Backup", email="sam@ours.example", title="Support Engineer"
    ),
    "U_ENG2": dict(
        name="kim", real_name="Kim Engineer", email="kim@ours.example", title="Support Engineer"
    ),
    "U_ROBOT": dict(name="robot", real_name="Some Bot", email="robot@ours.example", is_bot=True),
    "U_GONE": dict(name="gone", real_name="Gone Person", email="gone@ours.example", deleted=True),
}


@pytest.fixture(autouse=True)
def _slack_reachable() -> None:
    """Slack's outage is one per process (`bot.outages.SLACK`): each test starts with
    Slack reachable, whatever the test before it did to the emulator."""
    SLACK.reset()


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(
        team_id=TEAM, team_name="Ours Inc", bot_token=TOKEN, bot_user_id="U_CAREBOT"
    ) as fake:
        for user_id, profile in PEOPLE.items():
            fake.add_user(user_id, **profile)  # type: ignore[arg-type]
        yield fake


@pytest.fixture
def settings(fake: FakeSlack, db_url: str) -> Settings:
    return Settings(
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=fake.url,
        database_url=db_url,
        poll_seconds=0.05,
        lease_seconds=30,
    )


@dataclass
class RunningBot:
    """The real app on 127.0.0.1 with its worker, and ways to talk to it as Slack does."""

    runtime: Runtime
    server: HttpServer
    fake: FakeSlack

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    @property
    def engine(self) -> Engine:
        return self.runtime.engine

    def command(
        self,
        text: str,
        *,
        user: str = "U_AE",
        team: str = TEAM,
        secret: str = SECRET,
        timestamp: int | None = None,
    ) -> tuple[int, dict[str, Any]]:
        body = slash_command_body(text, user_id=user, team_id=team)
        status, raw = post(
            f"{self.url}/slack/events", body, signed_headers(secret, body, timestamp=timestamp)
        )
        try:
            return status, json.loads(raw) if raw else {}
        except ValueError:
            return status, {"raw": raw}

    def interact(self, payload: dict[str, Any]) -> tuple[int, str]:
        body = interaction_body(payload)
        return post(f"{self.url}/slack/events", body, signed_headers(SECRET, body))

    def wait_idle_for_one(self, timeout: float = 15) -> list[Introduction]:
        """Wait for an introduction to exist (a webhook is applied by the worker), then idle."""
        deadline = time.monotonic() + timeout
        while True:
            with Session(self.engine) as session:
                if session.exec(select(Introduction)).first() is not None:
                    return self.wait_idle(timeout)
            if time.monotonic() > deadline:
                raise AssertionError("no introduction was queued")
            time.sleep(0.05)

    def wait_idle(self, timeout: float = 15) -> list[Introduction]:
        """Wait until no introduction is pending or running; return them all."""
        deadline = time.monotonic() + timeout
        while True:
            with Session(self.engine) as session:
                intros = list(session.exec(select(Introduction).order_by(Introduction.id)))
            busy = [i for i in intros if i.status in (IntroStatus.PENDING, IntroStatus.RUNNING)]
            if not busy:
                return intros
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"introductions still busy: {[(i.id, i.status, i.last_error) for i in busy]}"
                )
            time.sleep(0.05)


def start_bot(settings: Settings, fake: FakeSlack, *, with_worker: bool = True) -> RunningBot:
    runtime = build_runtime(settings, with_worker=with_worker)
    if runtime.worker:
        runtime.worker.start()
    server = HttpServer(runtime, host="127.0.0.1", port=0, threads=4)
    server.start()
    return RunningBot(runtime=runtime, server=server, fake=fake)


def stop_bot(bot: RunningBot) -> None:
    if bot.runtime.worker:
        bot.runtime.worker.stop()
    bot.server.stop()
    bot.runtime.engine.dispose()


@pytest.fixture
def bot(settings: Settings, fake: FakeSlack) -> Iterator[RunningBot]:
    running = start_bot(settings, fake)
    yield running
    stop_bot(running)


@pytest.fixture
def make_bot(settings: Settings, fake: FakeSlack) -> Iterator[Any]:
    """For tests that need other settings: `make_bot(channel_private=False)`."""
    started: list[RunningBot] = []

    def make(**overrides: Any) -> RunningBot:
        running = start_bot(replace(settings, **overrides), fake)
        started.append(running)
        return running

    yield make
    for running in started:
        stop_bot(running)
