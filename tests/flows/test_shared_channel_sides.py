"""Who is who in a Slack Connect channel: our side is the installed workspace, never the
envelope's `team_id`; the prospect's side is any other person, listed contact or not.

The envelopes are shaped like bolt-python's Slack Connect fixtures
(tests/slack_bolt/request/test_internals.py, tests/scenario_tests/test_events_shared_channels.py):
a message from the other organisation arrives with *their* `team_id` on the envelope and
ours only in `authorizations`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlmodel import Session, select

from bot.flows.message_sides import OurSide, Side, classify, installation
from bot.models import SlackEvent
from tests.conftest import TEAM, TOKEN, RunningBot
from tests.flows.test_events import (
    EXT_TEAM,
    event_body,
    introduce,
    later,
    our_message,
    prospect_message,
    send_event,
    wait_applied,
)
from tests.flows.test_response_watch import alerts, ask, clocks, from_now, settle, wait_alerts

# bolt-python's test_internals.py, `slack_connect_events_api_requests[1]`, as Slack sent it.
BOLT_CONNECT_MESSAGE: dict[str, Any] = {
    "team_id": "TEAM_ID_ACTOR",
    "enterprise_id": "ENTERPRISE_ID_ACTOR",
    "context_team_id": "INSTALLED_TEAM_ID",
    "context_enterprise_id": "INSTALLED_ENTERPRISE_ID",
    "api_app_id": "A111",
    "event": {
        "type": "message",
        "text": "Hey!",
        "user": "USER_ID_ACTOR",
        "ts": "1678454365.204709",
        "team": "TEAM_ID_ACTOR",
        "channel": "C111",
        "event_ts": "1678454365.204709",
        "channel_type": "channel",
    },
    "type": "event_callback",
    "authorizations": [
        {
            "enterprise_id": "INSTALLED_ENTERPRISE_ID",
            "team_id": "INSTALLED_TEAM_ID",
            "user_id": "INSTALLED_BOT_USER_ID",
            "is_bot": True,
            "is_enterprise_install": False,
        }
    ],
    "is_ext_shared_channel": True,
}
# The same file's "no actor team" app_mention: `team` names the installed team although the
# writer is of another org; only `user_team` / `source_team` / `user_profile` say so.
BOLT_NO_ACTOR_TEAM_EVENT = {
    "type": "app_mention",
    "user": "USER_ID_ACTOR",
    "ts": "1678451405.023359",
    "team": "INSTALLED_TEAM_ID",
    "user_team": "ENTERPRISE_ID_ACTOR",
    "source_team": "ENTERPRISE_ID_ACTOR",
    "user_profile": {"team": "ENTERPRISE_ID_ACTOR"},
    "channel": "C111",
}
INSTALLED = OurSide("INSTALLED_TEAM_ID", "INSTALLED_ENTERPRISE_ID")


def test_our_side_is_the_authorization_not_the_envelope_team() -> None:
    assert installation(BOLT_CONNECT_MESSAGE) == INSTALLED
    user_token_first = {
        "authorizations": [{"team_id": "T1", "is_bot": False}, {"team_id": "T2", "is_bot": True}]
    }
    assert installation(user_token_first) == OurSide("T2")
    assert installation({"team_id": "T_OTHER"}) is None  # then auth.test decides


def sides(event: dict[str, Any], user: dict[str, Any] | None = None, **kw: Any) -> Side:
    return classify(event, ours=INSTALLED, user=user, contact_emails=frozenset(), **kw)


@pytest.mark.parametrize(
    ("event", "user", "side"),
    [
        (BOLT_CONNECT_MESSAGE["event"], None, Side.PROSPECT),
        (BOLT_NO_ACTOR_TEAM_EVENT, None, Side.PROSPECT),
        # users.info knows better than the event's `team`
        ({"user": "U1", "team": "INSTALLED_TEAM_ID"}, {"team_id": "T_EXT"}, Side.PROSPECT),
        ({"user": "U1"}, {"team_id": "T_EXT", "is_stranger": True}, Side.PROSPECT),
        ({"user": "U1"}, {"team_id": "", "is_stranger": True}, Side.PROSPECT),
        ({"user": "U1", "user_team": "INSTALLED_TEAM_ID"}, None, Side.OURS),
        # Enterprise Grid: the org id as `user_team`, or a colleague of another workspace
        ({"user": "U1", "user_team": "INSTALLED_ENTERPRISE_ID"}, None, Side.OURS),
        (
            {"user": "U1", "user_team": "T_SISTER"},
            {"team_id": "T_SISTER", "enterprise_user": {"enterprise_id": INSTALLED.enterprise_id}},
            Side.OURS,
        ),
        (
            {"user": "U1", "user_team": "T_EXT"},
            {"team_id": "T_EXT", "enterprise_user": {"enterprise_id": "E_THEIRS"}},
            Side.PROSPECT,
        ),
        ({"user": "U1"}, None, Side.OTHER),  # nobody can tell: no clock either way
        ({"user": "U1", "user_team": "T_EXT"}, {"team_id": "T_EXT", "is_bot": True}, Side.BOT),
    ],
)
def test_classify_shared_channel_writers(event, user, side) -> None:
    assert sides(event, user) == side


def deliver_as(bot: RunningBot, event: dict[str, Any], *, envelope_team: str) -> SlackEvent:
    """A signed event whose envelope `team_id` is `envelope_team` (ours only in
    `authorizations`), stored and applied by the worker."""
    body = event_body(event) | {"team_id": envelope_team, "is_ext_shared_channel": True}
    assert send_event(bot, body) == 200
    [row] = wait_applied(bot, body["event_id"])
    assert row.error is None, row.error
    return row


def accept(bot: RunningBot, fake, user_id: str = "U_EXT1") -> None:
    """The prospect accepts the invitation; Slack tells the app (as the other team)."""
    [invite] = fake.shared_invites
    payload = fake.accept_shared_invite(invite["invite_id"], user_id=user_id, team_id=EXT_TEAM)
    deliver_as(bot, payload, envelope_team=EXT_TEAM)


def test_envelope_naming_the_other_team_still_starts_the_prospects_clock(bot, fake) -> None:
    channel = introduce(bot)
    accept(bot, fake)
    with from_now() as clock:
        ts = ask(fake, channel)
        deliver_as(bot, prospect_message(channel, ts), envelope_team=EXT_TEAM)
        [started] = clocks(bot)
        assert started.asker_user_id == "U_EXT1" and started.answered_at is None
        # our engineer's reply, even in an envelope naming the prospect's team, stops it
        clock.shift(timedelta(minutes=4))
        reply = our_message(channel, later(ts, 240))
        deliver_as(bot, reply, envelope_team=EXT_TEAM)
    [answered] = clocks(bot)
    assert answered.answered_by == "U_ENG" and answered.response_seconds == 240


def test_unlisted_colleague_with_hidden_email_is_watched_to_the_alert(bot, fake) -> None:
    """Only users.info says who they are (team, no email); the engineer is DMed at 30."""
    fake.add_user("U_EXT2", name="ops", team_id=EXT_TEAM)  # no email: hidden, as Slack does
    channel = introduce(bot)
    accept(bot, fake)
    with from_now() as clock:
        ts = ask(fake, channel)
        bare = {k: v for k, v in prospect_message(channel, ts, user="U_EXT2").items()
                if k not in ("team", "user_team", "source_team")}  # fmt: skip
        deliver_as(bot, bare, envelope_team=EXT_TEAM)
        [started] = clocks(bot)
        assert started.asker_user_id == "U_EXT2"
        assert [c.args["user"] for c in fake.calls_to("users.info")].count("U_EXT2") == 1
        clock.shift(timedelta(minutes=31))
        settle(bot)
        [alert] = wait_alerts(fake, "U_ENG", 1)
    assert "How do we rotate API keys?" in str(alert["blocks"])
    assert alerts(fake, "U_BACKUP") == []


def test_without_authorizations_auth_test_decides_once_per_process(bot, fake) -> None:
    channel = introduce(bot)
    before = len(fake.calls_to("auth.test"))
    for n, event in enumerate((prospect_message, our_message)):
        body = event_body(event(channel, f"1772442000.00010{n}")) | {"team_id": EXT_TEAM}
        del body["authorizations"]
        assert send_event(bot, body) == 200
        wait_applied(bot, body["event_id"])
    assert len(fake.calls_to("auth.test")) - before == 1
    [clock] = clocks(bot)
    assert clock.asker_user_id == "U_EXT1" and clock.answered_by == "U_ENG"
    with Session(bot.engine) as session:
        assert all(e.error is None for e in session.exec(select(SlackEvent)))


def test_users_info_marks_outside_people_as_slack_does(fake) -> None:
    client = WebClient(token=TOKEN, base_url=fake.url)
    fake.add_user("U_EXT2", name="ops", team_id=EXT_TEAM)
    outside = client.users_info(user="U_EXT2")["user"]
    assert outside["team_id"] == EXT_TEAM and outside["is_stranger"] is True
    assert "email" not in outside["profile"]
    assert "is_stranger" not in client.users_info(user="U_ENG")["user"]
    fake.set_enterprise("E_OURS")
    fake.add_user("U_SISTER", name="sis", team_id="T_SISTER", enterprise_id="E_OURS")
    sister = client.users_info(user="U_SISTER")["user"]
    assert sister["enterprise_user"]["enterprise_id"] == "E_OURS" and "is_stranger" not in sister
    assert client.auth_test()["enterprise_id"] == "E_OURS"
    assert client.users_info(user="U_ENG")["user"]["enterprise_user"]["teams"] == [TEAM]


def test_a_colleague_of_another_workspace_of_our_grid_org_answers_for_us(bot, fake) -> None:
    """Enterprise Grid: users.info's `enterprise_user` says they are ours, whatever the
    workspace; their reply stops the clock instead of starting one."""
    fake.set_enterprise("E_OURS")
    fake.add_user("U_SISTER", name="sis", team_id="T_SISTER", enterprise_id="E_OURS")
    channel = introduce(bot)
    accept(bot, fake)

    def grid(event: dict[str, Any], envelope_team: str) -> dict[str, Any]:
        body = event_body(event) | {"team_id": envelope_team, "enterprise_id": "E_OURS"}
        body["authorizations"][0]["enterprise_id"] = "E_OURS"
        return body

    ts = "1772442000.000100"
    sister = our_message(channel, later(ts, 60), user="U_SISTER")
    sister |= {"team": "T_SISTER", "user_team": "T_SISTER", "source_team": "T_SISTER"}
    for body in (grid(prospect_message(channel, ts), EXT_TEAM), grid(sister, "T_SISTER")):
        assert send_event(bot, body) == 200
        [row] = wait_applied(bot, body["event_id"])
        assert row.error is None, row.error
    [clock] = clocks(bot)
    assert clock.asker_user_id == "U_EXT1" and clock.answered_by == "U_SISTER"
