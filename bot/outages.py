"""A lost database or Slack, logged once when it goes and once when it comes back.

Every worker thread and task meets the same outage at every poll: logging each failure
gave ~40 tracebacks every 10 seconds for one lost database. Here the first failure is
logged (one line, no traceback), the rest are counted, and the return is logged once
the dependency has answered with no failure for `SETTLE_SECONDS`, so a flapping
connection does not log a line per flap. Work resumes by itself: the worker keeps
polling, and nothing is given up.

Slack is one outage per process (`SLACK`): the Web API client reports every call's
outcome to it (`bot.slack.client`), whoever made the call (an introduction, a periodic
task, a listener), and it is lost only after `SLACK_AFTER` failures in a row with no
answer between them, so one dropped call among many (Slack on a bad day) is not an
outage. Flows that catch a Slack failure themselves log it through `log_failure`,
which says nothing more (DEBUG) while that outage is already logged.
"""

from __future__ import annotations

import logging
import threading
import time

from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.exc import DBAPIError, OperationalError

from bot.exceptions import SlackStepError

log = logging.getLogger(__name__)
SETTLE_SECONDS = 4.0
SLACK_AFTER = 3  # failed calls in a row before Slack counts as lost


def database_lost(exc: BaseException) -> bool:
    """The database cannot be reached (refused, dropped, locked), not a bug of ours."""
    if isinstance(exc, OperationalError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def slack_lost(exc: BaseException) -> bool:
    """Slack cannot be reached or cannot serve: no answer at all (refused, timed out,
    dropped) or a 5xx. An error Slack answered (`channel_not_found`, a 429) is not it."""
    if isinstance(exc, SlackStepError):
        return not exc.permanent and exc.error.startswith(("connection", "http_5"))
    if isinstance(exc, SlackApiError):
        return int(getattr(exc.response, "status_code", 200) or 200) >= 500
    return isinstance(exc, SlackClientError | OSError)


class Outage:
    """One dependency as this process sees it: reachable, or lost since when."""

    def __init__(self, what: str, *, after: int = 1) -> None:
        """Lost at the `after`-th failure with no answer since the previous one."""
        self.what = what
        self.after = after
        self._lock = threading.Lock()
        self._since: float | None = None  # monotonic: when it was lost
        self._last_failure = 0.0
        self._failures = 0  # since the last answer (before it is lost), or since lost

    @property
    def lost(self) -> bool:
        return self._since is not None

    def failed(self, exc: BaseException) -> None:
        """A call failed for want of the dependency; logged if it is the first."""
        now = time.monotonic()
        with self._lock:
            self._last_failure = now
            self._failures += 1
            if self._since is not None or self._failures < self.after:
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
            if self._since is None:
                self._failures = 0
                return
            if now - self._last_failure < SETTLE_SECONDS:
                return
            lasted, failures = now - self._since, self._failures
            self._since, self._failures = None, 0
        log.warning(
            "%s reachable again after %.0f s (%d failed calls); work resumes",
            self.what, lasted, failures,
        )  # fmt: skip

    def reset(self) -> None:
        """Reachable, with nothing counted (a test's fresh start)."""
        with self._lock:
            self._since, self._failures = None, 0


SLACK = Outage("Slack", after=SLACK_AFTER)  # this process's view of Slack


def quiet(exc: BaseException) -> bool:
    """This failure is part of a Slack outage already logged: nothing more to say."""
    return SLACK.lost and slack_lost(exc)


def log_failure(
    logger: logging.Logger,
    exc: BaseException,
    message: str,
    *args: object,
    level: int = logging.WARNING,
    traceback: bool = False,
) -> None:
    """Log a failure a flow caught and will retry, unless Slack's outage covers it:
    then at DEBUG, so a lost Slack is not one line per item per poll."""
    if quiet(exc):
        logger.debug(message, *args)
    else:
        logger.log(level, message, *args, exc_info=exc if traceback else None)
