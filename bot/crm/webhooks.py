"""Verifying and reading CRM webhooks. Pure functions: the HTTP layer is in bot.web."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.crm.records import DealRecord, RecordError, parse_record

MAX_SKEW_SECONDS = 5 * 60
MAX_EVENTS = 1000
HUBSPOT_PROPERTIES = {"dealstage": "stage", "amount": "amount", "closedate": "close_date"}


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
    message = method.encode() + url.encode() + body + timestamp.encode()
    expected = base64.b64encode(
        hmac.new(secret.encode(), message, hashlib.sha256).digest()
    ).decode()
    if not hmac.compare_digest(expected, signature):
        raise SignatureError("signature does not match")


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


def read_hubspot(body: bytes) -> list[InboxItem]:
    """HubSpot sends an array of events; only deal events are kept."""
    data = _json(body)
    if not isinstance(data, list) or len(data) > MAX_EVENTS:
        raise BodyError(f"body must be a JSON array of at most {MAX_EVENTS} HubSpot events")
    items = []
    for index, event in enumerate(data):
        if not isinstance(event, dict):
            raise BodyError(f"[{index}]: must be an object")
        kind = event.get("subscriptionType")
        object_id, occurred = event.get("objectId"), event.get("occurredAt")
        if not isinstance(kind, str):
            raise BodyError(f"[{index}].subscriptionType: required string")
        if (
            not isinstance(object_id, int | str)
            or isinstance(object_id, bool)
            or str(object_id) == ""
        ):
            raise BodyError(f"[{index}].objectId: required")
        if not isinstance(occurred, int) or isinstance(occurred, bool):
            raise BodyError(f"[{index}].occurredAt: required, unix milliseconds")
        crm_id = str(object_id)[:64]
        if kind == "deal.creation":
            items.append(InboxItem("hubspot", f"hubspot:{crm_id}:creation:{occurred}", crm_id,
                                   {"kind": "hubspot", "occurred_at": occurred}))  # fmt: skip
        elif kind == "deal.propertyChange":
            name, value = event.get("propertyName"), event.get("propertyValue")
            if not isinstance(name, str) or not isinstance(value, str | int | float | None):
                raise BodyError(f"[{index}]: propertyName and propertyValue are required")
            payload = {"kind": "hubspot", "occurred_at": occurred, "property": name, "value": value}
            items.append(InboxItem("hubspot", f"hubspot:{crm_id}:{name}:{value}:{occurred}"[:300],
                                   crm_id, payload))  # fmt: skip
    return items


def hubspot_record(crm_id: str, payload: Mapping[str, Any]) -> DealRecord:
    """A HubSpot property change as a deal record (unknown properties change nothing)."""
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
    return parse_record(raw, require_stage=False)


def _digest(raw: Any) -> str:
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
