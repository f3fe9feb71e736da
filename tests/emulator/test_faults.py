"""Scripted and random faults, hangs, and the server staying responsive around them."""

from __future__ import annotations

import threading
import time
from urllib.error import URLError

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from bot.emulator import FakeSlack
from tests.emulator.helpers import error_of

CONNECTION_ERRORS = (URLError, ConnectionError, OSError)


def test_fail_next_answers_the_error_without_effect(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("conversations.create", "restricted_action", count=2)

    assert error_of(client.conversations_create, name="care-a") == "restricted_action"
    assert error_of(client.conversations_create, name="care-a") == "restricted_action"
    assert fake.channel_by_name("care-a") is None
    client.conversations_create(name="care-a")
    assert [c.fault for c in fake.calls_to("conversations.create")] == [
        "fail_next",
        "fail_next",
        None,
    ]


def test_fail_next_with_http_500(fake: FakeSlack, client: WebClient, channel_id: str) -> None:
    fake.fail_next("chat.postMessage", status=500)

    assert error_of(client.chat_postMessage, channel=channel_id, text="hi") == "internal_error"
    assert fake.messages(channel_id) == []
    assert fake.calls_to("chat.postMessage")[-1].status == 500


def test_rate_limit_next_sends_retry_after(fake: FakeSlack, client: WebClient) -> None:
    fake.rate_limit_next("users.info", retry_after=7)

    with pytest.raises(SlackApiError) as info:
        client.users_info(user="U_ENG")

    response = info.value.response
    assert response.status_code == 429
    assert response["error"] == "ratelimited"
    assert response.headers["Retry-After"] == "7"
    assert client.users_info(user="U_ENG")["ok"] is True


def test_drop_before_effect_loses_the_call(
    fake: FakeSlack, client: WebClient, channel_id: str
) -> None:
    fake.drop_next("chat.postMessage")

    with pytest.raises(CONNECTION_ERRORS):
        client.chat_postMessage(channel=channel_id, text="lost")

    assert fake.messages(channel_id) == []
    record = fake.calls_to("chat.postMessage")[0]
    assert (record.status, record.fault) == (None, "drop")


def test_drop_after_effect_then_blind_retry_posts_twice(fake: FakeSlack, channel_id: str) -> None:
    retrying = WebClient(
        token=fake.bot_token,
        base_url=fake.url,
        retry_handlers=[
            ConnectionErrorRetryHandler(interval_calculator=FixedValueRetryIntervalCalculator(0))
        ],
    )
    fake.drop_next("chat.postMessage", after_effect=True)

    retrying.chat_postMessage(channel=channel_id, text="hello")

    assert [m["text"] for m in fake.messages(channel_id)] == ["hello", "hello"]


def test_hang_blocks_one_method_while_others_are_served(
    fake: FakeSlack, client: WebClient, channel_id: str
) -> None:
    gate = fake.hang("chat.postMessage")
    done = threading.Event()

    def post() -> None:
        client.chat_postMessage(channel=channel_id, text="slow")
        done.set()

    worker = threading.Thread(target=post, daemon=True)
    worker.start()

    assert client.auth_test()["ok"] is True
    assert not done.wait(0.2)
    assert fake.messages(channel_id) == []
    gate.set()
    assert done.wait(2)
    assert [m["text"] for m in fake.messages(channel_id)] == ["slow"]


def test_hang_after_effect_and_release_all(
    fake: FakeSlack, client: WebClient, channel_id: str
) -> None:
    fake.hang("pins.add", after_effect=True)
    ts = client.chat_postMessage(channel=channel_id, text="pin me")["ts"]
    worker = threading.Thread(
        target=client.pins_add, kwargs={"channel": channel_id, "timestamp": ts}, daemon=True
    )
    worker.start()

    deadline = time.monotonic() + 2
    while not fake.channels[channel_id].pins and time.monotonic() < deadline:
        time.sleep(0.01)
    assert fake.channels[channel_id].pins == {ts}
    assert worker.is_alive()
    fake.release_all()
    worker.join(2)
    assert not worker.is_alive()


def test_stop_does_not_wait_for_hung_calls() -> None:
    fake = FakeSlack().start()
    fake.hang("auth.test")
    client = WebClient(token=fake.bot_token, base_url=fake.url, retry_handlers=[], timeout=5)
    worker = threading.Thread(target=client.auth_test, daemon=True)
    worker.start()
    time.sleep(0.1)

    started = time.monotonic()
    fake.stop()

    assert time.monotonic() - started < 1
    worker.join(2)
    assert not worker.is_alive()


def _fault_sequence(seed: int) -> list[str | None]:
    with FakeSlack() as fake:
        client = WebClient(token=fake.bot_token, base_url=fake.url, retry_handlers=[])
        fake.random_faults(rate=0.5, seed=seed, methods=["auth.test"])
        for _ in range(40):
            try:
                client.auth_test()
            except Exception:  # noqa: S112 - any failure is fine, the record says which
                continue
        return [c.fault for c in fake.calls_to("auth.test")]


def test_random_faults_are_reproducible_per_seed() -> None:
    first = _fault_sequence(seed=3)

    assert first == _fault_sequence(seed=3)
    assert {"random:429", "random:500", "random:drop"} <= set(first)
    assert None in first


def test_clear_faults(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("auth.test", "invalid_auth")
    fake.random_faults(rate=1.0)
    fake.clear_faults()
    assert client.auth_test()["ok"] is True


def test_fault_on_unknown_method_is_a_typo(fake: FakeSlack) -> None:
    with pytest.raises(ValueError, match="does not serve"):
        fake.fail_next("chat.postMesage")


def test_calls_are_recorded_without_the_token(
    fake: FakeSlack, client: WebClient, channel_id: str
) -> None:
    fake.reset_calls()
    tokenless = WebClient(base_url=fake.url, retry_handlers=[])
    tokenless.api_call(
        "chat.postMessage", data={"channel": channel_id, "text": "x", "token": fake.bot_token}
    )
    client.chat_postMessage(channel=channel_id, text="y")

    records = fake.calls_to("chat.postMessage")
    assert [r.args for r in records] == [
        {"channel": channel_id, "text": "x"},
        {"channel": channel_id, "text": "y"},
    ]
    assert all(r.ok and r.status == 200 for r in records)
    assert records[0].at <= records[1].at


def test_random_drops_after_the_effect_are_done_then_dropped() -> None:
    with FakeSlack() as fake:
        client = WebClient(token=fake.bot_token, base_url=fake.url, retry_handlers=[])
        fake.random_faults(rate=1.0, seed=1, kinds=["drop_after"], methods=["conversations.create"])
        with pytest.raises(CONNECTION_ERRORS):
            client.conversations_create(name="care-a")

        assert fake.channel_by_name("care-a") is not None, "done before the drop"
        assert [c.fault for c in fake.calls_to("conversations.create")] == ["random:drop_after"]


def test_a_stopped_fake_starts_again_on_the_same_port_with_its_state() -> None:
    fake = FakeSlack().start()
    client = WebClient(token=fake.bot_token, base_url=fake.url, retry_handlers=[])
    client.conversations_create(name="care-a")
    url = fake.url
    fake.stop()
    with pytest.raises(CONNECTION_ERRORS):
        client.auth_test()

    fake.start()
    try:
        assert fake.url == url
        assert client.auth_test()["ok"] is True
        assert fake.channel_by_name("care-a") is not None
    finally:
        fake.stop()


def test_api_test_answers_without_a_token_and_echoes_an_error(fake: FakeSlack) -> None:
    tokenless = WebClient(base_url=fake.url, retry_handlers=[])
    assert tokenless.api_test()["ok"] is True
    assert tokenless.api_test(foo="bar")["args"] == {"foo": "bar"}
    assert error_of(tokenless.api_test, error="my_error") == "my_error"
