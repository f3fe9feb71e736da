"""Scripted faults: 5xx, 429 with and without Retry-After, and dropped answers before
and after the call took effect (the crash-between-note-and-record case)."""

from __future__ import annotations

import time
from typing import Any

import pytest
import urllib3
from hubspot.crm.objects.notes import ApiException, SimplePublicObjectInputForCreate

from bot.emulator.hubspot import FakeHubSpot

from .conftest import TOKEN, Seeded, raw

NOTES = "POST /crm/v3/objects/notes"


def _note(deal_id: str) -> SimplePublicObjectInputForCreate:
    return SimplePublicObjectInputForCreate(
        properties={"hs_note_body": "Care team introduced", "hs_timestamp": "1717200000000"},
        associations=[
            {
                "to": {"id": deal_id},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 214}],
            }
        ],
    )


@pytest.mark.parametrize("status", [500, 502, 503])
def test_next_calls_answer_a_5xx_then_recover(
    hub: FakeHubSpot, seeded: Seeded, status: int
) -> None:
    hub.fail_next(f"GET /crm/v3/objects/deals/{seeded.deal}", status, count=2)
    path = f"/crm/v3/objects/deals/{seeded.deal}"
    first, second, third = (raw(hub, "GET", path) for _ in range(3))
    assert (first.status, second.status, third.status) == (status, status, 200)
    assert first.body["status"] == "error"
    assert [c.fault for c in hub.calls_to(f"GET {path}")] == [f"http_{status}"] * 2 + [None]


def test_glob_patterns_pick_the_calls(hub: FakeHubSpot, seeded: Seeded) -> None:
    hub.fail_next("GET /crm/v3/objects/*", 503)
    assert raw(hub, "GET", "/crm/v3/pipelines/deals").status == 200
    assert raw(hub, "GET", f"/crm/v3/objects/companies/{seeded.company}").status == 503
    assert raw(hub, "GET", f"/crm/v3/objects/companies/{seeded.company}").status == 200


def test_429_with_and_without_retry_after(hub: FakeHubSpot) -> None:
    hub.rate_limit_next("/crm/v3/pipelines/*", retry_after=2)
    hub.rate_limit_next("/crm/v3/pipelines/*")
    with_header = raw(hub, "GET", "/crm/v3/pipelines/deals")
    without = raw(hub, "GET", "/crm/v3/pipelines/deals")
    assert (with_header.status, with_header.headers.get("Retry-After")) == (429, "2")
    assert with_header.body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert without.status == 429 and "Retry-After" not in without.headers
    assert raw(hub, "GET", "/crm/v3/pipelines/deals").status == 200


def test_retry_after_is_compressed_with_the_clock() -> None:
    with FakeHubSpot(token=TOKEN, time_scale=10) as hub:
        hub.rate_limit_next("*", retry_after=5)
        assert raw(hub, "GET", "/crm/v3/pipelines/deals").headers["Retry-After"] == "0.5"


def test_dropped_before_the_effect_creates_nothing(
    client: Any, hub: FakeHubSpot, seeded: Seeded
) -> None:
    hub.drop_next(NOTES)
    with pytest.raises(urllib3.exceptions.HTTPError):
        client.crm.objects.notes.basic_api.create(_note(seeded.deal))
    assert hub.notes() == []
    assert [(c.status, c.fault) for c in hub.calls_to(NOTES)] == [(None, "drop")]


def test_dropped_after_the_effect_leaves_the_note_on_the_deal(
    client: Any, hub: FakeHubSpot, seeded: Seeded
) -> None:
    hub.drop_next(NOTES, after_effect=True)
    with pytest.raises(urllib3.exceptions.HTTPError):
        client.crm.objects.notes.basic_api.create(_note(seeded.deal))
    (note,) = hub.notes_for_deal(seeded.deal)
    assert note["properties"]["hs_note_body"] == "Care team introduced"
    assert hub.calls_to(NOTES)[0].fault == "drop_after_effect"
    # what a careful connector does next: find it rather than write a second one
    found = client.crm.associations.v4.basic_api.get_page("deals", seeded.deal, "notes")
    assert [r.to_object_id for r in found.results] == [note["id"]]


def test_faulted_calls_still_reach_the_call_log(
    client: Any, hub: FakeHubSpot, seeded: Seeded
) -> None:
    hub.fail_next(NOTES, 502)
    with pytest.raises(ApiException) as info:
        client.crm.objects.notes.basic_api.create(_note(seeded.deal))
    assert info.value.status == 502
    client.crm.objects.notes.basic_api.create(_note(seeded.deal))
    assert hub.call_count(NOTES) == 2
    assert len(hub.notes()) == 1
    record = hub.calls_to(NOTES)[-1]
    assert record.body["associations"][0]["types"][0]["associationTypeId"] == 214
    hub.reset_calls()
    assert hub.calls == []


def test_clear_faults(hub: FakeHubSpot) -> None:
    hub.fail_next("*", 500, count=5)
    hub.clear_faults()
    assert raw(hub, "GET", "/crm/v3/pipelines/deals").status == 200


def test_a_delayed_call_times_out_at_the_client_but_happens(
    client: Any, hub: FakeHubSpot, seeded: Seeded
) -> None:
    hub.delay_next(NOTES, 0.5)
    with pytest.raises(urllib3.exceptions.HTTPError):
        client.crm.objects.notes.basic_api.create(_note(seeded.deal), _request_timeout=0.1)
    deadline = time.monotonic() + 5
    while not hub.notes() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(hub.notes_for_deal(seeded.deal)) == 1
