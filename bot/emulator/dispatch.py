"""One Web API call from arrival to answer: faults, auth, rate limits, arguments, handler.

The order mirrors Slack's: an unknown method is reported before authentication, and a
rate-limited or failed call changes nothing. Injected faults come first so a test can
script them regardless of token or budget.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from bot.emulator.faults import Fault, FaultPlan, Hang
from bot.emulator.limits import RateLimiter, retry_after_headers
from bot.emulator.methods import HANDLERS
from bot.emulator.rules import SlackError, check_required, normalise_args
from bot.emulator.state import Workspace

TOKENLESS = frozenset({"api.test"})  # Slack answers these without a token
APP_LEVEL = frozenset({"apps.connections.open"})  # these take an app-level (xapp-) token only

logger = logging.getLogger(__name__)


@dataclass
class CallRecord:
    """What the emulator saw and answered; `status` is None while pending or when dropped."""

    method: str
    args: dict[str, Any]
    at: float
    status: int | None = None
    ok: bool = False
    error: str | None = None
    fault: str | None = None


@dataclass
class Reply:
    """An HTTP answer, or `drop=True` to close the connection without one."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    ok: bool = False
    error: str | None = None


DROP = Reply(status=0, drop=True, error="connection_dropped")


def json_reply(body: dict[str, Any], *, status: int = 200, **headers: str) -> Reply:
    return Reply(
        status=status,
        body=json.dumps(body).encode(),
        headers=headers,
        ok=bool(body.get("ok")),
        error=body.get("error"),
    )


def error_reply(error: str, *, status: int = 200, **extra: Any) -> Reply:
    return json_reply({"ok": False, "error": error, **extra}, status=status)


class Dispatcher:
    """Runs calls against one workspace and keeps the call log."""

    def __init__(
        self,
        workspace: Workspace,
        *,
        tokens: dict[str, str],
        app_tokens: frozenset[str] = frozenset(),
        limiter: RateLimiter,
        faults: FaultPlan,
        rate_limits: bool,
    ) -> None:
        self.workspace = workspace
        self.tokens = tokens
        self.app_tokens = app_tokens
        self.limiter = limiter
        self.faults = faults
        self.rate_limits = rate_limits
        self.closed = threading.Event()
        self._log_lock = threading.Lock()
        self._calls: list[CallRecord] = []

    # call log -------------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[CallRecord]:
        with self._log_lock:
            return [copy.deepcopy(c) for c in self._calls if method is None or c.method == method]

    def reset_calls(self) -> None:
        with self._log_lock:
            self._calls.clear()

    # the pipeline ---------------------------------------------------------------------

    def handle(
        self, method: str, raw_args: dict[str, Any], token: str | None, *, bad_body: bool = False
    ) -> Reply:
        args = normalise_args(raw_args)
        record = CallRecord(method=method, args=copy.deepcopy(args), at=time.monotonic())
        with self._log_lock:
            self._calls.append(record)
        reply = self._run(method, args, token, record, bad_body=bad_body)
        with self._log_lock:
            record.status = None if reply.drop else reply.status
            record.ok = reply.ok
            record.error = reply.error
        return reply

    def _run(
        self,
        method: str,
        args: dict[str, Any],
        token: str | None,
        record: CallRecord,
        *,
        bad_body: bool,
    ) -> Reply:
        if method not in HANDLERS:
            return error_reply("unknown_method", req_method=method)
        fault = self.faults.take(method)
        if fault is not None:
            record.fault = fault.label
            if not fault.after_effect:
                return self._fault_reply(fault)
        self._maybe_hang(method, after_effect=False, record=record)
        reply = self._serve(method, args, token, bad_body=bad_body)
        if fault is not None:
            return DROP
        self._maybe_hang(method, after_effect=True, record=record)
        return reply

    def _fault_reply(self, fault: Fault) -> Reply:
        if fault.kind == "drop":
            return DROP
        if fault.kind == "ratelimited":
            return self._ratelimited(fault.retry_after / self.limiter.time_scale)
        if fault.kind == "answer":
            return json_reply(fault.body or {})
        return error_reply(fault.error or "internal_error", status=fault.status)

    def _maybe_hang(self, method: str, *, after_effect: bool, record: CallRecord) -> None:
        hang = self.faults.hang_for(method)
        if hang is None or hang.after_effect != after_effect or self.closed.is_set():
            return
        record.fault = "hang_after_effect" if after_effect else "hang"
        self._wait(hang)

    def _wait(self, hang: Hang) -> None:
        # Poll so that stopping the server frees hung requests even if nobody sets the event.
        while not hang.event.wait(0.05):
            if self.closed.is_set():
                return

    def _channel_key(self, channel: Any) -> str | None:
        """Messages to a user id land in the bot's IM, so they share that IM's budget."""
        if not channel:
            return None
        ws = self.workspace
        with ws.lock:
            im = ws.im_with(str(channel), create=False) if channel in ws.users else None
        return im.id if im else str(channel)

    def _ratelimited(self, wait_seconds: float) -> Reply:
        reply = error_reply("ratelimited", status=429)
        reply.headers.update(retry_after_headers(wait_seconds, time_scale=self.limiter.time_scale))
        return reply

    def _serve(
        self, method: str, args: dict[str, Any], token: str | None, *, bad_body: bool
    ) -> Reply:
        if method in TOKENLESS:
            pass
        elif not token:
            return error_reply("not_authed")
        elif token not in self.tokens and token not in self.app_tokens:
            return error_reply("invalid_auth")
        elif (token in self.app_tokens) != (method in APP_LEVEL):
            return error_reply("not_allowed_token_type")
        if bad_body:
            return error_reply("invalid_json")
        ws = self.workspace
        if self.rate_limits:
            wait = self.limiter.acquire(method, channel=self._channel_key(args.get("channel")))
            if wait is not None:
                return self._ratelimited(wait)
        try:
            check_required(method, args)
            with ws.lock:
                result = HANDLERS[method](ws, args)
                # Serialise under the lock: the result may share objects with the state.
                return json_reply({"ok": True, **result})
        except SlackError as exc:
            return error_reply(exc.error, **exc.extra)
        except Exception:
            logger.exception("fake slack handler failed method=%s", method)
            return error_reply("internal_error", status=500)
