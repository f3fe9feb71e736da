"""Every request to /slack/events must carry Slack's signature, fresh."""

from __future__ import annotations

import time

from sqlmodel import Session, select

from bot.models import Deal
from bot.slack.requests import post, signed_headers, slash_command_body

NOW = "now D-1 Acme Corp <@U_ENG> cto@acme.example"


def assert_nothing_changed(bot, fake):
    with Session(bot.engine) as session:
        assert session.exec(select(Deal)).all() == []
    assert fake.calls == []


def test_unsigned_request_is_refused(bot, fake):
    body = slash_command_body(NOW, user_id="U_AE")
    status, _ = post(
        f"{bot.url}/slack/events", body, {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status == 401
    assert_nothing_changed(bot, fake)


def test_forged_signature_is_refused(bot, fake):
    status, _ = bot.command(NOW, secret="not-the-signing-secret")
    assert status == 401
    assert_nothing_changed(bot, fake)


def test_six_minute_old_request_is_refused(bot, fake):
    status, _ = bot.command(NOW, timestamp=int(time.time()) - 6 * 60)
    assert status == 401
    assert_nothing_changed(bot, fake)


def test_tampered_body_is_refused(bot, fake):
    body = slash_command_body("help", user_id="U_AE")
    headers = signed_headers("test-signing-secret", body)
    status, _ = post(f"{bot.url}/slack/events", body.replace("help", "now+D-1+Acme"), headers)
    assert status == 401
    assert_nothing_changed(bot, fake)


def test_healthz_reports_the_database(bot):
    import json
    import urllib.request

    with urllib.request.urlopen(f"{bot.url}/healthz") as response:
        assert response.status == 200
        body = json.loads(response.read())
    assert (body["ok"], body["db"]) == (True, "ok")  # the rest: tests/test_healthz.py
