"""`GET /healthz`: 200 only when the database answers at the code's schema; 503 with the
reason otherwise; it also says when a worker last ran and each CRM connector's state."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.db import head_revision, session_scope
from bot.store import connectors, nodes
from tests.conftest import start_bot, stop_bot
from tests.databases import down_to, needs_postgres, unmigrated_postgres, up_to
from tests.processes import free_port


def get_health(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=15) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def health_of(settings, fake) -> tuple[int, dict[str, Any]]:
    """The web process alone (no worker), as the Procfile's `web` runs."""
    bot = start_bot(settings, fake, with_worker=False)
    try:
        return get_health(bot.url)
    finally:
        stop_bot(bot)


def test_healthy_says_the_worker_and_connectors(settings, fake):
    bot = start_bot(settings, fake, with_worker=False)
    try:
        assert get_health(bot.url) == (
            200, {"ok": True, "db": "ok", "connectors": [],
                  "worker": {"last_heartbeat": None, "seconds_ago": None}},
        )  # fmt: skip
        beat_at = datetime.now(UTC) - timedelta(seconds=30)
        with session_scope(bot.engine) as session:
            nodes.beat(session, node_id="host-1:42", host="host-1", pid=42, now=beat_at)
            connectors.record_ok(session, name="salesforce", now=beat_at)
            connectors.record_failure(session, name="hubspot", reason="401: token expired",
                                      now=beat_at)  # fmt: skip
        status, body = get_health(bot.url)
    finally:
        stop_bot(bot)
    assert status == 200 and body["ok"] is True  # a refused CRM token: Slack still works
    assert datetime.fromisoformat(body["worker"]["last_heartbeat"]) == beat_at
    assert 29 < body["worker"]["seconds_ago"] < 90
    assert body["connectors"] == [
        {"name": "hubspot", "state": "failing", "reason": "401: token expired",
         "since": beat_at.isoformat()},
        {"name": "salesforce", "state": "ok", "reason": None, "since": beat_at.isoformat()},
    ]  # fmt: skip


def test_a_schema_behind_the_code_is_503_run_migrate(settings, fake):
    """SQLite and PostgreSQL: the database answers, but not with the code's tables (SQLite
    is migrated at start, so it goes back a migration under the running server)."""
    bot = start_bot(settings, fake, with_worker=False)
    try:
        down_to(settings.database_url, "0003")
        assert get_health(bot.url) == (503, {"ok": False, "db": "behind: run careintro migrate"})
        up_to(settings.database_url, head_revision())
        assert get_health(bot.url)[0] == 200
    finally:
        stop_bot(bot)
        up_to(settings.database_url, head_revision())


@needs_postgres
def test_an_unmigrated_postgres_is_503_run_migrate(settings, fake):
    with unmigrated_postgres() as url:
        answer = health_of(replace(settings, database_url=url), fake)
    assert answer == (503, {"ok": False, "db": "behind: run careintro migrate"})


def test_a_database_that_does_not_answer_is_503_unreachable(settings, fake):
    gone = replace(settings, database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/x")
    assert health_of(gone, fake) == (503, {"ok": False, "db": "unreachable"})
