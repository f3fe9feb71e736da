"""Slack users found by email, cached in the process: how a deal's CRM owner becomes its AE.

The CRM reports the same deals again and again (every change, every poll), nearly always
with the same owner: each email is asked of Slack (`users.lookupByEmail`, Tier 3) once per
`ttl_seconds`, and an answer of "nobody" is kept as long, so an owner who is not in the
workspace does not cost a call per event. A failed call is not kept: the next record asks
again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from slack_sdk import WebClient

from bot.exceptions import SlackStepError
from bot.outages import log_failure
from bot.slack.client import try_call
from bot.text import mask_email

log = logging.getLogger(__name__)

LOOKUP_TTL_SECONDS = 3600.0  # a new hire's account is matched within the hour


class UserDirectory:
    """`lookup(email)` -> the user id of an active person of the workspace, or None."""

    def __init__(
        self,
        client: WebClient,
        *,
        ttl_seconds: float = LOOKUP_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self._cache: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def lookup(self, email: str) -> str | None:
        key = email.strip().lower()
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and self.clock() - cached[0] < self.ttl_seconds:
            return cached[1]
        try:
            result = try_call(
                "ae", self.client.users_lookupByEmail,
                ok_errors=frozenset({"users_not_found"}), email=key,
            )  # fmt: skip
        except SlackStepError as exc:
            log_failure(log, exc, "owner=%s not looked up: %s", mask_email(key), exc.error)
            return None
        user = None if isinstance(result, str) else result["user"]
        found = None
        if user and not user.get("deleted") and not user.get("is_bot"):
            found = str(user["id"])
        with self._lock:
            self._cache[key] = (self.clock(), found)
        return found
