"""`/crm/hubspot`: every deal subscription HubSpot documents, other events counted and
ignored, deletions, repeats, and the v3 signature over the URI as HubSpot signs it.

Events are built by the HubSpot fake (`hub.events.*`, shaped from the Webhooks API's
payload table) and signed by it (`hub.sign_webhook`), not by our code.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.emulator.hubspot import FakeHubSpot
from bot.models import CrmEvent, Deal, Introduction, IntroStatus
from bot.slack.requests import post
from tests.crm.conftest import HUBSPOT_SECRET, hubspot_headers
from tests.factories import make_deal, make_member

DEAL = "9001"


@pytest.fixture
def hub() -> Iterator[FakeHubSpot]:
    with FakeHubSpot(client_secret=HUBSPOT_SECRET) as server:
        yield server


def deliver(hub: FakeHubSpot, url: str, events: Any) -> tuple[int, dict[str, Any]]:
    signed = hub.sign_webhook(events if isinstance(events, bytes) else list(events), url)
    status, raw = post(signed.url, signed.body.decode(), signed.headers)
    return status, json.loads(raw)


def rows(bot, model) -> list:
    with Session(bot.engine) as session:
        return list(session.exec(select(model)))


def applied(bot, timeout: float = 10) -> list[CrmEvent]:
    deadline = time.monotonic() + timeout
    while any(e.processed_at is None for e in rows(bot, CrmEvent)):
        assert time.monotonic() < deadline, "events still pending"
        time.sleep(0.05)
    return rows(bot, CrmEvent)


def object_association_change(hub: FakeHubSpot, deal_id: str, company_id: str) -> dict:
    """The generic `object.associationChange`: the legacy fields, with object type ids."""
    event = hub.events.deal_association_change(deal_id, company_id)
    return event | {"subscriptionType": "object.associationChange", "fromObjectTypeId": "0-3",
                    "toObjectTypeId": "0-2"}  # fmt: skip


def test_every_documented_deal_subscription_is_accepted(crm_bot, fake, hub):
    bot = crm_bot()
    e = hub.events
    batch = [
        e.deal_creation(DEAL),
        e.deal_property_change(DEAL, "dealstage", "appointmentscheduled"),
        e.deal_property_change(DEAL, "hs_next_step", "call the CTO"),  # any property
        e.deal_association_change(DEAL, "5001"),
        e.deal_deletion("9002"),
        e.object_creation("9003"),
        e.object_property_change("9003", "dealstage", "qualifiedtobuy"),
        object_association_change(hub, "9003", "5001"),
    ]
    status, answer = deliver(hub, f"{bot.url}/crm/hubspot", batch)
    assert status == 200, answer
    assert (answer["ok"], answer["accepted"], answer["ignored"], answer["new"]) == (True, 8, 0, 8)
    events = applied(bot)
    assert sorted(e.crm_id for e in events) == [DEAL] * 4 + ["9002"] + ["9003"] * 3
    assert all(e.error is None for e in events), [e.error for e in events]
    deals = {d.crm_id: d for d in rows(bot, Deal)}
    assert deals[DEAL].stage == "appointmentscheduled"
    assert deals["9003"].stage == "qualifiedtobuy" and deals["9003"].source == "hubspot"


def test_unrelated_events_in_a_batch_are_counted_not_refused(crm_bot, fake, hub):
    bot = crm_bot()
    make_member(bot.engine)
    make_deal(bot.engine, DEAL, watched=True)
    e = hub.events
    contact = e.object_creation("601", object_type_id="0-1")
    unrelated = [
        contact | {"subscriptionType": "contact.creation"},
        e.deal_property_change("3", "name", "x") | {"subscriptionType": "company.propertyChange"},
        e.object_property_change("601", "email", "a@b.example", object_type_id="0-1"),
        contact,  # object.creation of a contact
        e.deal_creation(DEAL) | {"subscriptionType": "deal.merge"},
        e.deal_creation(DEAL) | {"subscriptionType": "conversation.creation"},
        {"eventId": 7, "objectId": 1},  # no subscriptionType
        42,
        "text",
    ]
    stage = e.deal_property_change(DEAL, "dealstage", "contractsent")
    status, answer = deliver(hub, f"{bot.url}/crm/hubspot", [*unrelated[:4], stage, *unrelated[4:]])
    assert status == 200, answer
    assert (answer["accepted"], answer["ignored"]) == (1, len(unrelated))
    [intro] = bot.wait_idle_for_one()
    assert intro.status == IntroStatus.DONE, intro.last_error


def test_an_association_change_has_no_object_id_and_is_stored_for_its_deal(crm_bot, fake, hub):
    bot = crm_bot()
    event = hub.events.deal_association_change(DEAL, "5001", association_type="DEAL_TO_CONTACT")
    assert "objectId" not in event  # as HubSpot sends it
    reverse = hub.events.deal_association_change("5001", DEAL, association_type="COMPANY_TO_DEAL")
    status, answer = deliver(hub, f"{bot.url}/crm/hubspot", [event, reverse])
    assert status == 200 and answer["accepted"] == 2, answer
    [first, second] = applied(bot)
    assert first.crm_id == second.crm_id == DEAL and first.error is None
    assert json.loads(first.payload)["association"] == "DEAL_TO_CONTACT"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not valid JSON"),
        (b'{"subscriptionType": "deal.creation"}', "JSON array"),
    ],
)
def test_a_body_that_is_not_a_json_array_is_400(crm_bot, fake, hub, body, reason):
    bot = crm_bot()
    status, answer = deliver(hub, f"{bot.url}/crm/hubspot", body)
    assert status == 400 and reason in answer["error"]
    assert rows(bot, CrmEvent) == []


def test_a_deal_event_missing_its_deal_is_400_naming_it(crm_bot, fake, hub):
    bot = crm_bot()
    broken = hub.events.deal_property_change(DEAL, "dealstage", "contractsent")
    del broken["objectId"]
    status, answer = deliver(hub, f"{bot.url}/crm/hubspot", [broken])
    assert status == 400 and "[0].objectId: required" in answer["error"]


def test_deletion_cancels_an_introduction_not_started(crm_bot, fake, hub):
    web_only = crm_bot()
    web_only.runtime.worker.stop()  # nothing is applied until a worker runs
    make_member(web_only.engine)
    make_deal(web_only.engine, DEAL, watched=True)
    url = f"{web_only.url}/crm/hubspot"
    deliver(hub, url, [hub.events.deal_property_change(DEAL, "dealstage", "contractsent")])
    deliver(hub, url, [hub.events.deal_deletion(DEAL)])
    worker_bot = crm_bot()
    applied(worker_bot)
    [intro] = worker_bot.wait_idle()
    assert intro.status == IntroStatus.CANCELLED
    [deal] = rows(worker_bot, Deal)
    assert deal.deleted_at is not None
    assert fake.calls_to("conversations.create") == []


def test_deletion_after_the_introduction_started_leaves_it(crm_bot, fake, hub):
    bot = crm_bot()
    make_member(bot.engine)
    make_deal(bot.engine, DEAL, watched=True)
    url = f"{bot.url}/crm/hubspot"
    deliver(hub, url, [hub.events.deal_property_change(DEAL, "dealstage", "contractsent")])
    [intro] = bot.wait_idle_for_one()
    deliver(hub, url, [hub.events.deal_deletion(DEAL)])
    applied(bot)
    [intro] = rows(bot, Introduction)
    assert intro.status == IntroStatus.DONE
    # a deleted deal moving again is not introduced: nothing queued for it
    deliver(hub, url, [hub.events.deal_property_change(DEAL, "dealstage", "closedwon")])
    applied(bot)
    assert not rows(bot, Introduction)[0].late


ENCODED_QUERY = (
    "?portal=62515&next=https%3A%2F%2Fx.example%2Fa%3Fb%3D1%40c%21d%24e%27f%28g%29h%2Ai%2Cj%3Bk"
    "&note=a%20b%26c"  # %20 and %26 are not decoded by HubSpot
)


def test_the_signature_is_checked_over_the_uri_as_hubspot_signs_it(crm_bot, fake, hub):
    bot = crm_bot()
    url = f"{bot.url}/crm/hubspot{ENCODED_QUERY}"
    status, answer = deliver(hub, url, [hub.events.deal_creation(DEAL)])
    assert status == 200 and answer["accepted"] == 1, answer
    # signed over the URI as sent, without HubSpot's decoding: refused
    body = json.dumps([hub.events.deal_creation("9002")])
    status, _ = post(url, body, hubspot_headers(url, body, secret=HUBSPOT_SECRET))
    assert status == 401


def test_the_decoded_uri_is_used_with_public_url_too(crm_bot, fake, hub):
    bot = crm_bot(public_url="https://careintro.example")
    signed = hub.sign_webhook([hub.events.deal_creation(DEAL)],
                              f"https://careintro.example/crm/hubspot{ENCODED_QUERY}")  # fmt: skip
    status, raw = post(f"{bot.url}/crm/hubspot{ENCODED_QUERY}", signed.body.decode(),
                       signed.headers)  # fmt: skip
    assert status == 200, raw


def test_repeats_of_every_kind_are_recognised(crm_bot, fake, hub):
    """HubSpot's eventId is not unique: a retry is the same deal, subscription, value and
    occurredAt, whatever its eventId or attemptNumber."""
    bot = crm_bot()
    e = hub.events
    batch = [
        e.deal_creation(DEAL),
        e.deal_property_change(DEAL, "dealstage", "contractsent"),
        e.deal_association_change(DEAL, "5001"),
        e.deal_deletion("9002"),
    ]
    url = f"{bot.url}/crm/hubspot"
    assert deliver(hub, url, batch)[1]["new"] == 4
    for attempt in (1, 2):
        retry = [ev | {"eventId": ev["eventId"] + 1000 * attempt, "attemptNumber": attempt}
                 for ev in batch]  # fmt: skip
        status, answer = deliver(hub, url, retry)
        assert status == 200 and (answer["new"], answer["duplicates"]) == (0, 4)
    assert len(rows(bot, CrmEvent)) == 4


def test_the_same_change_by_both_subscription_formats_is_one_event(crm_bot, fake, hub):
    """An app subscribed to `deal.propertyChange` and `object.propertyChange` gets the
    change twice: it is stored once, and introduces once."""
    bot = crm_bot()
    make_member(bot.engine)
    make_deal(bot.engine, DEAL, watched=True)
    legacy = hub.events.deal_property_change(DEAL, "dealstage", "contractsent")
    generic = hub.events.object_property_change(DEAL, "dealstage", "contractsent")
    generic["occurredAt"] = legacy["occurredAt"]
    status, answer = deliver(hub, f"{bot.url}/crm/hubspot", [legacy, generic])
    assert status == 200 and (answer["new"], answer["duplicates"]) == (1, 1), answer
    [intro] = bot.wait_idle_for_one()
    assert intro.status == IntroStatus.DONE
    assert len(fake.calls_to("conversations.create")) == 1
