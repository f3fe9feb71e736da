"""Webhook deliveries: payload fields as HubSpot documents them, and a v3 signature the
official client's `Signature.is_valid` accepts."""

from __future__ import annotations

import json
import time

from hubspot.utils.signature import Signature

from bot.emulator.hubspot import FakeHubSpot, sign_request
from bot.emulator.hubspot.webhooks import signed_uri

from .conftest import Seeded, raw

URL = "https://careintro.example/hubspot/events?tenant=acme%3Aeu&x=%2Fy"
COMMON = {"eventId", "subscriptionId", "portalId", "appId", "occurredAt", "subscriptionType"}


def test_signature_v3_validates_with_the_official_client(hub: FakeHubSpot, seeded: Seeded) -> None:
    events = [hub.move_stage(seeded.deal, "contractsent")]
    delivery = hub.sign_webhook(events, URL)
    headers = delivery.headers
    assert Signature.is_valid(
        signature=headers["X-HubSpot-Signature-v3"],
        client_secret=hub.client_secret,
        request_body=delivery.body.decode(),
        http_uri=signed_uri(URL),
        http_method="POST",
        signature_version="v3",
        timestamp=headers["X-HubSpot-Request-Timestamp"],
    )
    assert Signature.is_valid(
        signature=headers["X-HubSpot-Signature"],
        client_secret=hub.client_secret,
        request_body=delivery.body.decode(),
        signature_version="v1",
    )
    assert delivery.events == events


def test_the_signed_uri_decodes_the_listed_escapes_only() -> None:
    assert signed_uri(URL) == "https://careintro.example/hubspot/events?tenant=acme:eu&x=/y"
    assert signed_uri("https://h/p?q=a%20b%2cc") == "https://h/p?q=a%20b,c"


def test_a_wrong_secret_or_old_timestamp_gives_another_signature() -> None:
    body = [{"eventId": 1}]
    now = int(time.time() * 1000)
    good = sign_request(body, url=URL, client_secret="s", timestamp_ms=now)
    other = sign_request(body, url=URL, client_secret="t", timestamp_ms=now)
    later = sign_request(body, url=URL, client_secret="s", timestamp_ms=now + 1)
    signatures = {d.headers["X-HubSpot-Signature-v3"] for d in (good, other, later)}
    assert len(signatures) == 3
    raw_body = sign_request(b"not json", url=URL, client_secret="s")
    assert raw_body.body == b"not json"


def test_payloads_carry_hubspots_fields(hub: FakeHubSpot, seeded: Seeded) -> None:
    ev = hub.events
    change = ev.deal_property_change(seeded.deal, "amount", "50000")
    created = ev.deal_creation(seeded.deal)
    deleted = hub.delete_deal(seeded.deal)
    assoc = ev.deal_association_change(seeded.deal, seeded.company, primary=True)
    generic = ev.object_property_change(seeded.deal, "dealstage", "closedwon")
    for event in (change, created, deleted, assoc, generic):
        assert set(event) >= COMMON and event["portalId"] == hub.portal_id
        assert event["attemptNumber"] == 0
    assert {change["propertyName"], change["propertyValue"], change["changeSource"]} == {
        "amount",
        "50000",
        "CRM_UI",
    }
    assert (created["subscriptionType"], created["changeFlag"]) == ("deal.creation", "CREATED")
    assert (deleted["subscriptionType"], deleted["changeFlag"]) == ("deal.deletion", "DELETED")
    assert assoc["associationType"] == "DEAL_TO_COMPANY"
    assert (assoc["fromObjectId"], assoc["toObjectId"]) == (int(seeded.deal), int(seeded.company))
    assert assoc["associationRemoved"] is False and assoc["isPrimaryAssociation"] is True
    assert (generic["subscriptionType"], generic["objectTypeId"]) == (
        "object.propertyChange",
        "0-3",
    )
    ids = [e["eventId"] for e in (change, created, deleted, assoc, generic)]
    assert ids == sorted(set(ids))
    json.dumps([change, created, deleted, assoc, generic])  # one JSON array, as HubSpot posts


def test_a_deleted_deal_is_gone_from_the_api(hub: FakeHubSpot, seeded: Seeded) -> None:
    hub.delete_deal(seeded.deal)
    assert raw(hub, "GET", f"/crm/v3/objects/deals/{seeded.deal}").status == 404
    assert raw(hub, "POST", "/crm/v3/objects/deals/search", {}).body["total"] == 0
