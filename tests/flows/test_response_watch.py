"""The response watch through signed events: clocks, alerts, restarts, classification."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from slack_sdk import WebClient
from sqlmodel import Session, select

from bot.flows.message_sides import OurSide, Side, classify
from bot.models import Introduction, ResponseClock
from tests.conftest import TEAM, TOKEN, RunningBot, start_bot, stop_bot
from tests.flows.test_events import (
    deliver,
    introduce,
    later,
    our_message,
    prospect_message,
)


def from_now() -> time_machine.travel:
    """A controllable clock that starts now: Slack's ts only ever go forward."""
    return time_machine.travel(datetime.now(UTC), tick=True)


def alerts(fake, user_id: str) -> list[dict]:
    return [
        m
        for m in fake.dm_messages(user_id)
        if (m.get("metadata") or {}).get("event_type") == "careintro_response_alert"
    ]


def wait_alerts(fake, user_id: str, count: int, timeout: float = 10) -> list[dict]:
    """The worker's own thread may hold the claim and still be sending: wait for it."""
    deadline = time.monotonic() + timeout
    while len(found := alerts(fake, user_id)) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return found


def ask(fake, channel: str) -> str:
    """The prospect's message must exist in Slack for its permalink: post it, take its ts."""
    return WebClient(token=TOKEN, base_url=fake.url).chat_postMessage(
        channel=channel, text="How do we rotate API keys?"
    )["ts"]


def settle(bot: RunningBot) -> None:
    """One full worker pass now, besides the worker's own thread (claims keep it single).

    The test's clock jumps minutes at once; the worker's heartbeat (every 2 s) would have
    beaten all along, so it beats first: otherwise the jump makes the live worker look
    silent for a moment and its own claims look free."""
    assert bot.runtime.worker is not None
    bot.runtime.worker.heartbeat.beat_once()
    bot.runtime.worker.run_once()


def clocks(bot: RunningBot) -> list[ResponseClock]:
    with Session(bot.engine) as session:
        return list(session.exec(select(ResponseClock).order_by(ResponseClock.id)))


def test_unanswered_question_dms_engineer_at_30_and_backup_at_60_once(bot, fake):
    channel = introduce(bot)
    with from_now() as clock:
        ts = ask(fake, channel)
        deliver(bot, prospect_message(channel, ts))
        [started] = clocks(bot)
        assert started.answered_at is None and started.asker_user_id == "U_EXT1"

        clock.shift(timedelta(minutes=29))
        settle(bot)
        assert alerts(fake, "U_ENG") == [] and alerts(fake, "U_BACKUP") == []

        clock.shift(timedelta(minutes=2))
        settle(bot)
        [alert] = wait_alerts(fake, "U_ENG", 1)
        assert "waited 31 minutes" in alert["text"] or "waited 31 minutes" in str(alert["blocks"])
        assert f"https://fake.slack.example/archives/{channel}/p" in json.dumps(alert["blocks"])
        assert alerts(fake, "U_BACKUP") == []
        _, status = bot.command("status D-1")
        assert "*Questions* 1 waiting (oldest 31 min)" in json.dumps(
            status["blocks"], ensure_ascii=False
        )

        clock.shift(timedelta(minutes=30))
        settle(bot)
        clock.shift(timedelta(minutes=60))
        settle(bot)
        assert len(alerts(fake, "U_ENG")) == 1
        [backup] = wait_alerts(fake, "U_BACKUP", 1)
        settle(bot)
        assert "Please cover" in backup["text"]
        assert "U_ENG" in json.dumps(backup["blocks"])
        assert len(alerts(fake, "U_ENG")) == 1 and len(alerts(fake, "U_BACKUP")) == 1


def test_reply_at_10_minutes_records_it_and_nobody_is_dmed(bot, fake):
    channel = introduce(bot)
    with from_now() as clock:
        ts = ask(fake, channel)
        deliver(bot, prospect_message(channel, ts))
        clock.shift(timedelta(minutes=10))
        deliver(bot, our_message(channel, later(ts, 600), user="U_AE"))
        clock.shift(timedelta(minutes=90))
        settle(bot)
    [answered] = clocks(bot)
    assert answered.response_seconds == 600 and answered.answered_by == "U_AE"
    assert alerts(fake, "U_ENG") == [] and alerts(fake, "U_BACKUP") == []
    with Session(bot.engine) as session:
        intro = session.exec(select(Introduction)).one()
    assert intro.last_prospect_text == "How do we rotate API keys?"
    assert intro.last_prospect_message_at == datetime.fromtimestamp(float(ts), UTC)
    _, status = bot.command("status D-1")
    assert "0 waiting · 1 answered · first response median 10 min" in json.dumps(
        status["blocks"], ensure_ascii=False
    )


def test_bots_joins_and_edits_do_not_stop_a_clock_but_our_thread_reply_does(bot, fake):
    channel = introduce(bot)
    ts = "1772442000.000100"
    deliver(bot, prospect_message(channel, ts))
    not_replies = [
        {"type": "message", "subtype": "bot_message", "bot_id": "B_OTHER", "text": "beep"},
        {"type": "message", "user": "U_CAREBOT", "bot_id": "B_BOT", "team": TEAM, "text": "hi"},
        {"type": "message", "subtype": "channel_join", "user": "U_ENG2", "team": TEAM},
        {"type": "message", "subtype": "message_changed", "message": {"user": "U_ENG"}},
    ]
    for n, event in enumerate(not_replies, start=1):
        deliver(bot, {"channel": channel, "ts": later(ts, n), **event})
    deliver(bot, {"type": "member_joined_channel", "user": "U_ENG2", "channel": channel})
    [still] = clocks(bot)
    assert still.answered_at is None

    deliver(bot, prospect_message(channel, later(ts, 30), "anyone?"))
    assert len(clocks(bot)) == 1  # a second question while one waits: the same clock

    deliver(bot, our_message(channel, later(ts, 300), thread_ts=ts))
    [answered] = clocks(bot)
    assert answered.response_seconds == 300 and answered.answered_by == "U_ENG"

    deliver(
        bot,
        prospect_message(
            channel, later(ts, 400), "thanks, one more", thread_ts=ts, subtype="thread_broadcast"
        ),
    )
    assert [c.answered_at is None for c in clocks(bot)] == [False, True]


def test_a_listed_contact_on_our_workspace_counts_as_the_prospect(bot, fake):
    fake.add_user("U_GUEST", name="cto", email="cto@acme.example")
    channel = introduce(bot, "cto@acme.example")
    deliver(bot, our_message(channel, "1772442000.000100", user="U_GUEST"))
    [clock] = clocks(bot)
    assert clock.asker_user_id == "U_GUEST" and clock.answered_at is None
    assert "U_ENG" in fake.views_published  # the engineer's home shows the waiting question


@pytest.mark.parametrize(
    ("event", "side"),
    [
        ({"user": "U1", "user_team": "T_EXT"}, Side.PROSPECT),
        ({"user": "U1", "team": "T_EXT"}, Side.PROSPECT),
        ({"user": "U1", "user_team": TEAM}, Side.OURS),
        ({"user": "U1", "user_team": TEAM, "subtype": "thread_broadcast"}, Side.OURS),
        ({"user": "U1", "user_team": "T_EXT", "subtype": "file_share"}, Side.PROSPECT),
        ({"user": "U1", "bot_id": "B1", "user_team": "T_EXT"}, Side.BOT),
        ({"subtype": "bot_message", "bot_id": "B1"}, Side.BOT),
        ({"user": "U1", "subtype": "channel_join", "user_team": "T_EXT"}, Side.OTHER),
        ({"subtype": "message_changed", "message": {"user": "U1"}}, Side.OTHER),
        ({"subtype": "message_deleted"}, Side.OTHER),
    ],
)
def test_classify(event, side):
    assert classify(event, ours=OurSide(TEAM), user=None, contact_emails=frozenset()) == side


def test_restart_between_29_and_31_minutes_dms_the_engineer_exactly_once(settings, fake):
    first = start_bot(settings, fake)
    try:
        channel = introduce(first)
        with from_now() as clock:
            ts = ask(fake, channel)
            deliver(first, prospect_message(channel, ts))
            clock.shift(timedelta(minutes=29))
            settle(first)
            stop_bot(first)
            first = None
            clock.shift(timedelta(minutes=2))
            for _ in range(2):  # and once more after the DM: still one
                second = start_bot(settings, fake)
                try:
                    settle(second)
                    wait_alerts(fake, "U_ENG", 1)
                finally:
                    stop_bot(second)
        assert len(alerts(fake, "U_ENG")) == 1
        assert alerts(fake, "U_BACKUP") == []
    finally:
        if first is not None:
            stop_bot(first)
