"""The Slack event inbox: signed Events API requests in, one stored and applied event out."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from sqlmodel import Session, select

from bot.models import Contact, InviteState, ResponseClock, SlackEvent
from bot.slack.requests import post, signed_headers
from tests.conftest import SECRET, TEAM, RunningBot
from tests.factories import make_member

EXT_TEAM = "T_EXT"


def event_body(event: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    """An `event_callback` envelope as Slack sends it to our workspace."""
    return {
        "token": "legacy-verification-token-unused",
        "team_id": TEAM,
        "api_app_id": "A_FAKEAPP",
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
        "authorizations": [
            {"team_id": TEAM, "user_id": "U_CAREBOT", "is_bot": True, "enterprise_id": None}
        ],
    }


def send_event(bot: RunningBot, body: dict[str, Any], *, retry: int = 0) -> int:
    """POST a signed Events API request; `retry` > 0 adds Slack's retry headers."""
    raw = json.dumps(body)
    headers = signed_headers(SECRET, raw, content_type="application/json")
    if retry:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
    status, _ = post(f"{bot.url}/slack/events", raw, headers)
    return status


def wait_applied(bot: RunningBot, *event_ids: str, timeout: float = 10) -> list[SlackEvent]:
    """Wait until the events are stored and applied by the worker."""
    deadline = time.monotonic() + timeout
    while True:
        with Session(bot.engine) as session:
            rows = session.exec(
                select(SlackEvent).where(SlackEvent.event_id.in_(event_ids))  # type: ignore[attr-defined]
            ).all()
        if len(rows) == len(set(event_ids)) and all(
            r.processed_at and r.error != "processing" for r in rows
        ):
            return list(rows)
        if time.monotonic() > deadline:
            raise AssertionError(f"events not applied: {[(r.event_id, r.error) for r in rows]}")
        time.sleep(0.02)


def deliver(bot: RunningBot, event: dict[str, Any], **kwargs: Any) -> SlackEvent:
    body = event_body(event, **kwargs)
    assert send_event(bot, body) == 200
    [row] = wait_applied(bot, body["event_id"])
    assert row.error is None, row.error
    return row


def introduce(bot: RunningBot, *contacts: str) -> str:
    """A finished introduction of D-1; returns its channel id."""
    make_member(bot.engine, "U_ENG", backup="U_BACKUP")
    emails = " ".join(contacts or ("cto@acme.example",))
    status, _ = bot.command(f"now D-1 Acme Corp <@U_ENG> {emails}")
    assert status == 200
    [intro] = bot.wait_idle()
    assert intro.channel_id, intro.last_error
    return intro.channel_id


def prospect_message(
    channel: str, ts: str, text: str = "How do we rotate API keys?", **extra: Any
) -> dict[str, Any]:
    return {
        "type": "message",
        "channel": channel,
        "channel_type": "group",
        "user": "U_EXT1",
        "team": EXT_TEAM,
        "user_team": EXT_TEAM,
        "source_team": EXT_TEAM,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        **extra,
    }


def our_message(channel: str, ts: str, user: str = "U_ENG", **extra: Any) -> dict[str, Any]:
    return prospect_message(
        channel, ts, "On it!", user=user, team=TEAM, user_team=TEAM, source_team=TEAM, **extra
    )


def later(ts: str, seconds: float) -> str:
    return f"{float(ts) + seconds:.6f}"


def test_the_same_event_delivered_three_times_starts_one_clock(bot, fake):
    channel = introduce(bot)
    body = event_body(prospect_message(channel, f"{time.time():.6f}"))
    statuses = [send_event(bot, body, retry=n) for n in range(3)]
    assert statuses == [200, 200, 200]
    wait_applied(bot, body["event_id"])
    with Session(bot.engine) as session:
        assert len(session.exec(select(SlackEvent)).all()) == 1
        assert len(session.exec(select(ResponseClock)).all()) == 1


def test_an_unsigned_event_is_refused_and_stores_nothing(bot):
    raw = json.dumps(event_body(prospect_message("C_X", "1700000000.000100")))
    headers = signed_headers("wrong-secret", raw, content_type="application/json")
    status, _ = post(f"{bot.url}/slack/events", raw, headers)
    assert status == 401
    with Session(bot.engine) as session:
        assert session.exec(select(SlackEvent)).all() == []


def test_accepted_invitation_invites_the_next_contact_and_tells_the_ae_once(bot, fake):
    introduce(bot, "cto@acme.example", "cfo@acme.example")
    [first] = fake.shared_invites
    payload = fake.accept_shared_invite(first["invite_id"], user_id="U_EXT1")
    body = event_body(payload)
    for retry in range(3):
        send_event(bot, body, retry=retry)
    deliver(bot, payload)  # even a second event for the same acceptance changes nothing
    wait_applied(bot, body["event_id"])

    with Session(bot.engine) as session:
        states = {c.email: c.invite_state for c in session.exec(select(Contact))}
    assert states == {
        "cto@acme.example": InviteState.ACCEPTED,
        "cfo@acme.example": InviteState.SENT,
    }
    assert [i["email"] for i in fake.shared_invites] == ["cto@acme.example", "cfo@acme.example"]
    # the acceptance notice (the AE's "introduced" DM says the next one waits until accepted)
    told_ae = [
        m for m in fake.dm_messages("U_AE") if "accepted the Slack Connect" in str(m["blocks"])
    ]
    told_eng = [
        m for m in fake.dm_messages("U_ENG") if "accepted the Slack Connect" in str(m["blocks"])
    ]
    assert len(told_ae) == 1 and len(told_eng) == 1
    assert "cto@acme.example" in told_ae[0]["text"] and "cfo@acme.example" in str(
        told_ae[0]["blocks"]
    )
    _, answer = bot.command("status D-1")
    assert "cto@acme.example: accepted" in json.dumps(answer["blocks"])


def test_events_outside_care_channels_and_dms_are_harmless(bot, fake):
    introduce(bot)
    deliver(bot, prospect_message("C_ELSEWHERE", f"{time.time():.6f}"))
    body = event_body(
        {
            "type": "message",
            "channel": "D_1",
            "channel_type": "im",
            "user": "U_AE",
            "text": "hi",
            "ts": f"{time.time():.6f}",
        }
    )
    assert send_event(bot, body) == 200
    deliver(bot, {"type": "member_joined_channel", "user": "U_ENG2", "channel": "C_OTHER"})
    with Session(bot.engine) as session:
        assert session.exec(select(ResponseClock)).all() == []
        assert body["event_id"] not in {e.event_id for e in session.exec(select(SlackEvent))}
