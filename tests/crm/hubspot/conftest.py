"""A FakeHubSpot on a compressed clock, and our connector pointed at it.

`SCALE` compresses time on both sides the same way: the fake's 10-second rate window
lasts 1 real second, and so does the connector's `Pacer` window, so a burst of 150
calls is paced in about 1.5 s instead of 15 and Retry-After waits are a tenth.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from bot.crm.hubspot import HubSpotConnector
from bot.emulator.hubspot import FakeHubSpot
from bot.emulator.hubspot.shapes import CUSTOM_PIPELINE_ID
from tests.hubspot_seed import Seeded, seed_acme

TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
SCALE = 10.0


@pytest.fixture
def hub() -> Iterator[FakeHubSpot]:
    with FakeHubSpot(token=TOKEN, rate_limits=True, time_scale=SCALE) as server:
        yield server


@pytest.fixture
def connector(hub: FakeHubSpot, engine: Engine) -> HubSpotConnector:
    return HubSpotConnector(token=TOKEN, base_url=hub.url, engine=engine, time_scale=SCALE)


@pytest.fixture
def seeded(hub: FakeHubSpot) -> Seeded:
    """The owner's email as a person types it: the connector normalises it."""
    return seed_acme(hub, owner_email="Alex@Ours.example", stage="137498562",
                     pipeline=CUSTOM_PIPELINE_ID)  # fmt: skip
