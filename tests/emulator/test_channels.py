"""Channels: creation rules, visibility, membership, topics and listing."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient

from bot.emulator import FakeSlack
from tests.emulator.helpers import error_of


def test_create_private_channel_makes_bot_creator_and_member(
    fake: FakeSlack, client: WebClient
) -> None:
    channel = client.conversations_create(name="care-acme-corp", is_private=True)["channel"]

    assert channel["id"].startswith("C")
    assert channel["name"] == "care-acme-corp"
    assert channel["is_private"] is True
    assert channel["creator"] == "U_BOT"
    assert isinstance(channel["created"], int)
    stored = fake.channel_by_name("care-acme-corp")
    assert stored is not None
    assert stored.members == {"U_BOT"}


def test_is_private_accepts_string_true(client: WebClient) -> None:
    response = client.api_call("conversations.create", params={"name": "x", "is_private": "true"})
    assert response["channel"]["is_private"] is True


def test_channel_ids_are_unique(client: WebClient) -> None:
    ids = {client.conversations_create(name=f"care-{i}")["channel"]["id"] for i in range(5)}
    assert len(ids) == 5


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("", "invalid_name_required"),
        ("a" * 81, "invalid_name_maxlength"),
        ("Care-Acme", "invalid_name_specials"),
        ("care acme", "invalid_name_specials"),
        ("care.acme", "invalid_name_specials"),
        ("café", "invalid_name_specials"),
        ("---", "invalid_name_punctuation"),
        ("general", "name_taken"),
    ],
)
def test_create_rejects_bad_names(client: WebClient, name: str, error: str) -> None:
    assert error_of(client.conversations_create, name=name) == error


def test_create_accepts_eighty_characters_of_allowed_symbols(client: WebClient) -> None:
    name = ("care_acme-9" * 8)[:80]
    assert client.conversations_create(name=name)["channel"]["name"] == name


def test_create_name_taken_by_existing_channel(fake: FakeSlack, client: WebClient) -> None:
    fake.add_channel("care-acme-corp", creator="U_AE", members=["U_AE"], is_private=True)
    assert error_of(client.conversations_create, name="care-acme-corp") == "name_taken"


def test_invite_adds_members_then_reports_already_in_channel(
    fake: FakeSlack, client: WebClient, channel_id: str
) -> None:
    client.conversations_invite(channel=channel_id, users=["U_ENG"])
    client.conversations_invite(channel=channel_id, users=["U_ENG", "U_AE"])  # adds only U_AE

    assert fake.channels[channel_id].members == {"U_BOT", "U_ENG", "U_AE"}
    error = error_of(client.conversations_invite, channel=channel_id, users="U_ENG,U_AE")
    assert error == "already_in_channel"


@pytest.mark.parametrize(
    ("users", "error"),
    [("U_BOT", "cant_invite_self"), ("U_NOBODY", "user_not_found"), ("", "no_user")],
)
def test_invite_errors(client: WebClient, channel_id: str, users: str, error: str) -> None:
    assert error_of(client.conversations_invite, channel=channel_id, users=users) == error


def test_invite_needs_the_bot_in_the_channel(fake: FakeSlack, client: WebClient) -> None:
    public = fake.add_channel("sales", creator="U_AE", members=["U_AE"])
    hidden = fake.add_channel("secret", creator="U_AE", members=["U_AE"], is_private=True)

    assert error_of(client.conversations_invite, channel=public, users="U_ENG") == "not_in_channel"
    assert (
        error_of(client.conversations_invite, channel=hidden, users="U_ENG") == "channel_not_found"
    )
    assert error_of(client.conversations_invite, channel="C404", users="U_ENG") == (
        "channel_not_found"
    )


def test_set_topic_stores_and_limits_length(
    fake: FakeSlack, client: WebClient, channel_id: str
) -> None:
    client.conversations_setTopic(channel=channel_id, topic="Acme Corp with Erin")
    client.conversations_setPurpose(channel=channel_id, purpose="Meet your engineer")

    assert fake.channels[channel_id].topic == "Acme Corp with Erin"
    assert fake.channels[channel_id].purpose == "Meet your engineer"
    info = client.conversations_info(channel=channel_id)["channel"]
    assert info["topic"]["value"] == "Acme Corp with Erin"
    assert error_of(client.conversations_setTopic, channel=channel_id, topic="x" * 251) == (
        "too_long"
    )


def test_set_topic_outside_the_channel(fake: FakeSlack, client: WebClient) -> None:
    public = fake.add_channel("sales", creator="U_AE", members=["U_AE"])
    assert error_of(client.conversations_setTopic, channel=public, topic="t") == "not_in_channel"


def test_list_paginates_and_hides_private_channels_without_the_bot(
    fake: FakeSlack, client: WebClient
) -> None:
    fake.add_channel("secret", creator="U_AE", members=["U_AE"], is_private=True)
    for i in range(5):
        fake.add_channel(f"public-{i}", creator="U_AE", members=["U_AE"])
    mine = fake.add_channel("care-mine", is_private=True)

    names: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = client.conversations_list(
            types="public_channel,private_channel", limit=2, cursor=cursor
        )
        pages += 1
        names += [c["name"] for c in page["channels"]]
        cursor = page["response_metadata"]["next_cursor"]
        if not cursor:
            break

    assert pages == 3
    assert names == [f"public-{i}" for i in range(5)] + ["care-mine"]
    private_only = client.conversations_list(types="private_channel")["channels"]
    assert [c["id"] for c in private_only] == [mine]
    assert error_of(client.conversations_list, types="rooms") == "invalid_types"
    assert error_of(client.conversations_list, cursor="not-a-cursor") == "invalid_cursor"


def test_members_and_info(client: WebClient, channel_id: str) -> None:
    client.conversations_invite(channel=channel_id, users="U_ENG")
    assert sorted(client.conversations_members(channel=channel_id)["members"]) == [
        "U_BOT",
        "U_ENG",
    ]
    info = client.conversations_info(channel=channel_id, include_num_members=True)["channel"]
    assert info["num_members"] == 2
    assert info["is_member"] is True


def test_archive_then_post_is_refused(client: WebClient, channel_id: str) -> None:
    client.conversations_archive(channel=channel_id)
    assert error_of(client.conversations_archive, channel=channel_id) == "already_archived"
    assert error_of(client.chat_postMessage, channel=channel_id, text="hi") == "is_archived"


def test_rename_follows_name_rules(fake: FakeSlack, client: WebClient, channel_id: str) -> None:
    fake.add_channel("taken")
    assert error_of(client.conversations_rename, channel=channel_id, name="taken") == "name_taken"
    client.conversations_rename(channel=channel_id, name="care-acme-won")
    assert fake.channels[channel_id].name == "care-acme-won"


def test_unarchive_refuses_a_bot_token_as_slack_does(
    fake: FakeSlack, client: WebClient, channel_id: str
) -> None:
    assert error_of(client.conversations_unarchive, channel=channel_id) == "not_archived"
    client.conversations_archive(channel=channel_id)
    assert error_of(client.conversations_unarchive, channel=channel_id) == "not_in_channel"
    assert error_of(client.conversations_unarchive, channel="C_NOPE") == "channel_not_found"
    assert fake.channels[channel_id].is_archived
    fake.unarchive_as_person(channel_id, "U_AE")
    client.chat_postMessage(channel=channel_id, text="back")  # private: members kept


def test_unarchive_when_bots_may_brings_the_same_channel_back(
    fake: FakeSlack, client: WebClient, channel_id: str
) -> None:
    fake.bots_may_unarchive = True
    client.conversations_archive(channel=channel_id)
    client.conversations_unarchive(channel=channel_id)
    assert not fake.channels[channel_id].is_archived
    assert error_of(client.conversations_unarchive, channel=channel_id) == "not_archived"
    assert error_of(client.api_call, api_method="conversations.unarchive") == "channel_not_found"


def test_a_public_channel_unarchived_by_a_person_has_lost_its_members(
    fake: FakeSlack, client: WebClient
) -> None:
    public = client.conversations_create(name="care-public")["channel"]["id"]
    client.conversations_archive(channel=public)
    fake.unarchive_as_person(public, "U_AE")
    assert fake.channels[public].members == {"U_AE"}
    assert error_of(client.chat_postMessage, channel=public, text="hi") == "not_in_channel"
    client.conversations_join(channel=public)
    client.chat_postMessage(channel=public, text="back")


def test_general_cannot_be_archived(fake: FakeSlack, client: WebClient) -> None:
    general = fake.add_channel("general")
    assert error_of(client.conversations_archive, channel=general) == "cant_archive_general"
