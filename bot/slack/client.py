"""The Web API client, and how its failures are classified.

Only HTTP 429 is retried inside the client: a rate-limited call had no effect, so
waiting out `Retry-After` and calling again is always safe. A 5xx or a dropped
connection may have taken effect, so those go back to the introduction step,
which checks Slack's state before acting again (see `bot.flows.introduction`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.config import Settings
from bot.exceptions import SlackStepError

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


def make_client(settings: Settings, *, timeout: int = 30) -> WebClient:
    """A client for `SLACK_API_URL` that waits out 429s instead of failing."""
    return WebClient(
        token=settings.slack_bot_token or None,
        base_url=settings.slack_api_url,
        timeout=timeout,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)],
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


def call(step: str, fn: Callable[..., Any], /, **kwargs: Any) -> Any:
    """Call one Web API method, turning failures into SlackStepError."""
    try:
        return fn(**kwargs)
    except SlackApiError as exc:
        error = slack_error(exc)
        permanent = error not in TRANSIENT_ERRORS and not error.startswith("http_")
        raise SlackStepError(step, error, permanent=permanent) from exc
    except (SlackClientError, OSError) as exc:
        raise SlackStepError(step, f"connection: {type(exc).__name__}", permanent=False) from exc


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
