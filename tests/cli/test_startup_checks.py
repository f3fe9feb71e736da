"""Start-up stops with one line naming what to fix, exit code 2, never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.config import database_url
from bot.db import head_revision, schema_revision
from tests.conftest import PG_URL, SECRET, TOKEN
from tests.databases import needs_postgres, unmigrated_postgres, up_to
from tests.processes import free_port


def clean_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CARE", "DATABASE"))}
    return env | {"CAREINTRO_ENV_FILE": os.devnull, "LOG_LEVEL": "INFO"} | overrides


def start(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], env=clean_env(**env),
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The process stopped at start with exit code 2 and a single line on stderr."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("careintro: "), result.stderr
    return lines[0]


def sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/careintro.db"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DATABASE_URL": "garbage"}, "DATABASE_URL is not a database URL"),
        ({"DATABASE_URL": "notaurl://"}, "DATABASE_URL must be a PostgreSQL or SQLite URL"),
        ({"DATABASE_URL": "postgres://u:hunter22@h:99999/d"}, "DATABASE_URL has port 99999"),
        ({"SLACK_API_URL": "notaurl"}, "SLACK_API_URL must be an http(s) URL"),
        ({"CARE_ADMINS": "@erin,alice"}, "CARE_ADMINS must list Slack user ids"),
    ],
)
@pytest.mark.parametrize("command", ["serve", "worker"])
def test_malformed_settings_stop_with_one_line(command, env, expected, tmp_path):
    env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET} | env
    line = one_line(start(command, **{"DATABASE_URL": sqlite(tmp_path)} | env))
    assert expected in line and "hunter22" not in line


def test_care_admins_takes_user_ids():
    from bot.config import Settings

    settings = Settings.from_env({"CARE_ADMINS": "U012AB3CD, W0456"})
    assert settings.admins == {"U012AB3CD", "W0456"}


def test_a_database_nobody_listens_on_stops_with_one_line(tmp_path):
    """A wrong port (no PostgreSQL needed: nothing listens there)."""
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/careintro"
    line = one_line(start("worker", DATABASE_URL=url, SLACK_BOT_TOKEN=TOKEN))
    assert "cannot open the database of DATABASE_URL" in line and "host and port" in line


def test_a_sqlite_file_in_a_missing_folder_stops_with_one_line(tmp_path):
    line = one_line(start("migrate", DATABASE_URL=f"sqlite:///{tmp_path}/nowhere/x.db"))
    assert "unable to open database file" in line


@needs_postgres
def test_a_missing_database_stops_with_one_line():
    url = database_url(PG_URL).rsplit("/", 1)[0] + f"/careintro_missing_{uuid.uuid4().hex[:8]}"
    line = one_line(start("worker", DATABASE_URL=url, SLACK_BOT_TOKEN=TOKEN))
    assert "does not exist" in line and "create that database" in line


@pytest.mark.parametrize("revision", [None, "0003"])
@pytest.mark.parametrize("command", ["serve", "worker"])
@needs_postgres
def test_a_postgres_schema_behind_the_code_says_run_migrate(command, revision):
    with unmigrated_postgres() as url:
        if revision:
            up_to(url, revision)
        env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET}
        line = one_line(start(command, DATABASE_URL=url, **env))
        assert "run `careintro migrate`" in line and f"the code needs {head_revision()}" in line
        assert schema_revision(url) == revision  # nothing migrated behind the operator's back


def test_a_schema_the_code_does_not_know_stops_with_one_line(tmp_path, db_url):
    def set_revision(revision: str) -> None:
        engine = create_engine(db_url)
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
        engine.dispose()

    set_revision("9999")
    try:
        line = one_line(start("worker", DATABASE_URL=db_url, SLACK_BOT_TOKEN=TOKEN))
    finally:
        set_revision(head_revision())  # PostgreSQL's database is the whole run's
    assert "at migration 9999, which this code does not have" in line


def wait_for(log: Path, process: subprocess.Popen, needle: str, count: int = 1) -> str:
    deadline = time.monotonic() + 60
    while log.read_text().count(needle) < count:
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
    return log.read_text()


def test_sqlite_behind_is_migrated_and_unreachable_slack_is_one_warning(tmp_path):
    """SQLite is brought to the code's schema at start, as ever; Slack not answering
    auth.test is one warning and the worker goes on."""
    url = up_to(sqlite(tmp_path), "0003")
    env = clean_env(DATABASE_URL=url, SLACK_BOT_TOKEN=TOKEN, CARE_WORKER_THREADS="2",
                    SLACK_API_URL=f"http://127.0.0.1:{free_port()}/api/")  # fmt: skip
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        worker = subprocess.Popen([sys.executable, "-m", "bot", "worker"], env=env,
                                  stdout=out, stderr=out)  # fmt: skip
    try:
        output = wait_for(log, worker, " started", count=2)
        warnings = [line for line in output.splitlines() if "auth.test" in line]
        assert len(warnings) == 1 and " WARNING " in warnings[0] and "going on" in warnings[0]
        assert "Traceback" not in output
        assert schema_revision(url) == head_revision()
    finally:
        worker.terminate()
        worker.wait(timeout=30)


@pytest.mark.parametrize("error", ["invalid_auth", "not_authed", "token_revoked",
                                   "account_inactive"])  # fmt: skip
@pytest.mark.parametrize("command", ["serve", "worker"])
def test_a_refused_token_stops_with_one_line_naming_it(command, error, fake, tmp_path):
    fake.fail_next("auth.test", error)
    env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.url}
    line = one_line(start(command, DATABASE_URL=sqlite(tmp_path), **env))
    assert line.startswith("careintro: SLACK_BOT_TOKEN was refused by Slack") and error in line
    assert len(fake.calls_to("auth.test")) == 1


def test_a_wrong_token_is_refused_by_the_emulator_too(fake, tmp_path):
    env = {"SLACK_BOT_TOKEN": "xoxb-wrong", "SLACK_API_URL": fake.url}
    line = one_line(start("worker", DATABASE_URL=sqlite(tmp_path), **env))
    assert "SLACK_BOT_TOKEN was refused by Slack (invalid_auth)" in line


def test_a_port_in_use_stops_before_any_worker_thread(fake, tmp_path):
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))  # noqa: S104 - where `serve` listens
        taken.listen()
        port = taken.getsockname()[1]
        env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.url}
        result = start("serve", "--port", str(port), DATABASE_URL=sqlite(tmp_path), **env)
    line = one_line(result)  # the worker threads log " started": none did
    assert line == f"careintro: port {port} is already in use: stop what listens there, " \
        "or set another with PORT or --port"  # fmt: skip


def test_an_app_token_slack_refuses_stops_with_one_line(fake, tmp_path):
    """apps.connections.open refuses the token (not this app's): nothing starts."""
    env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_APP_TOKEN": "xapp-1-test", "SLACK_API_URL": fake.url}
    line = one_line(start("serve", "--socket", DATABASE_URL=sqlite(tmp_path), **env))
    assert "Socket Mode could not connect: apps.connections.open answered invalid_auth" in line
    assert "SLACK_APP_TOKEN" in line
    assert [c.error for c in fake.calls if c.method == "apps.connections.open"] == ["invalid_auth"]
    assert fake.socket_connections_opened == 0


def test_socket_mode_still_needs_its_http_port(fake, tmp_path):
    """Socket Mode serves /healthz and the CRM webhooks on PORT: a port in use stops it,
    before Socket Mode is opened or any worker thread starts."""
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))  # noqa: S104 - where `serve` listens
        taken.listen()
        port = taken.getsockname()[1]
        env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_APP_TOKEN": fake.app_token,
               "SLACK_API_URL": fake.url, "PORT": str(port)}  # fmt: skip
        result = start("serve", "--socket", DATABASE_URL=sqlite(tmp_path), **env)
    assert one_line(result).startswith(f"careintro: port {port} is already in use")
    assert fake.calls_to("apps.connections.open") == []
