"""The command line: migrate and preview."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from bot.db import alembic_config, head_revision
from tests.conftest import TOKEN
from tests.factories import make_deal
from tests.processes import free_port, wait_until_healthy


def run(*args: str, db_url: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"DATABASE_URL": db_url, "CAREINTRO_ENV_FILE": os.devnull}
    return subprocess.run([sys.executable, "-m", "bot", *args], env=env, capture_output=True,
                          text=True, timeout=60)  # fmt: skip


def test_migrate_creates_the_schema(tmp_path):
    result = run("migrate", db_url=f"sqlite:///{tmp_path}/fresh.db")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"applied base (an empty database) → {head_revision()}"


def test_migrate_says_what_it_applied(db_url):
    """From 0003 it applies the rest; run again, nothing (SQLite and PostgreSQL)."""
    from alembic import command

    command.downgrade(alembic_config(db_url), "0003")
    result = run("migrate", db_url=db_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"applied 0003 → {head_revision()}"
    again = run("migrate", db_url=db_url)
    assert again.stdout.strip() == f"nothing to apply (at {head_revision()})", again.stderr


def test_preview_renders_a_sample_with_a_builder_link(tmp_path):
    result = run("preview", "welcome", db_url=f"sqlite:///{tmp_path}/x.db")
    assert result.returncode == 0, result.stderr
    assert "external/welcome.j2 (prospect-facing)" in result.stdout
    assert "Meet @Erin Engineer" in result.stdout
    assert "Block Kit Builder: https://app.slack.com/block-kit-builder/#" in result.stdout


def test_preview_renders_a_stored_deal(db_url, engine):
    make_deal(engine, "D-77", company="Stored & Co", notes="promised <b>")
    result = run("preview", "internal/brief.j2", "--deal", "D-77", db_url=db_url)
    assert result.returncode == 0, result.stderr
    assert "Hand-off brief: Stored & Co" in result.stdout and "promised <b>" in result.stdout


def test_preview_names_unknown_templates(tmp_path):
    result = run("preview", "nope", db_url=f"sqlite:///{tmp_path}/x.db")
    assert result.returncode != 0 and "no template 'nope'" in result.stderr


def test_migrations_match_the_models(engine):
    """The schema the migrations build is the one the models declare (indexes included),
    so a model change without its migration fails here, not in production."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_start_up_migrates_only_when_behind(tmp_path):
    """An up-to-date database is recognised without alembic; a new one is migrated."""
    from alembic.script import ScriptDirectory

    from bot.db import alembic_config, head_revision, migrate_if_needed

    url = f"sqlite:///{tmp_path}/new.db"
    assert head_revision() == ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert migrate_if_needed(url) is True
    assert migrate_if_needed(url) is False
    code = (
        "import sys; from bot.db import migrate_if_needed; "
        f"migrate_if_needed({url!r}); print('alembic' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_serve_refuses_a_thread_count_below_one(tmp_path):
    result = run("serve", "--threads", "0", db_url=f"sqlite:///{tmp_path}/x.db")
    assert result.returncode == 2
    assert "--threads: must be a whole number of at least 1, not '0'" in result.stderr


def test_the_worker_command_runs_every_worker_thread(tmp_path, fake):
    """`careintro worker` (the Procfile's worker) honours CARE_WORKER_THREADS."""
    env = os.environ | {
        "DATABASE_URL": f"sqlite:///{tmp_path}/w.db", "CAREINTRO_ENV_FILE": os.devnull,
        "SLACK_BOT_TOKEN": TOKEN, "SLACK_API_URL": fake.url, "CARE_WORKER_THREADS": "3",
        "LOG_LEVEL": "INFO",
    }  # fmt: skip
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        worker = subprocess.Popen([sys.executable, "-m", "bot", "worker"], env=env,
                                  stdout=out, stderr=out)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while log.read_text().count(" started") < 3:
            assert worker.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        started = [line for line in log.read_text().splitlines() if " started" in line]
        assert len({line.split("worker ")[-1] for line in started}) == 3  # three leases
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def test_serve_exits_cleanly_on_sigterm(tmp_path, fake):
    """A deploy's SIGTERM ends the web process with status 0, not killed mid-request."""
    port = free_port()
    env = os.environ | {
        "DATABASE_URL": f"sqlite:///{tmp_path}/s.db", "CAREINTRO_ENV_FILE": os.devnull,
        "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": "s3cret", "SLACK_API_URL": fake.url,
    }  # fmt: skip
    server = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--no-worker", "--port",
                               str(port)], env=env)  # fmt: skip
    try:
        wait_until_healthy(server, port)
        server.send_signal(signal.SIGTERM)
        assert server.wait(15) == 0
    finally:
        if server.poll() is None:
            server.kill()
