"""What people do, as the events Slack sends: a message by a person of another
organisation in a shared channel, a Home tab opened, Slack's clock set behind."""

from __future__ import annotations

import time

import pytest
from slack_sdk import WebClient

from bot.emulator import FakeSlack


def shared_channel(fake: FakeSlack, client: WebClient) -> str:
    channel = client.conversations_create(name="care-acme", is_private=True)["channel"]["id"]
    client.conversations_invite(channel=channel, users="U_ENG")
    invite = client.conversations_inviteShared(channel=channel, emails=["cto@acme.example"])
    fake.accept_shared_invite(invite["invite_id"], user_id="U_EXT1", team_id="T_ACME")
    return channel


def test_a_message_from_the_other_organisation_names_their_team_on_the_envelope(
    fake: FakeSlack, client: WebClient
) -> None:
    channel = shared_channel(fake, client)
    body = fake.post_as("U_EXT1", channel, "How do we rotate keys?")
    event = body["event"]
    assert (body["type"], body["team_id"], body["is_ext_shared_channel"]) == (
        "event_callback", "T_ACME", True,
    )  # fmt: skip
    assert body["authorizations"][0] == {
        "enterprise_id": None, "team_id": "T_OURS", "user_id": "U_BOT", "is_bot": True,
        "is_enterprise_install": False,
    }  # fmt: skip
    assert body["context_team_id"] == "T_OURS" and body["event_id"].startswith("Ev")
    assert (event["user_team"], event["source_team"], event["channel_type"]) == (
        "T_ACME", "T_ACME", "group",
    )  # fmt: skip
    [posted] = client.conversations_history(channel=channel)["messages"][:1]
    assert posted["ts"] == event["ts"] and posted["user"] == "U_EXT1"
    ours = fake.post_as("U_ENG", channel, "On it")
    assert ours["team_id"] == "T_OURS" and "context_team_id" not in ours
    with pytest.raises(ValueError, match="not a member"):
        fake.post_as("U_EXT1", client.conversations_create(name="other")["channel"]["id"], "hi")


def test_home_opened_is_slacks_event(fake: FakeSlack) -> None:
    body = fake.open_home("U_ENG")
    assert body["team_id"] == "T_OURS"
    assert body["event"]["type"] == "app_home_opened" and body["event"]["tab"] == "home"
    assert body["event"]["channel"].startswith("D")


def test_slacks_clock_set_behind_then_caught_up_never_goes_back(
    fake: FakeSlack, client: WebClient
) -> None:
    fake.set_clock(-31 * 60)
    channel = client.conversations_create(name="clock")["channel"]["id"]
    behind = float(client.chat_postMessage(channel=channel, text="a")["ts"])
    assert time.time() - behind == pytest.approx(31 * 60, abs=60)
    fake.set_clock(0)
    now = float(client.chat_postMessage(channel=channel, text="b")["ts"])
    assert now > behind and time.time() - now < 60
