"""One call from arrival to answer: faults, route, session, allowance, handler.

Order: injected faults first (a test scripts them whatever the token or the budget);
the token endpoint needs no session and costs no API call; a REST call without a valid
session answers 401 before it counts; a call over the allowance answers 403 and changes
nothing; every counted answer carries `Sforce-Limit-Info`.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.emulator.salesforce import handlers, shapes
from bot.emulator.salesforce.auth import TokenDesk
from bot.emulator.salesforce.faults import FaultPlan, SalesforceFault, matches
from bot.emulator.salesforce.limits import DailyAllowance

logger = logging.getLogger(__name__)
MAX_VERSION = 66.0  # Spring '26; a newer version is a 404 like at Salesforce
_DATA = r"^/services/data/v(?P<version>\d{2}\.\d)"
ROUTES: tuple[tuple[str, re.Pattern[str], Callable[..., handlers.Answer]], ...] = tuple(
    (method, re.compile(_DATA + pattern + "/?$"), handler)
    for method, pattern, handler in (
        ("GET", r"/query(?:All)?", handlers.run_query),
        ("GET", r"/query(?:All)?/(?P<locator>01g\w+)-(?P<offset>\d+)", handlers.query_more),
        ("POST", r"/sobjects/(?P<type>\w+)", handlers.create_record),
        ("GET", r"/sobjects/(?P<type>\w+)/(?P<id>[^/]+)", handlers.get_record),
        ("GET", r"/limits", handlers.limits),
    )
)
TOKEN_PATH = "/services/oauth2/token"  # noqa: S105 - a path, not a secret


@dataclass
class CallRecord:
    """What the fake saw and answered; `status` is None while pending or when dropped."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    at: float
    status: int | None = None
    fault: str | None = None
    error_code: str | None = None

    @property
    def endpoint(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False

    def encoded(self) -> bytes:
        return b"" if self.body is None else json.dumps(self.body).encode()


@dataclass
class Incoming:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    raw: bytes


class Dispatcher:
    def __init__(
        self,
        ctx: handlers.Context,
        desk: TokenDesk,
        allowance: DailyAllowance,
        faults: FaultPlan,
        instance_url: Callable[[], str],
    ) -> None:
        self.ctx, self.desk, self.allowance, self.faults = ctx, desk, allowance, faults
        self.instance_url = instance_url
        self._log_lock = threading.Lock()
        self._calls: list[CallRecord] = []

    def calls(self, pattern: str | None = None) -> list[CallRecord]:
        with self._log_lock:
            return [
                copy.deepcopy(c)
                for c in self._calls
                if pattern is None or matches(pattern, c.method, c.path)
            ]

    def reset_calls(self) -> None:
        with self._log_lock:
            self._calls.clear()

    def handle(self, incoming: Incoming) -> Reply:
        body = _body_for_log(incoming)
        record = CallRecord(
            incoming.method, incoming.path, copy.deepcopy(incoming.query), body, time.time()
        )
        with self._log_lock:
            self._calls.append(record)
        fault = self.faults.take(incoming.method, incoming.path)
        record.fault = fault.label if fault else None
        reply = self._with_fault(fault, incoming) if fault else self._serve(incoming)
        with self._log_lock:
            record.status = None if reply.drop else reply.status
            if isinstance(reply.body, list) and reply.body and isinstance(reply.body[0], dict):
                record.error_code = reply.body[0].get("errorCode")
            elif isinstance(reply.body, dict) and "error" in reply.body:
                record.error_code = reply.body["error"]
        return reply

    def _with_fault(self, fault: SalesforceFault, incoming: Incoming) -> Reply:
        if fault.kind == "delay":
            time.sleep(fault.delay_seconds)
            return self._serve(incoming)
        if fault.kind == "hang":
            reply = self._serve(incoming) if fault.after_effect else None
            fault.release.wait()
            return reply or self._serve(incoming)
        if fault.after_effect:
            self._serve(incoming)
        if fault.kind == "drop":
            return Reply(drop=True)
        reply = Reply(fault.status, shapes.server_error(fault.status))
        if fault.retry_after is not None:
            reply.headers["Retry-After"] = f"{fault.retry_after:g}"
        return reply

    def _serve(self, incoming: Incoming) -> Reply:
        if incoming.path == TOKEN_PATH:
            return self._token(incoming)
        found = _route(incoming.method, incoming.path)
        if found is None:
            return Reply(404, shapes.not_found())
        handler, params = found
        scheme, _, token = incoming.headers.get("authorization", "").partition(" ")
        if scheme.lower() not in ("bearer", "oauth") or not token.strip():
            return Reply(401, shapes.missing_auth_header())
        if not self.desk.valid(token.strip(), self.ctx.org.now()):
            return Reply(401, shapes.invalid_session())
        allowed, usage = self.allowance.acquire()
        headers = {"Sforce-Limit-Info": usage}
        if not allowed:
            return Reply(403, shapes.request_limit_exceeded(), headers)
        version = params.pop("version")
        request = handlers.Request(
            incoming.method, params, incoming.query, incoming.headers, _json(incoming.raw), version
        )
        return Reply(*self._run(handler, request), headers=headers)

    def _token(self, incoming: Incoming) -> Reply:
        if incoming.method != "POST":
            return Reply(405, shapes.oauth_error("invalid_request", "must use HTTP POST"))
        with self.ctx.org.lock:
            now, user = self.ctx.org.now(), self.ctx.org.integration_user
        status, body = self.desk.token_request(
            incoming.raw, incoming.headers.get("authorization", ""), now, self.instance_url(), user
        )
        return Reply(status, body)

    def _run(
        self, handler: Callable[..., handlers.Answer], request: handlers.Request
    ) -> handlers.Answer:
        if request.body is _BAD_JSON:
            return 400, shapes.error(
                "JSON_PARSER_ERROR", "Unexpected character in the request body: it is not JSON"
            )
        try:
            with self.ctx.org.lock:
                status, body = handler(self.ctx, request)
                return status, copy.deepcopy(body)
        except Exception:
            logger.exception("fake salesforce handler failed %s", request.method)
            return 500, shapes.server_error(500)


def _route(method: str, path: str) -> tuple[Callable[..., handlers.Answer], dict[str, str]] | None:
    for route_method, pattern, handler in ROUTES:
        found = pattern.match(path)
        if found and route_method == method and float(found["version"]) <= MAX_VERSION:
            return handler, found.groupdict()
    return None


_BAD_JSON = object()


def _json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return _BAD_JSON


def _body_for_log(incoming: Incoming) -> Any:
    """The JSON body, or the token request's form with the secret masked."""
    if incoming.path == TOKEN_PATH:
        text = incoming.raw.decode("utf-8", "replace")
        return re.sub(r"(client_secret=)[^&]*", r"\1***", text)
    body = _json(incoming.raw)
    return None if body is _BAD_JSON else body
