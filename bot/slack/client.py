"""The Web API client, and how its failures are classified.

Only HTTP 429 is retried inside the client: a rate-limited call had no effect, so
waiting out `Retry-After` and calling again is always safe. A 5xx or a dropped
connection may have taken effect, so those go back to the introduction step,
which checks Slack's state before acting again (see `bot.flows.introduction`).

Slack limits each method per workspace, so a `Retry-After` is shared: once one call of
a method is told to wait, every thread using the client waits for that method too,
instead of each earning its own 429.

Every call's outcome is reported to the process's Slack outage (`bot.outages.SLACK`):
no answer or a 5xx counts as a failure, any other answer as Slack being there, so a
lost Slack is logged once when it goes and once when it is back, whoever was calling.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.config import Settings
from bot.exceptions import SlackStepError
from bot.outages import SLACK, slack_lost

log = logging.getLogger(__name__)
T = TypeVar("T")

TRANSIENT_ERRORS = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "team_added_to_org",
        "ratelimit",
    }
)
RATE_LIMIT_RETRIES = 20
MAX_RETRY_AFTER = 3600.0  # beyond an hour the header is not believed (NaN, inf: likewise)


class RateLimits:
    """Until when each Web API method must not be called (monotonic clock), and, for a
    method that was just limited, one caller at a time until a call gets through: when
    the wait ends, one call finds out whether Slack has room again, instead of every
    waiting thread at once (and all but one earning a new 429)."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}
        self._probes: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def __deepcopy__(self, memo: dict[int, Any]) -> RateLimits:
        return self  # shared on purpose: Bolt deep-copies a request's client for lazy listeners

    def hold(self, method: str, seconds: float) -> None:
        with self._lock:
            until = time.monotonic() + seconds
            self._until[method] = max(until, self._until.get(method, 0.0))
            self._probes.setdefault(method, threading.Lock())

    def held(self, method: str) -> float:
        """Seconds until the method may be called again (0: now)."""
        return max(0.0, self._until.get(method, 0.0) - time.monotonic())

    def wait(self, method: str) -> None:
        while (left := self.held(method)) > 0:
            time.sleep(left)

    @contextmanager
    def turn(self, method: str) -> Iterator[None]:
        """Wait for the method's hold; while it is recovering, call it one at a time."""
        self.wait(method)
        probe = self._probes.get(method)
        if probe is None:
            yield
            return
        with probe:
            self.wait(method)
            yield
            with self._lock:  # it got through: callers need not queue any more
                if self._until.get(method, 0.0) <= time.monotonic():
                    self._probes.pop(method, None)


def retry_after_seconds(value: str | None) -> float:
    """Slack sends whole seconds; a decimal (the emulator's compressed clock) is honoured as
    given rather than rounded up to a second. Missing or nonsense: 1 s, as slack_sdk does."""
    try:
        seconds = float(value) if value is not None else 1.0
    except ValueError:
        return 1.0
    return seconds if 0 <= seconds <= MAX_RETRY_AFTER else 1.0


def request_method(request: HttpRequest) -> str:
    return request.url.split("?")[0].rsplit("/", 1)[-1]


class SharedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """slack_sdk's 429 handler, with the wait recorded for the method so that the client's
    other callers honour it too.

    It waits exactly `Retry-After`, without slack_sdk's extra 0–1 s of random jitter:
    jitter spreads independent clients, and here `RateLimits.turn` already lets one call
    through first. Measured (bench/README.md, bulk introductions), the jitter only added
    its average half second to every rate-limited pause.
    """

    def __init__(self, limits: RateLimits, max_retry_count: int = RATE_LIMIT_RETRIES) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.limits = limits

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:
            raise error  # type: ignore[misc]
        state.next_attempt_requested = True
        header = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), [])
        method = request_method(request)
        self.limits.hold(method, retry_after_seconds(header[0] if header else None))
        self.limits.wait(method)
        state.increment_current_attempt()


class DmChannels(dict[str, str]):
    """The bot's DM channel with each person it has written to. Slack keeps one id per
    pair for good, so opening it before every message was a wasted `conversations.open`
    (two per introduction: the brief and the AE's note)."""

    def __deepcopy__(self, memo: dict[int, Any]) -> DmChannels:
        return self  # shared on purpose, like RateLimits


class RateLimitedWebClient(WebClient):
    """A WebClient that waits, before each call, for its method's shared `Retry-After`."""

    def __init__(self, *args: Any, limits: RateLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        self.dm_channels = DmChannels()

    def api_call(self, api_method: str, **kwargs: Any) -> Any:  # type: ignore[override]
        with self.limits.turn(api_method):
            try:
                response = super().api_call(api_method, **kwargs)
            except (SlackClientError, OSError) as exc:
                if slack_lost(exc):
                    SLACK.failed(exc)
                else:
                    SLACK.answered()
                raise
        SLACK.answered()
        return response

    def _request_for_pagination(self, api_url: str, req_args: dict[str, Any]) -> dict[str, Any]:
        """A next page of an iterated response (`pages`) waits for its method's hold too."""
        with self.limits.turn(api_url.split("?")[0].rsplit("/", 1)[-1]):
            return super()._request_for_pagination(api_url, req_args)


class SendFailureFilter(logging.Filter):
    """Drops slack_sdk's own "Failed to send a request" line: the error is raised to our
    code, which reports it to the Slack outage and logs it once (`bot.outages`); the
    line made every refused call of a lost Slack one more ERROR."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Failed to send a request to Slack API")


SDK_LOG = logging.getLogger("slack_sdk.web.base_client")


def make_client(settings: Settings, *, timeout: int = 30) -> WebClient:
    """A client for `SLACK_API_URL` that waits out 429s instead of failing."""
    if not any(isinstance(f, SendFailureFilter) for f in SDK_LOG.filters):
        SDK_LOG.addFilter(SendFailureFilter())
    limits = RateLimits()
    return RateLimitedWebClient(
        token=settings.slack_bot_token or None,
        base_url=settings.slack_api_url,
        timeout=timeout,
        retry_handlers=[SharedRateLimitRetryHandler(limits)],
        limits=limits,
    )


def slack_error(exc: SlackApiError) -> str:
    response = exc.response
    status = getattr(response, "status_code", 200)
    if status >= 500:
        return f"http_{status}"
    data = getattr(response, "data", None)
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    return f"http_{status}"


@contextmanager
def classified(step: str) -> Iterator[None]:
    """Turn a Web API failure inside the block into SlackStepError (transient or not)."""
    try:
        yield
    except SlackApiError as exc:
        error = slack_error(exc)
        permanent = error not in TRANSIENT_ERRORS and not error.startswith("http_")
        raise SlackStepError(step, error, permanent=permanent) from exc
    except (SlackClientError, OSError) as exc:
        raise SlackStepError(step, f"connection: {type(exc).__name__}", permanent=False) from exc


def call(step: str, fn: Callable[..., Any], /, **kwargs: Any) -> Any:
    """Call one Web API method, turning failures into SlackStepError."""
    with classified(step):
        return fn(**kwargs)


def pages(step: str, fn: Callable[..., Any], /, **kwargs: Any) -> Iterator[Any]:
    """Each page of a cursor-paginated method, fetched as it is needed.

    slack_sdk's `SlackResponse` iterates over the pages itself (it follows
    `response_metadata.next_cursor`); each page's fetch goes through the client's retry
    handlers (a 429 is waited out) and its failure is classified as `call` does.
    """
    with classified(step):
        response = iter(fn(**kwargs))
    while True:
        with classified(step):
            page = next(response, None)
        if page is None:
            return
        yield page


def open_dm(step: str, client: WebClient, user_id: str) -> str:
    """The id of the bot's DM with a person: opened once per process (if need be)."""
    known: DmChannels | None = getattr(client, "dm_channels", None)
    if known is not None and user_id in known:
        return known[user_id]
    channel = str(call(step, client.conversations_open, users=user_id)["channel"]["id"])
    if known is not None:
        known[user_id] = channel
    return channel


def send_dm(
    step: str, client: WebClient, user_id: str, *, text: str, blocks: Any, **options: Any
) -> str:
    """Open the DM and post to it; returns the message's ts."""
    channel = open_dm(step, client, user_id)
    posted = call(
        step, client.chat_postMessage, channel=channel, text=text, blocks=blocks, **options
    )
    return str(posted["ts"])


def dm_once(
    step: str,
    client: WebClient,
    user_id: str,
    *,
    text: str,
    blocks: Any,
    event_type: str,
    marker: Mapping[str, Any],
    limit: int = 50,
) -> bool:
    """DM a person a message tagged with `marker`, unless a DM with that tag is already in
    their recent history (a send whose answer, or whose recording, a crash cut short);
    True when it posted."""
    channel = open_dm(step, client, user_id)
    if find_posted(client, step, channel=channel, event_type=event_type, payload=marker,
                   limit=limit):  # fmt: skip
        return False
    metadata = {"event_type": event_type, "event_payload": dict(marker)}
    call(step, client.chat_postMessage, channel=channel, text=text, blocks=blocks,
         unfurl_links=False, metadata=metadata)  # fmt: skip
    return True


def find_posted(
    client: WebClient,
    step: str,
    *,
    channel: str,
    event_type: str,
    payload: Mapping[str, Any],
    limit: int = 100,
) -> str | None:
    """The ts of a message we posted with this metadata, if it is in recent history: how
    a send interrupted after Slack acted recognises its own message instead of repeating it."""
    history = call(
        step, client.conversations_history, channel=channel, limit=limit, include_all_metadata=True
    )
    for message in history.get("messages", []):
        metadata = message.get("metadata") or {}
        found = metadata.get("event_payload") or {}
        if metadata.get("event_type") == event_type and all(
            found.get(key) == value for key, value in payload.items()
        ):
            return str(message["ts"])
    return None


def try_call(
    step: str, fn: Callable[..., Any], /, *, ok_errors: frozenset[str], **kwargs: Any
) -> Any:
    """Like `call`, but the listed Slack errors count as success (returns the error name)."""
    try:
        return call(step, fn, **kwargs)
    except SlackStepError as exc:
        if exc.error in ok_errors:
            return exc.error
        raise
