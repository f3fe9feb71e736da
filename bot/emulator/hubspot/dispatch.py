"""One API call from arrival to answer: faults, authentication, scopes, limits, handler.

The order follows HubSpot's: a bad token is refused before scopes are checked and
before the call counts against any limit; a call refused for a limit changes nothing;
every authenticated answer (errors included) carries the rate-limit headers. Injected
faults come first, so a test can script them whatever the token or the budget.
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass
from typing import Any

from bot.emulator.common.calls import CallLog, CallRecord
from bot.emulator.common.faults import FaultPlan
from bot.emulator.common.json_http import BAD_JSON, Incoming, Reply, parse_json
from bot.emulator.hubspot import routes, shapes
from bot.emulator.hubspot.faults import HubSpotFault
from bot.emulator.hubspot.handlers import HandlerError, Request
from bot.emulator.hubspot.limits import HubSpotLimiter
from bot.emulator.hubspot.store import Portal

logger = logging.getLogger(__name__)


@dataclass
class Tokens:
    """The one private-app token the portal accepts, its scopes, and whether it works."""

    token: str
    scopes: set[str]
    refused: int | None = None  # 401 or 403 once the test revokes it


class Dispatcher:
    def __init__(
        self,
        portal: Portal,
        tokens: Tokens,
        limiter: HubSpotLimiter,
        faults: FaultPlan[HubSpotFault],
    ) -> None:
        self.portal, self.tokens, self.limiter, self.faults = portal, tokens, limiter, faults
        self.log: CallLog[CallRecord] = CallLog()

    def handle(self, incoming: Incoming) -> Reply:
        method, path, query = incoming.method, incoming.path, incoming.query
        body, token = parse_json(incoming.raw), _bearer(incoming.headers)
        record = self.log.add(CallRecord.arriving(method, path, query, body))
        fault = self.faults.take(method, path)
        if fault is not None:
            record.fault = fault.label
        if fault is not None and fault.kind == "delay" and not fault.after_effect:
            time.sleep(fault.delay_seconds)
            fault = None
        if fault is not None and not fault.after_effect:
            reply = self._fault_reply(fault)
        else:
            reply = self._serve(method, path, query, body, token)
            if fault is not None and fault.kind == "delay":  # done now, answered late
                time.sleep(fault.delay_seconds)
            elif fault is not None:
                reply = Reply(drop=True)
        self.log.settle(record, reply)
        return reply

    def _fault_reply(self, fault: HubSpotFault) -> Reply:
        if fault.kind == "drop":
            return Reply(drop=True)
        if fault.kind == "ratelimited":
            reply = Reply(429, shapes.rate_limited(fault.policy))
            if fault.retry_after is not None:
                seconds = fault.retry_after / self.limiter.time_scale
                reply.headers["Retry-After"] = f"{seconds:g}"
            return reply
        return Reply(fault.status, shapes.server_error(fault.status))

    def _serve(
        self, method: str, path: str, query: dict[str, list[str]], body: Any, token: str | None
    ) -> Reply:
        found = routes.match(method, path)
        if found is None:
            status = 405 if routes.path_known(path) else 404
            return Reply(status, shapes.not_found(f"No route for {method} {path}"))
        route, params = found
        tokens = self.tokens
        if token != tokens.token or tokens.refused == 401:
            return Reply(401, shapes.invalid_authentication())
        verdict = self.limiter.acquire(token, search=route.search)
        if verdict.policy is not None:
            return Reply(429, shapes.rate_limited(verdict.policy), verdict.headers)
        scope = route.scope(params)
        if tokens.refused == 403 or scope not in tokens.scopes:
            return Reply(403, shapes.missing_scopes([scope]), verdict.headers)
        if body is BAD_JSON:
            return Reply(400, shapes.validation_error("Invalid input JSON"), verdict.headers)
        request = Request(method, path, params, query, body)
        return Reply(*self._run(route, request), headers=verdict.headers)

    def _run(self, route: routes.Route, request: Request) -> tuple[int, dict[str, Any] | None]:
        try:
            with self.portal.lock:
                status, answer = route.handler(self.portal, request)
                return status, copy.deepcopy(answer)
        except HandlerError as exc:
            return exc.status, exc.body
        except Exception:
            logger.exception("fake hubspot handler failed %s %s", request.method, request.path)
            return 500, shapes.server_error(500)


def _bearer(headers: dict[str, str]) -> str | None:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None
