"""One call from arrival to answer: faults, route, session, allowance, handler.

Order: injected faults first (a test scripts them whatever the token or the budget);
the token endpoint needs no session and costs no API call; a REST call without a valid
session answers 401 before it counts; a call over the allowance answers 403 and changes
nothing; every counted answer carries `Sforce-Limit-Info`.
"""

from __future__ import annotations

import copy
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.emulator.common import calls
from bot.emulator.common.json_http import BAD_JSON, Incoming, Reply, parse_json
from bot.emulator.salesforce import handlers, shapes
from bot.emulator.salesforce.auth import TokenDesk
from bot.emulator.salesforce.faults import FaultPlan, SalesforceFault
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
class CallRecord(calls.CallRecord):
    """The shared record, plus the `errorCode` (or OAuth `error`) of an error answer."""

    error_code: str | None = None

    def settle(self, reply: Reply) -> None:
        super().settle(reply)
        if isinstance(reply.body, list) and reply.body and isinstance(reply.body[0], dict):
            self.error_code = reply.body[0].get("errorCode")
        elif isinstance(reply.body, dict) and "error" in reply.body:
            self.error_code = reply.body["error"]


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
        self.log: calls.CallLog[CallRecord] = calls.CallLog()

    def handle(self, incoming: Incoming) -> Reply:
        record = self.log.add(
            CallRecord.arriving(
                incoming.method, incoming.path, incoming.query, _body_for_log(incoming)
            )
        )
        fault = self.faults.take(incoming.method, incoming.path)
        record.fault = fault.label if fault else None
        reply = self._with_fault(fault, incoming) if fault else self._serve(incoming)
        self.log.settle(record, reply)
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
            incoming.method,
            params,
            incoming.query,
            incoming.headers,
            parse_json(incoming.raw),
            version,
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
        if request.body is BAD_JSON:
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


def _body_for_log(incoming: Incoming) -> Any:
    """The JSON body, or the token request's form with the secret masked."""
    if incoming.path == TOKEN_PATH:
        text = incoming.raw.decode("utf-8", "replace")
        return re.sub(r"(client_secret=)[^&]*", r"\1***", text)
    body = parse_json(incoming.raw)
    return None if body is BAD_JSON else body
