"""Fixtures: a fresh FakeSlack per test and a real slack_sdk client pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from bot.emulator import FakeSlack

BOT_TOKEN = "xoxb-test"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(bot_token=BOT_TOKEN) as server:
        server.add_user(
            "U_ENG",
            name="erin",
            real_name="Erin Engineer",
            email="erin@ours.example",
            tz="Europe/Berlin",
            title="Support Engineer",
        )
        server.add_user("U_AE", name="alex", real_name="Alex Account", email="alex@ours.example")
        yield server


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    """No retry handlers: tests see every 429, 500 and dropped connection as it is."""
    return WebClient(token=BOT_TOKEN, base_url=fake.url, retry_handlers=[], timeout=5)


@pytest.fixture
def channel_id(client: WebClient) -> str:
    """A private care channel the bot created (so it is a member)."""
    return client.conversations_create(name="care-acme-corp", is_private=True)["channel"]["id"]
