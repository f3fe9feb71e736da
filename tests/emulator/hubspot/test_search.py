"""Deal search as the connector polls it: filters on hs_lastmodifieddate, sorts, paging,
HubSpot's page-size and result caps, and the search-only rate limit."""

from __future__ import annotations

from typing import Any

import pytest
from hubspot.crm.deals import ApiException

from bot.emulator.hubspot import FakeHubSpot

from .conftest import TOKEN, raw

BASE_MS = 1_717_200_000_000  # 2024-06-01T00:00:00Z


@pytest.fixture
def deals(hub: FakeHubSpot) -> list[str]:
    """250 deals modified one minute apart; every fifth one is in Contract Sent."""
    return [
        hub.add_deal(
            f"Deal {n:03d}",
            amount=1000 * n,
            stage="contractsent" if n % 5 == 0 else "qualifiedtobuy",
            modified_ms=BASE_MS + n * 60_000,
        )
        for n in range(250)
    ]


def _since(ms: int, operator: str = "GT", **extra: Any) -> dict[str, Any]:
    return {
        "filterGroups": [
            {
                "filters": [
                    {"propertyName": "hs_lastmodifieddate", "operator": operator, "value": ms}
                ]
            }
        ],
        "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
        "properties": ["dealname", "dealstage", "hs_lastmodifieddate"],
        **extra,
    }


def test_pages_through_everything_modified_since_a_cursor(client: Any, deals: list[str]) -> None:
    seen: list[str] = []
    after: str | None = None
    pages = 0
    while True:
        request = _since(BASE_MS + 49 * 60_000, limit=100, **({"after": after} if after else {}))
        page = client.crm.deals.search_api.do_search(request)
        pages += 1
        assert page.total == 200
        seen += [d.properties["dealname"] for d in page.results]
        if page.paging is None:
            break
        after = page.paging.next.after
    assert pages == 2
    assert seen == [f"Deal {n:03d}" for n in range(50, 250)]


def test_operators(client: Any, deals: list[str]) -> None:
    def count(operator: str, value: Any, name: str = "hs_lastmodifieddate") -> int:
        flt = {"propertyName": name, "operator": operator, "value": value}
        request = {"filterGroups": [{"filters": [flt]}], "limit": 0}
        return client.crm.deals.search_api.do_search(request).total

    cursor = BASE_MS + 100 * 60_000
    assert count("GT", cursor) == 149
    assert count("GTE", cursor) == 150
    assert count("LT", cursor) == 100
    assert count("GTE", "2024-06-01T01:40:00Z") == 150  # ISO values work like millis
    assert count("EQ", "contractsent", "dealstage") == 50
    assert count("EQ", "CONTRACTSENT", "dealstage") == 50
    assert count("GT", "200000", "amount") == 49


def test_filter_groups_or_filters_and(client: Any, deals: list[str]) -> None:
    stage = {"propertyName": "dealstage", "operator": "EQ", "value": "contractsent"}
    recent = {"propertyName": "amount", "operator": "GTE", "value": "240000"}
    both = client.crm.deals.search_api.do_search({"filterGroups": [{"filters": [stage, recent]}]})
    assert both.total == 2
    either = client.crm.deals.search_api.do_search(
        {"filterGroups": [{"filters": [stage]}, {"filters": [recent]}]}
    )
    assert either.total == 50 + 10 - 2


def test_sort_descending_and_default_properties(client: Any, deals: list[str]) -> None:
    page = client.crm.deals.search_api.do_search(
        {"sorts": [{"propertyName": "amount", "direction": "DESCENDING"}], "limit": 3}
    )
    assert [d.properties["dealname"] for d in page.results] == ["Deal 249", "Deal 248", "Deal 247"]
    assert set(page.results[0].properties) >= {"dealname", "dealstage", "pipeline", "amount"}
    assert page.paging.next.after == "3"


def test_limit_above_200_is_a_400(client: Any, hub: FakeHubSpot) -> None:
    with pytest.raises(ApiException) as info:
        client.crm.deals.search_api.do_search({"limit": 201})
    assert info.value.status == 400
    answer = raw(hub, "POST", "/crm/v3/objects/deals/search", {"limit": 201})
    assert answer.body["category"] == "VALIDATION_ERROR"


def test_paging_stops_at_10000_results(hub: FakeHubSpot) -> None:
    assert raw(hub, "POST", "/crm/v3/objects/deals/search", {"after": "10000"}).status == 400
    assert raw(hub, "POST", "/crm/v3/objects/deals/search", {"after": "9999"}).status == 200


def test_search_is_limited_to_five_a_second() -> None:
    with FakeHubSpot(token=TOKEN, rate_limits=True) as hub:
        statuses = [raw(hub, "POST", "/crm/v3/objects/deals/search", {}).status for _ in range(6)]
        assert statuses == [200] * 5 + [429]
        refused = raw(hub, "POST", "/crm/v3/objects/deals/search", {})
        assert refused.body["policyName"] == "SECONDLY"
        assert refused.body["category"] == "RATE_LIMITS"
        assert raw(hub, "GET", "/crm/v3/pipelines/deals").status == 200  # other calls go on


def test_search_trails_writes_when_the_index_lags() -> None:
    now = [BASE_MS]
    with FakeHubSpot(token=TOKEN, search_lag_ms=3000, clock_ms=lambda: now[0]) as hub:
        deal = hub.add_deal("Lagging", stage="qualifiedtobuy")
        search = "/crm/v3/objects/deals/search"
        assert raw(hub, "POST", search, {}).body["total"] == 0  # not indexed yet
        now[0] += 3000
        assert raw(hub, "POST", search, {}).body["results"][0]["id"] == deal
        hub.move_stage(deal, "contractsent")
        stale = raw(hub, "POST", search, {}).body["results"][0]["properties"]["dealstage"]
        assert stale == "qualifiedtobuy"
        assert raw(hub, "GET", f"/crm/v3/objects/deals/{deal}").body["properties"]["dealstage"] == (
            "contractsent"
        )  # reads by id are current
        now[0] += 3000
        fresh = raw(hub, "POST", search, {}).body["results"][0]["properties"]["dealstage"]
        assert fresh == "contractsent"
