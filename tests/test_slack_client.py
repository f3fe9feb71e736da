"""The Web API client: a Retry-After is honoured by every thread that shares the client."""

from __future__ import annotations

import copy
import threading
import time

import pytest

from bot.config import Settings
from bot.emulator import FakeSlack
from bot.exceptions import SlackStepError
from bot.slack.client import (
    RateLimitedWebClient,
    make_client,
    pages,
    retry_after_seconds,
    send_dm,
)
from tests.conftest import TOKEN


def test_a_retry_after_holds_every_thread_calling_that_method(fake: FakeSlack) -> None:
    client = make_client(Settings(slack_bot_token=TOKEN, slack_api_url=fake.url))
    assert isinstance(client, RateLimitedWebClient)
    fake.rate_limit_next("users.info", retry_after=1)
    first = threading.Thread(target=client.users_info, kwargs={"user": "U_ENG"})
    first.start()
    deadline = time.monotonic() + 5
    while not client.limits.held("users.info"):  # the 429 has been answered and read
        assert time.monotonic() < deadline
        time.sleep(0.005)
    assert client.limits.held("users.info") <= 1.0  # exactly Retry-After: no added jitter
    client.auth_test()  # other methods are not held
    client.users_info(user="U_ENG")  # another caller, after the 429: waits it out too
    first.join()
    limited, *after = fake.calls_to("users.info")
    assert limited.status == 429 and len(after) == 2
    assert all(c.at - limited.at >= 1.0 for c in after)
    [auth] = fake.calls_to("auth.test")
    assert auth.at - limited.at < 1.0


def test_a_decimal_retry_after_is_waited_as_given() -> None:
    """The emulator's compressed clock sends decimals (30 Slack s at 60x: "0.500")."""
    with FakeSlack(bot_token=TOKEN, time_scale=60) as fake:
        client = make_client(Settings(slack_bot_token=TOKEN, slack_api_url=fake.url))
        fake.rate_limit_next("auth.test", retry_after=30)
        client.auth_test()
        limited, retried = fake.calls_to("auth.test")
    assert limited.status == 429 and retried.status == 200
    assert 0.5 <= retried.at - limited.at < 0.9


def test_retry_after_values_that_cannot_be_believed_mean_one_second() -> None:
    assert retry_after_seconds("30") == 30.0
    assert retry_after_seconds("0.25") == 0.25
    for nonsense in (None, "", "soon", "-3", "nan", "inf", "1e9"):
        assert retry_after_seconds(nonsense) == 1.0


def test_a_dm_channel_is_opened_once_per_person(fake: FakeSlack) -> None:
    client = make_client(Settings(slack_bot_token=TOKEN, slack_api_url=fake.url))
    for user, text in (("U_ENG", "one"), ("U_AE", "two"), ("U_ENG", "three")):
        send_dm("notify", client, user, text=text, blocks=None)
    copied = copy.deepcopy(client)  # as Bolt hands a lazy listener its own client
    send_dm("notify", copied, "U_AE", text="four", blocks=None)
    assert [c.args["users"] for c in fake.calls_to("conversations.open")] == ["U_ENG", "U_AE"]
    assert [m["text"] for m in fake.dm_messages("U_ENG")] == ["one", "three"]
    assert [m["text"] for m in fake.dm_messages("U_AE")] == ["two", "four"]


def test_pages_follow_the_cursor_and_wait_out_a_429_on_a_later_page(fake: FakeSlack) -> None:
    client = make_client(Settings(slack_bot_token=TOKEN, slack_api_url=fake.url))
    members = [f"U{n:03}" for n in range(7)]
    channel = fake.add_channel("many", members=members)
    walked = pages("invite", client.conversations_members, channel=channel, limit=3)
    first = next(walked)["members"]
    fake.rate_limit_next("conversations.members", retry_after=0.2)  # on the second page
    seen = first + [m for page in walked for m in page["members"]]
    assert sorted(seen) == sorted(members) and len(seen) == len(members)
    statuses = [c.status for c in fake.calls_to("conversations.members")]
    assert statuses == [200, 429, 200, 200]


def test_a_failed_later_page_is_a_slack_step_error(fake: FakeSlack) -> None:
    client = make_client(Settings(slack_bot_token=TOKEN, slack_api_url=fake.url))
    channel = fake.add_channel("many", members=[f"U{n:03}" for n in range(5)])
    walked = pages("invite", client.conversations_members, channel=channel, limit=2)
    next(walked)
    fake.fail_next("conversations.members", status=500)
    with pytest.raises(SlackStepError) as failed:
        next(walked)
    assert failed.value.step == "invite" and not failed.value.permanent
    fake.fail_next("conversations.members", "channel_not_found")
    with pytest.raises(SlackStepError) as failed:
        list(pages("invite", client.conversations_members, channel=channel, limit=2))
    assert failed.value.error == "channel_not_found" and failed.value.permanent
