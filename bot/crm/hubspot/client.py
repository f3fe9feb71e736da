"""Every call to HubSpot goes through `HubSpotClient.call`: paced, waited out, classified.

The official client does the HTTP and the models; its own urllib3 retries are off
(`Retry(total=0)`), because a blind retry would repeat a note HubSpot had created, and
would not know HubSpot's rate-limit headers. Here: a 429 is waited out (`Retry-After`
when present, else the `X-HubSpot-RateLimit-*` interval, else a backoff) and every
thread of the connector waits with it; a 5xx or a lost connection is retried a few
times with a bounded backoff, but only for calls that change nothing; 401/403 mark the
connector failing (`bot.store.connectors`, logged once) and raise
`ConnectorUnavailable(credential=True)`; the next call that works clears it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import hubspot
import urllib3
from sqlalchemy import Engine
from urllib3.util.retry import Retry

from bot.crm.connector import ConnectorUnavailable
from bot.crm.health import ConnectorHealth
from bot.crm.hubspot.pacing import Pacer
from bot.templating import phrase

log = logging.getLogger(__name__)
NAME = "hubspot"
T = TypeVar("T")

MAX_RATE_WAITS = 20  # 429s in a row before the call gives up (the work waits, kept)
MAX_SERVER_RETRIES = 4  # 5xx / lost connections in a row, for calls that change nothing
BACKOFF_SECONDS = 0.5  # HubSpot seconds, doubled per retry
MAX_BACKOFF_SECONDS = 30.0
TIMEOUT_SECONDS = 30.0


class NotFound(Exception):
    """HubSpot answered 404: the object is not (or no longer) there."""


def _api_exceptions() -> tuple[type[Exception], ...]:
    """Each generated package of the client has its own ApiException class."""
    from hubspot.crm import associations, companies, contacts, deals, owners, pipelines
    from hubspot.crm.associations import v4
    from hubspot.crm.objects import notes

    packages = (associations, companies, contacts, deals, owners, pipelines, v4, notes)
    return tuple(package.ApiException for package in packages)


class HubSpotClient:
    """One connector's client: the official client's API objects, made once, and the
    shared `Pacer`. Thread-safe (urllib3's pools are)."""

    def __init__(
        self, *, token: str, base_url: str, engine: Engine, pacer: Pacer | None = None
    ) -> None:
        self.engine = engine
        self.pacer = pacer or Pacer()
        self.calls = 0  # requests sent, 429s included: what a benchmark counts
        self._sdk = hubspot.Client.create(
            access_token=token, host=base_url.rstrip("/"), retry=Retry(total=0, redirect=0)
        )
        self._apis: dict[str, Any] = {}
        self._errors = _api_exceptions()
        self._lock = threading.Lock()
        self.health = ConnectorHealth(engine, NAME, log)

    def api(self, name: str) -> Any:
        """`api("crm.deals.basic_api")`: built once (each build makes a new HTTP pool)."""
        with self._lock:
            found = self._apis.get(name)
            if found is None:
                found = self._sdk
                for part in name.split("."):
                    found = getattr(found, part)
                self._apis[name] = found
            return found

    def call(
        self, fn: Callable[..., T], *args: Any, search: bool = False, safe: bool = True,
        **kwargs: Any,
    ) -> T:  # fmt: skip
        """`fn(*args, **kwargs)` under the limits; `safe=False` for a call that creates
        something: it is never repeated after a 5xx or a lost answer (the caller checks
        what happened before trying again)."""
        rate_waits = server_retries = 0
        while True:
            self.pacer.acquire(search=search)
            with self._lock:
                self.calls += 1
            try:
                result = fn(*args, _request_timeout=TIMEOUT_SECONDS, **kwargs)
            except self._errors as exc:
                status = int(getattr(exc, "status", 0) or 0)
                if status == 404:
                    self.health.ok()
                    raise NotFound(str(status)) from None
                if status in (401, 403):
                    self._refused(status, getattr(exc, "body", None))
                if status == 429 and rate_waits < MAX_RATE_WAITS:
                    rate_waits += 1
                    self.pacer.hold(self._rate_wait(getattr(exc, "headers", None), rate_waits))
                    continue
                if status == 429:
                    raise ConnectorUnavailable(NAME, "rate limited") from None
                if status >= 500 or status == 0:
                    server_retries = self._server_retry(server_retries, f"HTTP {status}", safe)
                    continue
                raise
            except urllib3.exceptions.HTTPError as exc:
                server_retries = self._server_retry(server_retries, type(exc).__name__, safe)
                continue
            self.health.ok()
            return result

    def _server_retry(self, retries: int, reason: str, safe: bool) -> int:
        if not safe or retries >= MAX_SERVER_RETRIES:
            raise ConnectorUnavailable(NAME, reason)
        backoff = min(BACKOFF_SECONDS * 2**retries, MAX_BACKOFF_SECONDS)
        log.info("hubspot call failed (%s); retrying in %ss", reason, backoff)
        time.sleep(self.pacer.hubspot_seconds(backoff))
        return retries + 1

    def _rate_wait(self, headers: Any, attempt: int) -> float:
        """Real seconds to wait after a 429: the headers are in real time already."""
        headers = headers or {}
        retry_after = headers.get("Retry-After")
        if retry_after:
            try:
                return max(0.0, float(retry_after))
            except ValueError:
                pass
        interval = headers.get("X-HubSpot-RateLimit-Interval-Milliseconds")
        if interval and headers.get("X-HubSpot-RateLimit-Remaining") in ("0", None):
            try:
                return int(interval) / 1000
            except ValueError:
                pass
        return self.pacer.hubspot_seconds(min(BACKOFF_SECONDS * 2**attempt, MAX_BACKOFF_SECONDS))

    def _refused(self, status: int, body: Any) -> None:
        category = _category(body)
        reason = phrase("hubspot.token_refused", status=status, category=category)
        raise self.health.refused(reason, f"HTTP {status} {category}")


def _category(body: Any) -> str:
    """HubSpot's error `category` (MISSING_SCOPES, INVALID_AUTHENTICATION...)."""
    try:
        data = json.loads(body) if isinstance(body, str | bytes) else body
        return str((data or {}).get("category") or "")[:60]
    except (ValueError, AttributeError):
        return ""
