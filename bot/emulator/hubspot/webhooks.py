"""HubSpot webhook deliveries: event payloads and the v3 request signature.

Payload fields are those of the Webhooks API guide's "Webhook payloads" table:
`eventId`, `subscriptionId`, `portalId`, `appId`, `occurredAt` (epoch ms),
`subscriptionType`, `attemptNumber`, `objectId`, `changeSource`, `sourceId`, plus
`propertyName`/`propertyValue` for property changes, `changeFlag` for creations and
deletions, and `associationType`/`fromObjectId`/`toObjectId`/`associationRemoved`/
`isPrimaryAssociation` for association changes. The generic `object.*` subscriptions
add `objectTypeId` ("0-3" for deals). HubSpot posts a JSON *array* of such events.

Signature v3 ("Validating requests" guide): base64 of HMAC-SHA256, keyed with the app's
client secret, over `method + uri + body + timestamp`, where `timestamp` is the
`X-HubSpot-Request-Timestamp` header (epoch ms) and `uri` is the full URL with these
percent-encodings decoded: %3A %2F %3F %40 %21 %24 %27 %28 %29 %2A %2C %3B. HubSpot also
sends the older v1 signature (hex SHA-256 of secret + body).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DECODED_IN_URI = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}


def signed_uri(url: str) -> str:
    """The URI as HubSpot signs it: the listed percent-encodings decoded (either case)."""
    for encoded, char in DECODED_IN_URI.items():
        url = url.replace(encoded, char).replace(encoded.lower(), char)
    return url


def signature_v3(client_secret: str, method: str, url: str, body: bytes, timestamp: int) -> str:
    source = method.encode() + signed_uri(url).encode() + body + str(timestamp).encode()
    digest = hmac.new(client_secret.encode(), source, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@dataclass(frozen=True)
class SignedWebhook:
    """A delivery ready to send: `requests.post(w.url, data=w.body, headers=w.headers)`."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes

    @property
    def events(self) -> list[dict[str, Any]]:
        return json.loads(self.body)


def sign_request(
    events: list[dict[str, Any]] | bytes,
    *,
    url: str,
    client_secret: str,
    timestamp_ms: int | None = None,
    method: str = "POST",
) -> SignedWebhook:
    """Sign a batch of events (or raw bytes, to test malformed bodies) the way HubSpot does."""
    body = events if isinstance(events, bytes) else json.dumps(events).encode()
    timestamp = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    v1 = hashlib.sha256(client_secret.encode() + body).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "HubSpot Connect 2.0 (http://dev.hubspot.com/) - WebhooksExecutorDaemon",
        "X-HubSpot-Request-Timestamp": str(timestamp),
        "X-HubSpot-Signature-v3": signature_v3(client_secret, method, url, body, timestamp),
        "X-HubSpot-Signature": v1,
        "X-HubSpot-Signature-Version": "v1",
    }
    return SignedWebhook(method, url, headers, body)


@dataclass
class WebhookEvents:
    """Builds realistic events for one portal and app; ids and times go up per event."""

    portal_id: int
    app_id: int = 1160452
    clock: Callable[[], int] = field(default=lambda: int(time.time() * 1000))
    _ids: itertools.count = field(default_factory=lambda: itertools.count(3816279340))

    def _base(self, subscription_type: str, subscription_id: int, **fields: Any) -> dict:
        return {
            "eventId": next(self._ids),
            "subscriptionId": subscription_id,
            "portalId": self.portal_id,
            "appId": self.app_id,
            "occurredAt": self.clock(),
            "subscriptionType": subscription_type,
            "attemptNumber": 0,
            **fields,
        }

    def deal_property_change(
        self,
        deal_id: str | int,
        name: str,
        value: str,
        *,
        change_source: str = "CRM_UI",
        source_id: str = "userId:1234567",
    ) -> dict[str, Any]:
        return self._base(
            "deal.propertyChange",
            25,
            objectId=int(deal_id),
            propertyName=name,
            propertyValue=value,
            changeSource=change_source,
            sourceId=source_id,
        )

    def deal_creation(self, deal_id: str | int, *, change_source: str = "CRM_UI") -> dict:
        return self._base(
            "deal.creation", 22, objectId=int(deal_id), changeFlag="CREATED",
            changeSource=change_source,
        )  # fmt: skip

    def deal_deletion(self, deal_id: str | int, *, change_source: str = "CRM_UI") -> dict:
        return self._base(
            "deal.deletion", 23, objectId=int(deal_id), changeFlag="DELETED",
            changeSource=change_source,
        )  # fmt: skip

    def deal_association_change(
        self,
        deal_id: str | int,
        to_id: str | int,
        *,
        association_type: str = "DEAL_TO_COMPANY",
        removed: bool = False,
        primary: bool = False,
        change_source: str = "USER",
    ) -> dict[str, Any]:
        return self._base(
            "deal.associationChange",
            26,
            changeSource=change_source,
            associationType=association_type,
            fromObjectId=int(deal_id),
            toObjectId=int(to_id),
            associationRemoved=removed,
            isPrimaryAssociation=primary,
        )

    def object_property_change(
        self,
        object_id: str | int,
        name: str,
        value: str,
        *,
        object_type_id: str = "0-3",
        change_source: str = "CRM_UI",
        source_id: str = "userId:1234567",
    ) -> dict[str, Any]:
        return self._base(
            "object.propertyChange",
            31,
            objectTypeId=object_type_id,
            objectId=int(object_id),
            propertyName=name,
            propertyValue=value,
            changeSource=change_source,
            sourceId=source_id,
            isSensitive=False,
        )

    def object_creation(self, object_id: str | int, *, object_type_id: str = "0-3") -> dict:
        return self._base(
            "object.creation", 32, objectTypeId=object_type_id, objectId=int(object_id),
            changeFlag="CREATED", changeSource="CRM_UI",
        )  # fmt: skip
