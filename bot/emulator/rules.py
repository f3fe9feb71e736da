"""Argument rules: how Slack coerces request values and which error each bad value earns.

Slack accepts the same argument as a form string, a query string or a JSON value, so
handlers only ever see the normalised form produced here.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping
from typing import Any

from bot.emulator.reference import METHODS

# Arguments that carry JSON; form-encoded clients send them as JSON strings.
JSON_ARGS = frozenset({"blocks", "attachments", "metadata", "view"})
# Arguments where an empty string is a real value (clearing a topic), not a missing one.
EMPTY_ALLOWED = frozenset({"topic", "purpose"})

CHANNEL_NAME_MAX = 80
TOPIC_MAX = 250
TEXT_MAX = 40_000
MESSAGE_BLOCKS_MAX = 50
VIEW_BLOCKS_MAX = 100
_CHANNEL_NAME_OK = re.compile(r"[a-z0-9_-]+")
_EMAIL_OK = re.compile(r"[^@\s,]+@[^@\s,]+\.[^@\s,]+")

# Errors Slack gives for a missing required argument when it is not `missing_argument`.
_MISSING_ERRORS: dict[tuple[str, str], str] = {
    ("conversations.create", "name"): "invalid_name_required",
    ("conversations.rename", "name"): "invalid_name_required",
    ("conversations.invite", "users"): "no_user",
}


class SlackError(Exception):
    """A Slack `{"ok": false, "error": ...}` answer; `extra` adds fields such as warnings."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


def normalise_args(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Decode JSON-carrying arguments that arrived as strings; leave bad JSON as text.

    Bad JSON stays a string so the handler can answer with the precise error
    (`invalid_blocks_format`, `invalid_arguments`) instead of the parser guessing.
    """
    args = dict(raw)
    for key in JSON_ARGS & args.keys():
        value = args[key]
        if isinstance(value, str) and value.strip():
            with contextlib.suppress(json.JSONDecodeError):
                args[key] = json.loads(value)
    return args


def is_missing(args: Mapping[str, Any], key: str) -> bool:
    value = args.get(key)
    if value is None:
        return True
    return value == "" and key not in EMPTY_ALLOWED


def missing_error(method: str, arg: str) -> str:
    """The error a call without `arg` gets: Slack names some, the rest are generic."""
    if arg == "channel":
        return "channel_not_found"
    if method.startswith("views."):
        return "invalid_arguments"
    return _MISSING_ERRORS.get((method, arg), "missing_argument")


def check_required(method: str, args: Mapping[str, Any]) -> None:
    ref = METHODS.get(method)
    for arg in ref.required if ref else ():
        if is_missing(args, arg):
            raise SlackError(missing_error(method, arg))


def as_bool(value: Any) -> bool:
    """Slack reads `true`, `1` (and slack_sdk's `1` for True) as true."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    return str(value).strip().lower() in {"1", "true", "yes"}


def as_int(value: Any, *, default: int, error: str = "invalid_limit") -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise SlackError(error) from None


def as_list(value: Any) -> list[str]:
    """`"U1,U2"` or `["U1", "U2"]` -> `["U1", "U2"]`, blanks dropped."""
    if value is None:
        return []
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def check_channel_name(name: str) -> None:
    """Slack's channel-name rules, checked in the order Slack reports them."""
    if not name:
        raise SlackError("invalid_name_required")
    if len(name) > CHANNEL_NAME_MAX:
        raise SlackError("invalid_name_maxlength")
    if not _CHANNEL_NAME_OK.fullmatch(name):
        raise SlackError("invalid_name_specials")
    if not name.strip("-_"):
        raise SlackError("invalid_name_punctuation")


def is_valid_email(email: str) -> bool:
    return bool(_EMAIL_OK.fullmatch(email.strip()))


def check_blocks(blocks: Any, *, limit: int = MESSAGE_BLOCKS_MAX) -> list[dict[str, Any]] | None:
    """Validate a `blocks` argument the way chat.postMessage does; `None` when absent."""
    if blocks is None or blocks == "":
        return None
    if isinstance(blocks, str):
        raise SlackError("invalid_blocks_format")
    if not isinstance(blocks, list) or len(blocks) > limit:
        raise SlackError("invalid_blocks")
    for block in blocks:
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise SlackError("invalid_blocks")
    return blocks


def check_text(args: Mapping[str, Any], *, blocks: list[dict[str, Any]] | None) -> str | None:
    """`no_text` without any content, `msg_too_long` over Slack's 40,000 characters."""
    text = args.get("text")
    if (text is None or text == "") and not blocks and not args.get("attachments"):
        raise SlackError("no_text")
    if text is not None and len(str(text)) > TEXT_MAX:
        raise SlackError("msg_too_long")
    return None if text is None else str(text)


def check_metadata(metadata: Any) -> dict[str, Any] | None:
    """Message metadata must be `{"event_type": str, "event_payload": object}`."""
    if metadata is None or metadata == "":
        return None
    if not isinstance(metadata, dict):
        raise SlackError("invalid_metadata_format")
    if not isinstance(metadata.get("event_type"), str) or not isinstance(
        metadata.get("event_payload", {}), dict
    ):
        raise SlackError("invalid_metadata_schema")
    return {
        "event_type": metadata["event_type"],
        "event_payload": metadata.get("event_payload", {}),
    }


def view_errors(view: Any, *, allowed_types: tuple[str, ...]) -> list[str]:
    """Block Kit view checks Slack applies; each failure is an `[ERROR] ...` warning line."""
    if not isinstance(view, dict):
        return ["[ERROR] view must be a JSON object"]
    kind = view.get("type")
    if kind not in allowed_types:
        return [f"[ERROR] view type must be one of {', '.join(allowed_types)} [json-pointer:/type]"]
    errors: list[str] = []
    blocks = view.get("blocks", [])
    if not isinstance(blocks, list) or len(blocks) > VIEW_BLOCKS_MAX:
        errors.append("[ERROR] must provide at most 100 blocks [json-pointer:/view/blocks]")
    elif not all(isinstance(b, dict) and isinstance(b.get("type"), str) for b in blocks):
        errors.append("[ERROR] every block needs a type [json-pointer:/view/blocks]")
    if kind == "modal":
        errors += _modal_text_errors(view)
        has_input = isinstance(blocks, list) and any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        )
        if has_input and view.get("submit") is None:
            errors.append("[ERROR] must provide a submit property when using input blocks")
    if len(str(view.get("private_metadata", ""))) > 3000:
        errors.append("[ERROR] private_metadata must be at most 3000 characters")
    if len(str(view.get("callback_id", ""))) > 255:
        errors.append("[ERROR] callback_id must be at most 255 characters")
    return errors


def _modal_text_errors(view: Mapping[str, Any]) -> list[str]:
    errors: list[str] = []
    for key in ("title", "submit", "close"):
        value = view.get(key)
        if value is None:
            if key == "title":
                errors.append("[ERROR] missing required field: title [json-pointer:/view/title]")
            continue
        text = value.get("text") if isinstance(value, dict) else None
        if not isinstance(text, str) or len(text) > 24:
            errors.append(
                f"[ERROR] {key} must be plain_text of at most 24 characters "
                f"[json-pointer:/view/{key}/text]"
            )
    return errors
