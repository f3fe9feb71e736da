"""One error path: whatever a listener raises becomes what the person is told.

Bolt calls `answer_error` for any exception out of an ack listener (and out of
middleware); it may return the response Slack gets. A `UserError` is something the
person can fix, so its message is the answer; anything else is logged once with its
traceback under an error id, and the person is shown that id. With
`process_before_response` the listener's ack is only sent when it returns, so an error
raised before or after `ack()` is answered the same way. Lazy listeners run after the
answer and Bolt only logs what they raise, so they call `explain` themselves.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from slack_bolt import App, BoltResponse

from bot.exceptions import UserError
from bot.ids import Field
from bot.templating import phrase

log = logging.getLogger(__name__)
MODAL_ERROR_LIMIT = 150  # Slack shows at most this much under a modal's input


def register(app: App) -> None:
    app.error(answer_error)


def error_id() -> str:
    return uuid.uuid4().hex[:8]


def unexpected(exc: BaseException, where: str) -> str:
    """Log with the traceback; give the person an id that finds it in the logs."""
    eid = error_id()
    log.error("error_id=%s in %s", eid, where, exc_info=exc)
    return phrase("slash.unexpected", error_id=eid)


def explain(exc: BaseException, where: str) -> str:
    """The one line a person is shown for `exc` (a UsageError adds the usage line)."""
    return str(exc) if isinstance(exc, UserError) else unexpected(exc, where)


def answer_error(
    error: Exception, body: dict[str, Any], response: BoltResponse | None
) -> BoltResponse | None:
    """Bolt's `@app.error`: an ephemeral reply to a command, inline errors in a modal.

    Events and other requests keep Bolt's 500 (Slack retries an event). `response` is
    None when the request was already answered (socket mode): then it is logged only.
    """
    where = body.get("command") or body.get("type") or "request"
    if body.get("type") == "view_submission":
        if isinstance(error, UserError):
            field, text = error.about or Field.DEAL, error.message
        else:
            field, text = Field.DEAL, unexpected(error, "modal")
        answer: dict[str, Any] = {
            "response_action": "errors",
            "errors": {field: text[:MODAL_ERROR_LIMIT]},
        }
    elif "command" in body:
        answer = {"response_type": "ephemeral", "text": explain(error, "slash command")}
    else:
        unexpected(error, f"listener for {where}")
        return None
    return BoltResponse(status=200, body=answer) if response is not None else None
