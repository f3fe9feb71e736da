"""Settings: parsed once, and start-up stops with one line naming what to set."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bot.config import ConfigError, Settings


def test_defaults():
    settings = Settings.from_env({})
    assert settings.database_url == "sqlite:///careintro.db"
    assert "contractsent" in settings.preclose_stages
    assert settings.channel_private and not settings.auto_watch
    assert settings.archive_lost_days == 14


def test_archive_lost_days_zero_means_never_and_is_accepted():
    assert Settings.from_env({"CARE_ARCHIVE_LOST_DAYS": "0"}).archive_lost_days == 0
    assert Settings.from_env({"CARE_ARCHIVE_LOST_DAYS": " 30 "}).archive_lost_days == 30


def test_heroku_postgres_url_is_accepted():
    settings = Settings.from_env({"DATABASE_URL": "postgres://u:p@h:5432/d"})
    assert settings.database_url == "postgresql+psycopg://u:p@h:5432/d"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORT": "http"}, "PORT must be a whole number"),
        ({"CARE_AUTO_WATCH": "some"}, "CARE_AUTO_WATCH must be one of all, off"),
        ({"CARE_CHANNEL_NAME": "care-{deal}"}, "CARE_CHANNEL_NAME must contain {company}"),
        ({"CARE_REMINDER_TIME": "9am"}, "CARE_REMINDER_TIME must be HH:MM"),
        ({"CARE_CHANNEL_PRIVATE": "perhaps"}, "CARE_CHANNEL_PRIVATE must be true or false"),
        ({"CARE_WORKER_THREADS": "0"}, "CARE_WORKER_THREADS must be between 1 and 32"),
        ({"CARE_LEASE_SECONDS": "forever"}, "CARE_LEASE_SECONDS must be a whole number"),
        ({"CARE_ARCHIVE_LOST_DAYS": "-1"}, "CARE_ARCHIVE_LOST_DAYS must be between 0 and 3650"),
        ({"CARE_ARCHIVE_LOST_DAYS": "two weeks"}, "CARE_ARCHIVE_LOST_DAYS must be a whole number"),
        ({"CARE_ARCHIVE_LOST_DAYS": "1.5"}, "CARE_ARCHIVE_LOST_DAYS must be a whole number"),
    ],
)
def test_bad_values_are_named(env, message):
    with pytest.raises(ConfigError, match=message.replace("{", r"\{").replace("}", r"\}")):
        Settings.from_env(env)


def test_http_mode_needs_token_and_secret():
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN is not set"):
        Settings.from_env({}).require("http")
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET is not set"):
        Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1"}).require("http")
    with pytest.raises(ConfigError, match="placeholder"):
        Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-your-bot-token"}).require("worker")


def test_serve_without_a_token_stops_with_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CARE"))}
    env |= {"CAREINTRO_ENV_FILE": os.devnull, "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "careintro: SLACK_BOT_TOKEN is not set: set it in the environment or in .env"
    )
