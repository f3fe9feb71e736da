"""Users, auth and Slack Connect invitations."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient

from bot.emulator import FakeSlack
from tests.emulator.helpers import error_of


def test_auth_test_identifies_the_bot(client: WebClient) -> None:
    auth = client.auth_test()
    assert (auth["team_id"], auth["user_id"], auth["bot_id"]) == ("T_OURS", "U_BOT", "B_BOT")
    assert auth["team"] == "Ours Inc"


def test_users_info_and_lookup_by_email(client: WebClient) -> None:
    user = client.users_info(user="U_ENG")["user"]

    assert user["real_name"] == "Erin Engineer"
    assert user["tz"] == "Europe/Berlin"
    assert user["tz_offset"] in (3600, 7200)
    assert user["profile"]["title"] == "Support Engineer"
    assert user["profile"]["image_72"].startswith("https://")
    assert client.users_lookupByEmail(email="ERIN@ours.example")["user"]["id"] == "U_ENG"
    assert error_of(client.users_info, user="U_NOBODY") == "user_not_found"
    assert error_of(client.users_lookupByEmail, email="who@nowhere.example") == "users_not_found"


def test_add_user_defaults(fake: FakeSlack, client: WebClient) -> None:
    fake.add_user("U_NEW")
    user = client.users_info(user="U_NEW")["user"]
    assert user["name"] == "u_new"
    assert user["tz"] == "America/Los_Angeles"
    assert user["profile"]["email"] == "u_new@ours-inc.example"
    assert user["deleted"] is False


def test_users_list_paginates(fake: FakeSlack, client: WebClient) -> None:
    for i in range(3):
        fake.add_user(f"U_X{i}")
    first = client.users_list(limit=3)
    second = client.users_list(limit=3, cursor=first["response_metadata"]["next_cursor"])

    ids = [m["id"] for m in first["members"] + second["members"]]
    assert ids == ["U_BOT", "U_ENG", "U_AE", "U_X0", "U_X1", "U_X2"]
    assert second["response_metadata"]["next_cursor"] == ""


def test_auth_errors(fake: FakeSlack) -> None:
    wrong = WebClient(token="xoxb-wrong", base_url=fake.url, retry_handlers=[])
    anonymous = WebClient(base_url=fake.url, retry_handlers=[])

    assert error_of(wrong.auth_test) == "invalid_auth"
    assert error_of(anonymous.auth_test) == "not_authed"
    assert error_of(wrong.api_call, api_method="nope.nothing") == "unknown_method"


def test_invite_shared_one_pending_invite_at_a_time(
    fake: FakeSlack, client: WebClient, channel_id: str
) -> None:
    first = client.conversations_inviteShared(channel=channel_id, emails=["pat@acme.example"])
    assert first["invite_id"].startswith("I")
    assert first["is_legacy_shared_channel"] is False
    assert error_of(
        client.conversations_inviteShared, channel=channel_id, emails="sam@acme.example"
    ) == ("connection_limit_exceeded_pending")
    pending = client.conversations_listConnectInvites()["invites"]
    assert [i["invite"]["id"] for i in pending] == [first["invite_id"]]

    event = fake.accept_shared_invite(first["invite_id"], user_id="U_PAT", team_id="T_ACME")

    assert event["channel"]["id"] == channel_id
    assert event["invite"]["id"] == first["invite_id"]
    assert event["accepting_user"] == {
        "id": "U_PAT",
        "team_id": "T_ACME",
        "name": "pat",
        "updated": event["accepting_user"]["updated"],
    }
    assert "U_PAT" in fake.channels[channel_id].members
    assert client.users_info(user="U_PAT")["user"]["team_id"] == "T_ACME"
    assert fake.shared_invites[0]["status"] == "accepted"
    second = client.conversations_inviteShared(channel=channel_id, emails="sam@acme.example")
    assert second["invite_id"] != first["invite_id"]


def test_invite_shared_argument_errors(client: WebClient, channel_id: str) -> None:
    def invite(**params: str) -> str:
        return error_of(
            client.api_call,
            api_method="conversations.inviteShared",
            params={"channel": channel_id, **params},
        )

    assert invite() == "recipients_not_specified"
    assert invite(emails="a@acme.example,b@acme.example") == "too_many_emails"
    assert invite(emails="not-an-email") == "invalid_email"


def test_invite_shared_when_slack_connect_is_unavailable(
    fake: FakeSlack, client: WebClient, channel_id: str
) -> None:
    fake.slack_connect = False
    assert error_of(
        client.conversations_inviteShared, channel=channel_id, emails="pat@acme.example"
    ) == ("not_paid")
    assert fake.shared_invites == []


def test_invite_shared_needs_the_bot_in_the_channel(fake: FakeSlack, client: WebClient) -> None:
    outside = fake.add_channel("sales", creator="U_AE", members=["U_AE"])
    assert error_of(
        client.conversations_inviteShared, channel=outside, emails="pat@acme.example"
    ) == ("not_in_channel")


def test_an_acceptance_awaiting_approval_holds_the_channel_until_approved(
    fake: FakeSlack, client: WebClient, channel_id: str
) -> None:
    first = client.conversations_inviteShared(channel=channel_id, emails="pat@acme.example")
    event = fake.accept_shared_invite(
        first["invite_id"], user_id="U_PAT", team_id="T_ACME", approval_required=True
    )
    assert event["type"] == "shared_channel_invite_accepted" and event["approval_required"]
    assert "U_PAT" not in fake.channels[channel_id].members
    assert [t["id"] for t in event["teams_in_channel"]] == [fake.team_id]
    [listed] = client.conversations_listConnectInvites()["invites"]
    assert listed["acceptances"][0]["approval_status"] == "pending_approval"
    assert error_of(
        client.conversations_inviteShared, channel=channel_id, emails="sam@acme.example"
    ) == ("connection_limit_exceeded_pending")

    approved = fake.approve_shared_invite(first["invite_id"], team_id="T_ACME")
    assert approved["type"] == "shared_channel_invite_approved"
    assert approved["approving_team_id"] == "T_ACME"
    assert approved["approving_user"]["id"] == "U_EXTADMIN"
    assert approved["invite"]["id"] == first["invite_id"]
    assert approved["channel"]["id"] == channel_id and approved["event_ts"]
    assert "U_PAT" in fake.channels[channel_id].members
    assert client.conversations_listConnectInvites()["invites"] == []
    client.conversations_inviteShared(channel=channel_id, emails="sam@acme.example")


def test_a_declined_invitation_frees_the_channel(
    fake: FakeSlack, client: WebClient, channel_id: str
) -> None:
    first = client.conversations_inviteShared(channel=channel_id, emails="pat@acme.example")
    declined = fake.decline_shared_invite(first["invite_id"], decliner="U_PAT", team_id="T_ACME")
    assert declined["type"] == "shared_channel_invite_declined"
    assert declined["declining_team_id"] == "T_ACME"
    assert declined["declining_user"]["id"] == "U_PAT"
    assert declined["invite"]["recipient_email"] == "pat@acme.example"
    assert fake.shared_invites[0]["status"] == "declined"
    assert "U_PAT" not in fake.channels[channel_id].members
    client.conversations_inviteShared(channel=channel_id, emails="sam@acme.example")


def test_a_lapsed_invitation_can_no_longer_be_answered_and_frees_the_channel(
    fake: FakeSlack, client: WebClient, channel_id: str
) -> None:
    first = client.conversations_inviteShared(channel=channel_id, emails="pat@acme.example")
    fake.lapse_shared_invite(first["invite_id"])
    assert client.conversations_listConnectInvites()["invites"] == []
    with pytest.raises(ValueError, match="lapsed"):
        fake.accept_shared_invite(first["invite_id"])
    again = client.conversations_inviteShared(channel=channel_id, emails="pat@acme.example")
    assert again["invite_id"] != first["invite_id"]
