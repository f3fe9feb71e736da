"""A local fake of HubSpot's CRM API, so the CRM connector runs without a real portal.

`FakeHubSpot` serves the CRM v3/v4 endpoints the connector uses on 127.0.0.1 (an
OS-chosen port), stateful, with HubSpot's shapes, errors, rate limits (on a clock that
can be sped up) and scripted faults; the test suite drives it with the official
`hubspot-api-client`:

    with FakeHubSpot(token="pat-na1-test") as hub:
        client = hubspot.Client.create(access_token="pat-na1-test", host=hub.url)

Where each shape comes from (HubSpot developer docs, and the generated models of
`hubspot-api-client` 12, github.com/HubSpot/hubspot-api-python, whose client-side
validation rejects a missing required field):

- records, `properties`/`associations` on GET, batch read: "CRM API | Objects" and the
  per-object reference pages (`/crm/v3/objects/{deals,companies,contacts}`); models
  `SimplePublicObjectWithAssociations`, `BatchResponseSimplePublicObject` (store.py,
  handlers.py).
- notes: "Engagements | Notes" (`hs_timestamp` required, `associations` with
  `associationCategory` HUBSPOT_DEFINED and `associationTypeId` 214 note→deal).
- association reads: "Associations v4" (`/crm/v4/objects/{type}/{id}/associations/{to}`,
  `toObjectId` + `associationTypes`) and its "association type id values" table.
- search: "Search the CRM" (operators, one sort, 200 a page, 10,000 results, 5 a
  second) and the 2024 filter-limit changelog (search.py).
- owners: "CRM API | Owners" (`PublicOwner`: id, email, firstName, lastName, userId...).
- pipelines: "CRM API | Pipelines" (stage `metadata.isClosed`/`probability` as strings;
  the default pipeline's stages), shapes.py.
- errors and limits: "API usage guidelines and limits" (429 body with `policyName`,
  `X-HubSpot-RateLimit-*` headers, 100 per 10 s burst for private apps) and the error
  object of every v3 endpoint (`status`, `message`, `correlationId`, `category`).
- webhooks: "Webhooks API" payload table and "Validating requests" (signature v3).

Only the standard library is used, so the fake ships with the bot like `FakeSlack`.
"""

from bot.emulator.common.calls import CallRecord
from bot.emulator.hubspot.fake import FakeHubSpot
from bot.emulator.hubspot.webhooks import SignedWebhook, WebhookEvents, sign_request

__all__ = ["CallRecord", "FakeHubSpot", "SignedWebhook", "WebhookEvents", "sign_request"]
