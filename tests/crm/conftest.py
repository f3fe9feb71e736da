"""Signed CRM webhook requests, built here independently of the app's own code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest

from bot.slack.requests import post

CRM_SECRET = "crm-webhook-secret"
HUBSPOT_SECRET = "hubspot-client-secret"


def generic_headers(
    body: str, *, secret: str = CRM_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"{ts}.{body}".encode(), hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-CareIntro-Timestamp": ts,
            "X-CareIntro-Signature": f"sha256={digest}"}  # fmt: skip


def hubspot_headers(url: str, body: str, *, secret: str = HUBSPOT_SECRET,
                    timestamp_ms: int | None = None) -> dict[str, str]:  # fmt: skip
    """As HubSpot's published helper computes v3: base64(HMAC-SHA256(method+uri+body+ts))."""
    ts = str(int(time.time() * 1000) if timestamp_ms is None else timestamp_ms)
    source = f"POST{url}{body}{ts}"
    digest = hmac.new(secret.encode("utf-8"), source.encode("utf-8"), hashlib.sha256).digest()
    return {"Content-Type": "application/json", "X-HubSpot-Request-Timestamp": ts,
            "X-HubSpot-Signature-v3": base64.b64encode(digest).decode()}  # fmt: skip


@pytest.fixture
def crm_bot(make_bot):
    """The running app with both webhook secrets set; `crm_bot(auto_watch=True)` for others."""

    def make(**overrides: Any):
        return make_bot(crm_webhook_secret=CRM_SECRET, hubspot_client_secret=HUBSPOT_SECRET,
                        **overrides)  # fmt: skip

    return make


def send_generic(bot, events: Any, **header_args: Any) -> tuple[int, dict[str, Any]]:
    body = events if isinstance(events, str) else json.dumps(events)
    status, raw = post(f"{bot.url}/crm/webhook", body, generic_headers(body, **header_args))
    return status, json.loads(raw) if raw.startswith("{") else {"raw": raw}


def send_hubspot(bot, events: Any, **header_args: Any) -> tuple[int, dict[str, Any]]:
    body = json.dumps(events)
    url = f"{bot.url}/crm/hubspot"
    status, raw = post(url, body, hubspot_headers(url, body, **header_args))
    return status, json.loads(raw) if raw.startswith("{") else {"raw": raw}
