"""The app starts without reaching Slack: nothing is called at construction."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import replace

from tests.conftest import start_bot, stop_bot


def test_app_starts_and_serves_with_slack_unreachable(settings, fake):
    offline = replace(settings, slack_api_url="http://127.0.0.1:9/api/")  # nothing listens
    bot = start_bot(offline, fake)
    try:
        with urllib.request.urlopen(f"{bot.url}/healthz", timeout=5) as response:
            body = json.loads(response.read())
        assert (body["ok"], body["db"]) == (True, "ok")
        status, answer = bot.command("help")
        assert status == 200 and "introduce-care" in answer["text"]
    finally:
        stop_bot(bot)
    assert fake.calls == []
