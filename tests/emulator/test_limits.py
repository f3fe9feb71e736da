"""Rate-limit tiers: sliding windows, the per-channel message bucket and time scaling."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.emulator import FakeSlack
from bot.emulator.limits import RateLimiter, retry_after_headers


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_tier_two_allows_twenty_per_minute() -> None:
    clock = Clock()
    limiter = RateLimiter(clock=clock)

    assert all(limiter.acquire("conversations.create") is None for _ in range(20))
    assert limiter.acquire("conversations.create") == pytest.approx(60)
    clock.now += 30
    assert limiter.acquire("conversations.create") == pytest.approx(30)
    clock.now += 30
    assert limiter.acquire("conversations.create") is None


def test_post_message_is_one_per_second_per_channel_with_a_burst() -> None:
    clock = Clock()
    limiter = RateLimiter(clock=clock)

    assert [limiter.acquire("chat.postMessage", channel="C1") for _ in range(3)] == [None] * 3
    assert limiter.acquire("chat.postMessage", channel="C1") == pytest.approx(1)
    assert limiter.acquire("chat.postMessage", channel="C2") is None
    clock.now += 1
    assert limiter.acquire("chat.postMessage", channel="C1") is None
    assert limiter.acquire("auth.test") is None


def test_time_scale_shrinks_waits() -> None:
    clock = Clock()
    limiter = RateLimiter(time_scale=60, clock=clock)
    limiter.acquire("conversations.listConnectInvites")

    wait = limiter.acquire("conversations.listConnectInvites")

    assert wait == pytest.approx(1)
    assert retry_after_headers(0.25) == {"Retry-After": "1", "X-Fake-Retry-After-Ms": "250"}
    assert retry_after_headers(2.5)["Retry-After"] == "3"
    # Compressed, Slack's whole seconds are compressed too: 15 Slack s, not a whole minute.
    assert retry_after_headers(0.25, time_scale=60)["Retry-After"] == "0.250"
    assert retry_after_headers(0.001, time_scale=60)["Retry-After"] == "0.017"  # 1 Slack s


def test_server_answers_429_and_the_limited_call_has_no_effect() -> None:
    with FakeSlack(rate_limits=True) as fake:
        client = WebClient(token=fake.bot_token, base_url=fake.url, retry_handlers=[])
        for i in range(20):
            client.conversations_create(name=f"care-{i}")

        with pytest.raises(SlackApiError) as info:
            client.conversations_create(name="care-over")

        assert info.value.response.status_code == 429
        assert info.value.response["error"] == "ratelimited"
        assert 55 <= int(info.value.response.headers["Retry-After"]) <= 60
        assert fake.channel_by_name("care-over") is None
        assert client.auth_test()["ok"] is True  # other methods keep their own budget


def test_scaled_server_sends_precise_wait_header() -> None:
    with FakeSlack(rate_limits=True, time_scale=600) as fake:
        client = WebClient(token=fake.bot_token, base_url=fake.url, retry_handlers=[])
        client.conversations_listConnectInvites()

        with pytest.raises(SlackApiError) as info:
            client.conversations_listConnectInvites()

        headers = info.value.response.headers
        assert 0 < float(headers["Retry-After"]) <= 0.1  # at most a Slack minute, compressed
        assert 1 <= int(headers["X-Fake-Retry-After-Ms"]) <= 100
