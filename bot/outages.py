"""A lost database or Slack, logged once when it goes and once when it comes back.

Every worker thread and task meets the same outage at every poll: logging each failure
gave ~40 tracebacks every 10 seconds for one lost database. Here the first failure is
logged (one line, no traceback), the rest are counted, and the return is logged once
the dependency has answered with no failure for `SETTLE_SECONDS`, so a flapping
connection does not log a line per flap. Work resumes by itself: the worker keeps
polling, and nothing is given up.
"""

from __future__ import annotations

import logging
import threading
import time

from slack_sdk.errors import SlackClientError
from sqlalchemy.exc import DBAPIError, OperationalError

from bot.exceptions import SlackStepError

log = logging.getLogger(__name__)
SETTLE_SECONDS = 4.0


def database_lost(exc: BaseException) -> bool:
    """The database cannot be reached (refused, dropped, locked), not a bug of ours."""
    if isinstance(exc, OperationalError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def slack_lost(exc: BaseException) -> bool:
    """Slack cannot be reached: no answer at all (refused, timed out, dropped)."""
    if isinstance(exc, SlackStepError):
        return not exc.permanent and exc.error.startswith("connection")
    return isinstance(exc, SlackClientError | OSError)


class Outage:
    """One dependency as this process sees it: reachable, or lost since when."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._lock = threading.Lock()
        self._since: float | None = None  # monotonic: when it was lost
        self._last_failure = 0.0
        self._failures = 0

    @property
    def lost(self) -> bool:
        return self._since is not None

    def failed(self, exc: BaseException) -> None:
        """A call failed for want of the dependency; logged if it is the first."""
        now = time.monotonic()
        with self._lock:
            self._last_failure = now
            self._failures += 1
            if self._since is not None:
                return
            self._since = now
        first_line = (str(exc).strip().splitlines() or [""])[0][:200]
        log.error(
            "%s unreachable (%s: %s); retrying quietly until it answers",
            self.what, type(exc).__name__, first_line,
        )  # fmt: skip

    def answered(self) -> None:
        """A call succeeded; the outage ends once no failure came for a while."""
        now = time.monotonic()
        with self._lock:
            if self._since is None or now - self._last_failure < SETTLE_SECONDS:
                return
            lasted, failures = now - self._since, self._failures
            self._since, self._failures = None, 0
        log.warning(
            "%s reachable again after %.0f s (%d failed calls); work resumes",
            self.what, lasted, failures,
        )  # fmt: skip
