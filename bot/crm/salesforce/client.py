"""Every call to Salesforce goes through `SalesforceClient.call`: authenticated, waited out,
classified.

simple-salesforce does the REST calls; its own session refresh is off (it only knows the
password and JWT logins), so a 401 INVALID_SESSION_ID is handled here: a new token from
`auth.TokenSource`, and the call again, once. What Salesforce's answers mean (REST API
Developer Guide, "Status Codes and Error Responses"):
- 401 after a fresh token, or the token endpoint refusing the app (invalid_grant,
  invalid_client), or a 403 other than the limit: the credential is refused. The
  connector is marked failing (`bot.store.connectors`, logged once) and the call raises
  `ConnectorUnavailable(credential=True)`; the next call that works clears it.
- 403 REQUEST_LIMIT_EXCEEDED: the org's API allowance is used up. Not a credential
  failure: every call is held (nothing sent) for a wait that doubles while it lasts.
- 400 INVALID_FIELD / INVALID_TYPE: field-level security or object permissions hide a
  field from the integration user; the failure names it ("Contact.Email").
- 5xx (and 429) or a lost connection: retried a few times with a bounded backoff
  (`Retry-After` when given), but only for calls that change nothing.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, NoReturn, TypeVar

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)
from sqlalchemy import Engine

from bot.crm.connector import ConnectorUnavailable
from bot.crm.health import ConnectorHealth
from bot.crm.salesforce.auth import TOKEN_PATH, GrantRefused, TokenSource, TokenUnavailable
from bot.templating import phrase

log = logging.getLogger(__name__)
NAME = "salesforce"
T = TypeVar("T")

MAX_SERVER_RETRIES = 4  # 5xx / lost connections in a row, for calls that change nothing
BACKOFF_SECONDS = 0.5  # doubled per retry
MAX_BACKOFF_SECONDS = 30.0
LIMIT_WAIT_SECONDS = 60.0  # the first hold after REQUEST_LIMIT_EXCEEDED, doubled while it lasts
MAX_LIMIT_WAIT_SECONDS = 3600.0
TIMEOUT_SECONDS = 30.0
HIDDEN = ("INVALID_FIELD", "INVALID_TYPE")  # what the integration user may not see
NOT_PERMITTED = ("INSUFFICIENT_ACCESS", "INVALID_FIELD_FOR_INSERT_UPDATE")  # code prefixes
_HIDDEN_WORDS = (
    (re.compile(r"No such column '(\w+)' on (?:entity|sobject of type) '?(\w+)"), "{1}.{0}"),
    (re.compile(r"sObject type '(\w+)' is not supported"), "{0}"),
    (re.compile(r"Didn't understand relationship '(\w+)'"), "{0}"),
)


class NotFound(Exception):
    """Salesforce answered 404: the record is not (or no longer) there."""


@dataclass(frozen=True)
class Page:
    """One batch of a query's answer: its records, whether it was the last, and the
    server's time when it answered."""

    records: list[dict[str, Any]]
    done: bool
    answered_at: datetime | None


class _Session(requests.Session):
    """requests with a timeout on every call (simple-salesforce passes none to sObject
    calls) and, per thread, the last answer's `Date` and `Retry-After`; REST calls
    counted (not the token's): what a benchmark counts."""

    def __init__(self) -> None:
        super().__init__()
        self.answers = threading.local()
        self.calls = 0
        self._lock = threading.Lock()

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", TIMEOUT_SECONDS)
        self.answers.date = self.answers.retry_after = None
        if TOKEN_PATH not in str(url):
            with self._lock:
                self.calls += 1
        answer = super().request(method, url, *args, **kwargs)
        self.answers.date = answer.headers.get("Date")
        self.answers.retry_after = answer.headers.get("Retry-After")
        return answer


class SalesforceClient:
    """One connector's client: the token, one simple-salesforce client per token, and the
    connector's health. Thread-safe."""

    def __init__(
        self, *, instance_url: str, client_id: str, client_secret: str, version: str,
        engine: Engine, limit_wait_seconds: float = LIMIT_WAIT_SECONDS,
    ) -> None:  # fmt: skip
        self.engine, self.instance_url, self.version = engine, instance_url, version
        self.session = _Session()
        self.tokens = TokenSource(
            instance_url=instance_url, client_id=client_id, client_secret=client_secret,
            session=self.session,
        )  # fmt: skip
        self._lock = threading.Lock()
        self._api: tuple[str, Salesforce] | None = None
        self.health = ConnectorHealth(engine, NAME, log)
        self.limit_wait_seconds = limit_wait_seconds
        self._limit_wait = limit_wait_seconds
        self.held_until = 0.0  # time.monotonic() before which no call is sent

    @property
    def calls(self) -> int:
        return self.session.calls

    def answered_at(self) -> datetime | None:
        """The server's time of this thread's last answer (its `Date` header)."""
        raw = getattr(self.session.answers, "date", None)
        try:
            return parsedate_to_datetime(raw) if raw else None
        except (TypeError, ValueError):
            return None

    def pages(self, soql: str) -> Iterator[Page]:
        """Every batch of the query, one at a time (`nextRecordsUrl`): a caller that
        stores each, then empties its `records`, before asking for the next holds one
        batch in memory, not two."""
        answer = self.call(lambda sf: sf.query(soql))
        while True:
            following = answer.get("nextRecordsUrl")
            page = Page(answer.pop("records", None) or [], not following, self.answered_at())
            del answer  # a batch at a time: none of it is kept while the next is read
            yield page
            del page
            if not following:
                return
            answer = self.call(lambda sf, url=following: sf.query_more(url, identifier_is_url=True))

    def call(self, fn: Callable[[Salesforce], T], *, safe: bool = True) -> T:
        """`fn(client)` with a valid token; `safe=False` for a call that creates something:
        never repeated after a 5xx or a lost answer (the caller looks before retrying)."""
        self._check_hold()
        renewed, retries = False, 0
        while True:
            try:
                token = self.tokens.current()
            except GrantRefused as exc:
                self._refused(phrase("salesforce.token_refused", error=exc.error,
                                     description=exc.description), exc.error)  # fmt: skip
            except TokenUnavailable as exc:
                retries = self._server_retry(retries, f"token endpoint: {exc}", safe=True)
                continue
            try:
                result = fn(self._client(token))
            except SalesforceExpiredSession as exc:
                if renewed:
                    self._refused(self._session_refused(exc), "INVALID_SESSION_ID")
                renewed = True
                self._renew(token)
                continue
            except (SalesforceRefusedRequest, SalesforceMalformedRequest) as exc:
                self._classify(exc)
            except SalesforceResourceNotFound:
                self._healthy()
                raise NotFound(NAME) from None
            except SalesforceError as exc:  # 5xx (and a 429, should one come)
                if exc.status < 500 and exc.status != 429:
                    raise ConnectorUnavailable(NAME, _summary(exc)) from None
                retries = self._server_retry(retries, f"HTTP {exc.status}", safe)
                continue
            except requests.RequestException as exc:
                retries = self._server_retry(retries, type(exc).__name__, safe)
                continue
            self._healthy()
            return result

    def _client(self, token: str) -> Salesforce:
        with self._lock:
            if self._api is None or self._api[0] != token:
                client = Salesforce(
                    instance_url=self.instance_url, session_id=token, session=self.session,
                    version=self.version, object_pairs_hook=dict,
                )  # fmt: skip
                self._api = (token, client)
            return self._api[1]

    def _renew(self, stale: str) -> None:
        """A new token after a 401; the token endpoint's own refusal is the credential's."""
        try:
            self.tokens.renew(stale)
        except GrantRefused as exc:
            self._refused(phrase("salesforce.token_refused", error=exc.error,
                                 description=exc.description), exc.error)  # fmt: skip
        except TokenUnavailable as exc:
            raise ConnectorUnavailable(NAME, f"token endpoint: {exc}") from None

    def _classify(self, exc: SalesforceError) -> NoReturn:
        """A 400 or 403: the allowance, a hidden field, a permission, or a bad request."""
        code, message = _error(exc)
        if code == "REQUEST_LIMIT_EXCEEDED":
            self._limited()
        if code in HIDDEN:
            what = _hidden_what(message)
            self._refused(phrase("salesforce.hidden", what=what, code=code), f"{code} {what}")
        if exc.status == 403 or code.startswith(NOT_PERMITTED):
            self._refused(self._session_refused(exc), code)
        raise ConnectorUnavailable(NAME, _summary(exc)) from None

    def _session_refused(self, exc: SalesforceError) -> str:
        return phrase("salesforce.session_refused", status=exc.status, code=_error(exc)[0])

    def _server_retry(self, retries: int, reason: str, safe: bool) -> int:
        if not safe or retries >= MAX_SERVER_RETRIES:
            raise ConnectorUnavailable(NAME, reason)
        backoff = _retry_after(getattr(self.session.answers, "retry_after", None))
        if backoff is None:
            backoff = BACKOFF_SECONDS * 2**retries
        backoff = min(backoff, MAX_BACKOFF_SECONDS)
        log.info("salesforce call failed (%s); retrying in %ss", reason, backoff)
        time.sleep(backoff)
        return retries + 1

    def _limited(self) -> NoReturn:
        """REQUEST_LIMIT_EXCEEDED: hold every call for a while (logged when it starts)."""
        with self._lock:
            first = self.held_until == 0.0
            wait = self._limit_wait
            self.held_until = time.monotonic() + wait
            self._limit_wait = min(wait * 2, MAX_LIMIT_WAIT_SECONDS)
        if first:
            log.warning("connector=salesforce REQUEST_LIMIT_EXCEEDED: holding calls %ss", wait)
        reason = phrase("salesforce.request_limit", seconds=int(wait))
        raise ConnectorUnavailable(NAME, reason, held=True)

    def _check_hold(self) -> None:
        with self._lock:
            remaining = self.held_until - time.monotonic()
        if self.held_until and remaining > 0:
            reason = phrase("salesforce.request_limit", seconds=int(remaining) + 1)
            raise ConnectorUnavailable(NAME, reason, held=True)

    def _refused(self, reason: str, detail: str) -> NoReturn:
        raise self.health.refused(reason, detail)

    def _healthy(self) -> None:
        """Record that Salesforce answers, and lift a hold on calls."""
        with self._lock:
            if self.held_until:
                log.info("connector=salesforce API calls allowed again")
            self.held_until, self._limit_wait = 0.0, self.limit_wait_seconds
        self.health.ok()


def _error(exc: SalesforceError) -> tuple[str, str]:
    """Salesforce's `errorCode` and `message` (its error bodies are JSON lists)."""
    content = exc.content
    first = content[0] if isinstance(content, list) and content else content
    if isinstance(first, dict):
        return str(first.get("errorCode") or "")[:60], str(first.get("message") or "")
    return "", str(content or "")


def _summary(exc: SalesforceError) -> str:
    code, message = _error(exc)
    return f"HTTP {exc.status} {code}: {' '.join(message.split())[:200]}".strip()


def _hidden_what(message: str) -> str:
    """ "Contact.Email" from Salesforce's "No such column 'Email' on entity 'Contact'"."""
    for pattern, shape in _HIDDEN_WORDS:
        found = pattern.search(message)
        if found:
            return shape.format(*found.groups())
    return "a field CareIntro reads"


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
