"""Verifying and reading CRM webhooks. Pure functions: the HTTP layer is in bot.web."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from bot.crm.records import DealRecord, RecordError, parse_record

MAX_SKEW_SECONDS = 5 * 60
MAX_EVENTS = 1000
HUBSPOT_PROPERTIES = {"dealstage": "stage", "amount": "amount", "closedate": "close_date"}
# Subscription actions we act on, for `deal.*` and for `object.*` of type deal ("0-3").
HUBSPOT_ACTIONS = {"creation": "creation", "propertyChange": "property",
                   "deletion": "deletion", "associationChange": "association"}  # fmt: skip
DEAL_OBJECT_TYPE = "0-3"
# What HubSpot decodes in the URI before it signs it (v3), from its "Validating
# requests" guide; every other percent-encoding stays as sent.
HUBSPOT_DECODED = {
    "%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$",
    "%27": "'", "%28": "(", "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";",
}  # fmt: skip
_HUBSPOT_ENCODED = re.compile("|".join(HUBSPOT_DECODED), re.IGNORECASE)


class SignatureError(Exception):
    """Refused with 401: nothing is stored."""


class BodyError(Exception):
    """Refused with 400: the message names the problem."""


@dataclass(frozen=True)
class InboxItem:
    """One event to store: `dedupe_key` recognises a repeated delivery."""

    source: str
    dedupe_key: str
    crm_id: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class HubSpotBatch:
    """The deal events of one delivery, and how many other events it held."""

    items: list[InboxItem]
    ignored: int


def _fresh(timestamp_seconds: float, now: float | None) -> None:
    if abs((now or time.time()) - timestamp_seconds) > MAX_SKEW_SECONDS:
        raise SignatureError("timestamp is more than 5 minutes away")


def verify_generic(
    secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None
) -> None:
    """`X-CareIntro-Signature: sha256=<hex>`, HMAC-SHA256 of `"{timestamp}.{raw body}"`."""
    timestamp = headers.get("X-CareIntro-Timestamp", "")
    signature = headers.get("X-CareIntro-Signature", "")
    if not timestamp or not signature:
        raise SignatureError("missing X-CareIntro-Timestamp or X-CareIntro-Signature")
    try:
        _fresh(int(timestamp), now)
    except ValueError:
        raise SignatureError("X-CareIntro-Timestamp must be unix seconds") from None
    expected = hmac.new(
        secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(f"sha256={expected}", signature):
        raise SignatureError("signature does not match")


def verify_hubspot(secret: str, headers: Mapping[str, str], body: bytes, *, method: str, url: str,
                   now: float | None = None) -> None:  # fmt: skip
    """HubSpot signature v3: base64 HMAC-SHA256 of method + URL + body + timestamp (ms)."""
    timestamp = headers.get("X-HubSpot-Request-Timestamp", "")
    signature = headers.get("X-HubSpot-Signature-v3", "")
    if not timestamp or not signature:
        raise SignatureError("missing X-HubSpot-Request-Timestamp or X-HubSpot-Signature-v3")
    try:
        _fresh(int(timestamp) / 1000, now)
    except ValueError:
        raise SignatureError("X-HubSpot-Request-Timestamp must be unix milliseconds") from None
    message = method.encode() + hubspot_signed_uri(url).encode() + body + timestamp.encode()
    expected = base64.b64encode(
        hmac.new(secret.encode(), message, hashlib.sha256).digest()
    ).decode()
    if not hmac.compare_digest(expected, signature):
        raise SignatureError("signature does not match")


def hubspot_signed_uri(url: str) -> str:
    """The URI as HubSpot signs it: the encodings of `HUBSPOT_DECODED` decoded (any case)."""
    return _HUBSPOT_ENCODED.sub(lambda m: HUBSPOT_DECODED[m.group().upper()], url)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BodyError("body is not valid JSON") from None


def read_generic(body: bytes) -> tuple[list[InboxItem], list[str]]:
    """One object or an array of them; returns the items and warnings (dropped emails)."""
    data = _json(body)
    objects = data if isinstance(data, list) else [data]
    if not objects or len(objects) > MAX_EVENTS:
        raise BodyError(f"send between 1 and {MAX_EVENTS} events")
    items, warnings = [], []
    for index, raw in enumerate(objects):
        where = f"[{index}]" if isinstance(data, list) else ""
        try:
            record = parse_record(raw, require_stage=True, where=where)
        except RecordError as exc:
            raise BodyError(str(exc)) from None
        event_id = raw.get("event_id")
        if event_id is not None and not isinstance(event_id, str | int):
            raise BodyError(f"{where + '.' if where else ''}event_id: must be a string")
        identity = str(event_id) if event_id is not None else _digest(raw)
        items.append(InboxItem("webhook", f"webhook:{identity}"[:300], record.crm_id,
                               {"kind": "record", "record": record.to_json()}))  # fmt: skip
        warnings += record.warnings
    return items, warnings


def read_hubspot(body: bytes) -> HubSpotBatch:
    """HubSpot sends an array of events; deal events are kept, the rest counted as ignored.

    A deal event missing a field it needs is a 400 naming it; an event of another object
    type, an unknown subscription or an element that is not an object is only ignored,
    so one of those never costs the batch (HubSpot would retry it forever)."""
    data = _json(body)
    if not isinstance(data, list) or len(data) > MAX_EVENTS:
        raise BodyError(f"body must be a JSON array of at most {MAX_EVENTS} HubSpot events")
    items, ignored = [], 0
    for index, event in enumerate(data):
        item = _hubspot_item(event, f"[{index}]") if isinstance(event, dict) else None
        if item is None:
            ignored += 1
        else:
            items.append(item)
    return HubSpotBatch(items, ignored)


def hubspot_event_kind(event: Mapping[str, Any]) -> str | None:
    """ "creation", "property", "deletion" or "association" for a deal event, else None."""
    name = event.get("subscriptionType")
    if not isinstance(name, str):
        return None
    scope, _, action = name.partition(".")
    kind = HUBSPOT_ACTIONS.get(action)
    if scope == "deal" or kind is None:
        return kind
    if scope != "object":
        return None
    types = {str(event.get(k)) for k in ("objectTypeId", "fromObjectTypeId", "toObjectTypeId")}
    return kind if DEAL_OBJECT_TYPE in types else None


def _hubspot_item(event: Mapping[str, Any], where: str) -> InboxItem | None:
    kind = hubspot_event_kind(event)
    if kind is None:
        return None
    occurred = event.get("occurredAt")
    if not isinstance(occurred, int) or isinstance(occurred, bool):
        raise BodyError(f"{where}.occurredAt: required, unix milliseconds")
    if kind == "association":
        return _association_item(event, where, occurred)
    crm_id = _object_id(event.get("objectId"), f"{where}.objectId")
    payload: dict[str, Any] = {"kind": "hubspot", "event": kind, "occurred_at": occurred}
    if kind != "property":  # creation and deletion: the key says which
        return InboxItem("hubspot", f"hubspot:{crm_id}:{kind}:{occurred}", crm_id, payload)
    name, value = event.get("propertyName"), event.get("propertyValue")
    if not isinstance(name, str) or not isinstance(value, str | int | float | None):
        raise BodyError(f"{where}: propertyName and propertyValue are required")
    payload |= {"property": name, "value": value}
    key = f"hubspot:{crm_id}:{name}:{value}:{occurred}"[:300]
    return InboxItem("hubspot", key, crm_id, payload)


def _association_item(event: Mapping[str, Any], where: str, occurred: int) -> InboxItem:
    """An association change names no `objectId`: the deal is the side of type deal
    (`fromObjectId` unless the type says `…_TO_DEAL` or the object types say otherwise)."""
    association = str(event.get("associationType") or event.get("associationTypeId") or "")
    deal_side = "toObjectId" if _deal_is_to_side(event, association) else "fromObjectId"
    other_side = "fromObjectId" if deal_side == "toObjectId" else "toObjectId"
    crm_id = _object_id(event.get(deal_side), f"{where}.{deal_side}")
    other = str(event.get(other_side) or "")[:64]
    removed = bool(event.get("associationRemoved"))
    payload = {"kind": "hubspot", "event": "association", "occurred_at": occurred,
               "association": association[:64], "other_id": other, "removed": removed}  # fmt: skip
    key = f"hubspot:{crm_id}:association:{association}:{other}:{removed}:{occurred}"[:300]
    return InboxItem("hubspot", key, crm_id, payload)


def _deal_is_to_side(event: Mapping[str, Any], association: str) -> bool:
    if str(event.get("toObjectTypeId")) == DEAL_OBJECT_TYPE:
        return str(event.get("fromObjectTypeId")) != DEAL_OBJECT_TYPE
    return association.upper().endswith("_TO_DEAL")


def _object_id(value: Any, where: str) -> str:
    if not isinstance(value, int | str) or isinstance(value, bool) or str(value) == "":
        raise BodyError(f"{where}: required")
    return str(value)[:64]


def hubspot_record(crm_id: str, payload: Mapping[str, Any]) -> DealRecord:
    """A HubSpot property change as a deal record, when no connector can read the deal:
    `dealstage`'s value is the stage's id (and all we know of its name); unknown
    properties change nothing."""
    field = HUBSPOT_PROPERTIES.get(payload.get("property") or "")
    value = payload.get("value")
    raw: dict[str, Any] = {"deal_id": crm_id}
    if field == "close_date" and value not in (None, ""):
        try:
            value = datetime.fromtimestamp(int(value) / 1000, UTC).date().isoformat()
        except (TypeError, ValueError):
            value = str(value)[:10]
    if field:
        raw[field] = value
    record = parse_record(raw, require_stage=False)
    if field == "stage" and record.stage:
        record = replace(record, stage_id=record.stage)
    return replace(record, source="hubspot")


def _digest(raw: Any) -> str:
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
