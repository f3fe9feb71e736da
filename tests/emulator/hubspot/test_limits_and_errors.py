"""Authentication, scopes, the 100-per-10-seconds burst limit and its headers."""

from __future__ import annotations

import time
from typing import Any

import pytest
from hubspot.crm.deals import ApiException

from bot.emulator.hubspot import FakeHubSpot

from .conftest import TOKEN, Seeded, raw

HEADERS = (
    "X-HubSpot-RateLimit-Max",
    "X-HubSpot-RateLimit-Remaining",
    "X-HubSpot-RateLimit-Interval-Milliseconds",
    "X-HubSpot-RateLimit-Daily",
    "X-HubSpot-RateLimit-Daily-Remaining",
)


@pytest.mark.parametrize("token", [None, "pat-na1-wrong"])
def test_missing_or_wrong_token_is_401(hub: FakeHubSpot, token: str | None) -> None:
    answer = raw(hub, "GET", "/crm/v3/pipelines/deals", token=token)
    assert answer.status == 401
    assert answer.body["status"] == "error"
    assert answer.body["category"] == "INVALID_AUTHENTICATION"
    assert answer.body["correlationId"]


def test_revoked_token_then_restored(client: Any, hub: FakeHubSpot, seeded: Seeded) -> None:
    hub.revoke_token()
    with pytest.raises(ApiException) as info:
        client.crm.deals.basic_api.get_by_id(seeded.deal)
    assert info.value.status == 403
    assert raw(hub, "GET", "/crm/v3/pipelines/deals").body["category"] == "MISSING_SCOPES"
    hub.revoke_token(status=401)
    assert raw(hub, "GET", "/crm/v3/pipelines/deals").status == 401
    hub.restore_token()
    assert client.crm.deals.basic_api.get_by_id(seeded.deal).id == seeded.deal


def test_missing_scope_names_the_scope(hub: FakeHubSpot, seeded: Seeded) -> None:
    hub.remove_scope("crm.objects.owners.read")
    answer = raw(hub, "GET", f"/crm/v3/owners/{seeded.owner}")
    assert answer.status == 403
    assert answer.body["category"] == "MISSING_SCOPES"
    assert answer.body["errors"][0]["context"]["requiredGranularScopes"] == [
        "crm.objects.owners.read"
    ]
    assert raw(hub, "GET", f"/crm/v3/objects/deals/{seeded.deal}").status == 200


def test_every_answer_carries_the_rate_limit_headers(hub: FakeHubSpot) -> None:
    first = raw(hub, "GET", "/crm/v3/pipelines/deals")
    second = raw(hub, "GET", "/crm/v3/objects/deals/404")
    for answer in (first, second):
        assert all(name in answer.headers for name in HEADERS)
    assert first.headers["X-HubSpot-RateLimit-Max"] == "100"
    assert first.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert first.headers["X-HubSpot-RateLimit-Remaining"] == "99"
    assert second.headers["X-HubSpot-RateLimit-Remaining"] == "98"
    assert int(second.headers["X-HubSpot-RateLimit-Daily-Remaining"]) == 250_000 - 2


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_101st_call_in_ten_seconds_is_a_429_until_the_window_rolls() -> None:
    clock = FakeClock()
    with FakeHubSpot(token=TOKEN, rate_limits=True, monotonic=clock) as hub:
        statuses = [raw(hub, "GET", "/crm/v3/pipelines/deals").status for _ in range(100)]
        clock.now += 9.9
        refused = raw(hub, "GET", "/crm/v3/pipelines/deals")
        assert statuses == [200] * 100
        assert refused.status == 429
        assert refused.body["policyName"] == "TEN_SECONDLY_ROLLING"
        assert refused.body["category"] == "RATE_LIMITS"
        assert refused.body["errorType"] == "RATE_LIMIT"
        assert "Retry-After" not in refused.headers
        assert refused.headers["X-HubSpot-RateLimit-Remaining"] == "0"
        clock.now += 0.1
        assert raw(hub, "GET", "/crm/v3/pipelines/deals").status == 200
        assert hub.call_count("GET /crm/v3/pipelines/deals") == 102


def test_a_compressed_clock_rolls_the_window_in_real_time() -> None:
    # time_scale=20: HubSpot's 10-second window lasts half a real second.
    with FakeHubSpot(token=TOKEN, rate_limits=True, burst_max=5, time_scale=20) as hub:
        statuses = [raw(hub, "GET", "/crm/v3/pipelines/deals").status for _ in range(6)]
        assert statuses == [200] * 5 + [429]
        refused = raw(hub, "GET", "/crm/v3/pipelines/deals")
        assert refused.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "500"
        time.sleep(0.55)
        assert raw(hub, "GET", "/crm/v3/pipelines/deals").status == 200


def test_configurable_burst_and_daily_limits() -> None:
    with FakeHubSpot(token=TOKEN, rate_limits=True, burst_max=3, daily_max=5) as hub:
        statuses = [raw(hub, "GET", "/crm/v3/pipelines/deals").status for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        assert raw(hub, "GET", "/crm/v3/pipelines/deals").headers["X-HubSpot-RateLimit-Max"] == "3"
    clock = FakeClock()
    with FakeHubSpot(token=TOKEN, rate_limits=True, daily_max=5, monotonic=clock) as hub:
        for _ in range(5):
            assert raw(hub, "GET", "/crm/v3/pipelines/deals").status == 200
        refused = raw(hub, "GET", "/crm/v3/pipelines/deals")
        assert (refused.status, refused.body["policyName"]) == (429, "DAILY")
        assert refused.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"
        clock.now += 86_400
        assert raw(hub, "GET", "/crm/v3/pipelines/deals").status == 200


def test_limits_are_counted_but_not_enforced_by_default(hub: FakeHubSpot) -> None:
    for _ in range(101):
        answer = raw(hub, "GET", "/crm/v3/pipelines/deals")
    assert answer.status == 200
    assert answer.headers["X-HubSpot-RateLimit-Remaining"] == "0"


def test_unknown_route_and_bad_json(hub: FakeHubSpot) -> None:
    assert raw(hub, "GET", "/crm/v3/objects/tickets/1").status == 400  # a type we don't hold
    assert raw(hub, "GET", "/crm/v9/nothing").status == 404
    assert raw(hub, "GET", "/crm/v3/objects/deals/search").status == 404  # GET of id "search"
