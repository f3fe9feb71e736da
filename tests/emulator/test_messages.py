"""Messages: posting, metadata, threads, history paging, DMs, pins, ephemeral and views."""

from __future__ import annotations

import json

import pytest
from slack_sdk import WebClient

from bot.emulator import FakeSlack
from tests.emulator.helpers import error_of

METADATA = {"event_type": "care_intro_posted", "event_payload": {"deal_id": "D-42"}}
SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "Hello"}}


def test_metadata_is_returned_only_when_history_asks(client: WebClient, channel_id: str) -> None:
    posted = client.chat_postMessage(
        channel=channel_id, text="Meet Erin", blocks=[SECTION], metadata=METADATA
    )

    assert posted["channel"] == channel_id
    assert posted["message"]["metadata"] == METADATA
    with_meta = client.conversations_history(channel=channel_id, include_all_metadata=True)
    without = client.conversations_history(channel=channel_id)
    assert with_meta["messages"][0]["metadata"] == METADATA
    assert with_meta["messages"][0]["blocks"] == [SECTION]
    assert "metadata" not in without["messages"][0]


def test_form_encoded_json_arguments_are_decoded(fake: FakeSlack, client: WebClient) -> None:
    channel = fake.add_channel("care-form")
    client.api_call(
        "chat.postMessage",
        data={
            "channel": channel,
            "blocks": json.dumps([SECTION]),
            "metadata": json.dumps(METADATA),
        },
    )
    message = fake.messages(channel)[0]
    assert message["blocks"] == [SECTION]
    assert message["metadata"] == METADATA


def test_timestamps_are_unique_increasing_slack_format(
    fake: FakeSlack, client: WebClient, channel_id: str
) -> None:
    stamps = [client.chat_postMessage(channel=channel_id, text=str(i))["ts"] for i in range(20)]

    assert stamps == sorted(stamps, key=float)
    assert len(set(stamps)) == 20
    seconds, micros = stamps[0].split(".")
    assert len(seconds) == 10
    assert len(micros) == 6
    assert [m["text"] for m in fake.messages(channel_id)] == [str(i) for i in range(20)]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({}, "no_text"),
        ({"text": "x" * 40_001}, "msg_too_long"),
        ({"blocks": [{"text": "no type"}]}, "invalid_blocks"),
        ({"blocks": [SECTION] * 51}, "invalid_blocks"),
        ({"text": "t", "metadata": {"event_payload": {}}}, "invalid_metadata_schema"),
    ],
)
@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_post_message_validation(
    client: WebClient, channel_id: str, kwargs: dict[str, object], error: str
) -> None:
    assert error_of(client.chat_postMessage, channel=channel_id, **kwargs) == error


def test_post_message_channel_errors(fake: FakeSlack, client: WebClient) -> None:
    outside = fake.add_channel("sales", creator="U_AE", members=["U_AE"])
    assert error_of(client.chat_postMessage, channel=outside, text="hi") == "not_in_channel"
    assert error_of(client.chat_postMessage, channel="C404", text="hi") == "channel_not_found"
    assert error_of(client.api_call, api_method="chat.postMessage", json={"text": "x"}) == (
        "channel_not_found"
    )


def test_post_to_user_id_goes_to_the_bots_im(fake: FakeSlack, client: WebClient) -> None:
    first = client.chat_postMessage(channel="U_ENG", text="You have a new customer")
    second = client.chat_postMessage(channel="U_ENG", text="Reminder")

    assert first["channel"].startswith("D")
    assert second["channel"] == first["channel"]
    assert [m["text"] for m in fake.dm_messages("U_ENG")] == ["You have a new customer", "Reminder"]
    opened = client.conversations_open(users="U_ENG")
    assert opened["channel"]["id"] == first["channel"]
    assert opened["already_open"] is True
    assert fake.dm_messages("U_AE") == []


def test_threads_and_replies(client: WebClient, channel_id: str) -> None:
    parent = client.chat_postMessage(channel=channel_id, text="parent")["ts"]
    client.chat_postMessage(channel=channel_id, text="reply 1", thread_ts=parent)
    client.chat_postMessage(channel=channel_id, text="reply 2", thread_ts=parent)

    history = client.conversations_history(channel=channel_id)["messages"]
    assert [m["text"] for m in history] == ["parent"]
    assert history[0]["reply_count"] == 2
    replies = client.conversations_replies(channel=channel_id, ts=parent)["messages"]
    assert [m["text"] for m in replies] == ["parent", "reply 1", "reply 2"]
    assert error_of(client.conversations_replies, channel=channel_id, ts="1.000001") == (
        "thread_not_found"
    )


def test_history_is_newest_first_with_cursor_and_window(client: WebClient, channel_id: str) -> None:
    stamps = [client.chat_postMessage(channel=channel_id, text=str(i))["ts"] for i in range(5)]

    first = client.conversations_history(channel=channel_id, limit=2)
    assert [m["text"] for m in first["messages"]] == ["4", "3"]
    assert first["has_more"] is True
    cursor = first["response_metadata"]["next_cursor"]
    second = client.conversations_history(channel=channel_id, limit=2, cursor=cursor)
    assert [m["text"] for m in second["messages"]] == ["2", "1"]
    window = client.conversations_history(channel=channel_id, oldest=stamps[1], latest=stamps[4])
    assert [m["text"] for m in window["messages"]] == ["3", "2"]


def test_history_needs_membership(fake: FakeSlack, client: WebClient) -> None:
    outside = fake.add_channel("sales", creator="U_AE", members=["U_AE"])
    assert error_of(client.conversations_history, channel=outside) == "not_in_channel"


def test_pins(fake: FakeSlack, client: WebClient, channel_id: str) -> None:
    ts = client.chat_postMessage(channel=channel_id, text="Welcome")["ts"]

    client.pins_add(channel=channel_id, timestamp=ts)

    assert fake.channels[channel_id].pins == {ts}
    assert error_of(client.pins_add, channel=channel_id, timestamp=ts) == "already_pinned"
    assert error_of(client.pins_add, channel=channel_id, timestamp="1.000001") == (
        "message_not_found"
    )
    assert error_of(client.pins_add, channel=channel_id) == "no_item_specified"


def test_update_and_permalink(fake: FakeSlack, client: WebClient, channel_id: str) -> None:
    ts = client.chat_postMessage(channel=channel_id, text="draft", blocks=[SECTION])["ts"]

    client.chat_update(channel=channel_id, ts=ts, text="final")
    link = client.chat_getPermalink(channel=channel_id, message_ts=ts)["permalink"]

    message = fake.messages(channel_id)[0]
    assert message["text"] == "final"
    assert message["blocks"] == [SECTION]
    assert link == f"https://fake.slack.example/archives/{channel_id}/p{ts.replace('.', '')}"
    assert error_of(client.chat_update, channel=channel_id, ts="1.000001", text="x") == (
        "message_not_found"
    )


def test_ephemeral_needs_the_user_in_the_channel(
    fake: FakeSlack, client: WebClient, channel_id: str
) -> None:
    assert error_of(
        client.chat_postEphemeral, channel=channel_id, user="U_ENG", text="only you"
    ) == ("user_not_in_channel")
    client.conversations_invite(channel=channel_id, users="U_ENG")
    client.chat_postEphemeral(channel=channel_id, user="U_ENG", text="only you")
    assert [(e["user"], e["text"]) for e in fake.ephemeral] == [("U_ENG", "only you")]


MODAL = {
    "type": "modal",
    "callback_id": "introduce",
    "title": {"type": "plain_text", "text": "Introduce care"},
    "submit": {"type": "plain_text", "text": "Send"},
    "blocks": [{"type": "input", "label": {"type": "plain_text", "text": "Deal"}}],
}


def test_views_open_checks_trigger_and_view(fake: FakeSlack, client: WebClient) -> None:
    view = client.views_open(trigger_id="123.456.abc", view=MODAL)["view"]

    assert view["id"].startswith("V")
    assert fake.views_opened[0]["callback_id"] == "introduce"
    assert error_of(client.views_open, trigger_id="123.456.abc", view=MODAL) == (
        "exchanged_trigger_id"
    )
    assert error_of(client.views_open, trigger_id="t2", view={"blocks": []}) == "invalid_arguments"
    no_submit = {k: v for k, v in MODAL.items() if k != "submit"}
    assert error_of(client.views_open, trigger_id="t3", view=no_submit) == "invalid_arguments"
    assert error_of(client.api_call, api_method="views.open", json={"view": MODAL}) == (
        "invalid_arguments"
    )
    updated = client.views_update(view_id=view["id"], view={**MODAL, "callback_id": "step2"})
    assert fake.views[view["id"]]["callback_id"] == "step2"
    assert updated["view"]["id"] == view["id"]


def test_views_publish_keeps_latest_home_per_user(fake: FakeSlack, client: WebClient) -> None:
    client.views_publish(user_id="U_ENG", view={"type": "home", "blocks": []})
    client.views_publish(user_id="U_ENG", view={"type": "home", "blocks": [SECTION]})

    assert fake.views_published["U_ENG"]["blocks"] == [SECTION]
    assert error_of(client.views_publish, user_id="U_ENG", view=MODAL) == "invalid_arguments"
