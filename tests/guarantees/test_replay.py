"""A correctly signed request captured and replayed after 5 minutes is refused."""

from __future__ import annotations

import time

import time_machine
from sqlmodel import Session, select

from bot.models import Deal
from bot.slack.requests import post, signed_headers, slash_command_body


def test_replayed_request_after_five_minutes_is_refused(bot, fake):
    body = slash_command_body("watch D-1 Acme <@U_ENG>", user_id="U_AE")
    headers = signed_headers("test-signing-secret", body)
    assert post(f"{bot.url}/slack/events", body, headers)[0] == 200
    with Session(bot.engine) as session:
        session.exec(select(Deal)).one().company = "Renamed"
        session.commit()

    with time_machine.travel(time.time() + 5 * 60 + 5, tick=True):
        status, _ = post(f"{bot.url}/slack/events", body, headers)
    assert status == 401
    with Session(bot.engine) as session:
        assert session.exec(select(Deal)).one().company == "Renamed"
