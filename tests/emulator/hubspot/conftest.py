"""Fixtures: a seeded FakeHubSpot per test, the official client pointed at it, raw calls.

The official `hubspot-api-client` is a test-time dependency (the `test` extra): the fake
is checked against the models of HubSpot's own client, not against our code.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import hubspot
import pytest
from urllib3.util.retry import Retry

from bot.emulator.hubspot import FakeHubSpot
from tests.hubspot_seed import Seeded, seed_acme

TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"


@dataclass
class Raw:
    status: int
    headers: dict[str, str]
    body: Any


@pytest.fixture
def hub() -> Iterator[FakeHubSpot]:
    with FakeHubSpot(token=TOKEN) as server:
        yield server


@pytest.fixture
def seeded(hub: FakeHubSpot) -> Seeded:
    return seed_acme(hub)


@pytest.fixture
def client(hub: FakeHubSpot) -> Any:
    """No retries: tests see every 429, 5xx and dropped connection as it is."""
    return hubspot.Client.create(access_token=TOKEN, host=hub.url, retry=Retry(total=0))


def raw(
    hub: FakeHubSpot,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None = TOKEN,
) -> Raw:
    """One call with urllib, to see HubSpot's status, headers and error body as sent."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(hub.url + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            status, headers, payload = answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        status, headers, payload = error.code, dict(error.headers), error.read()
    return Raw(status, headers, json.loads(payload) if payload else None)
