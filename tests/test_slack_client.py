"""The Web API client: a Retry-After is honoured by every thread that shares the client."""

from __future__ import annotations

import threading
import time

from bot.config import Settings
from bot.emulator import FakeSlack
from bot.slack.client import RateLimitedWebClient, make_client
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
