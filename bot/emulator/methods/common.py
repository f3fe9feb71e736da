"""Lookups and pagination shared by several method families."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from bot.emulator.rules import SlackError, as_int
from bot.emulator.state import Channel, Workspace

T = TypeVar("T")


def channel_arg(ws: Workspace, args: dict[str, Any], *, member: bool = True) -> Channel:
    """The `channel` argument as a conversation the bot may use, or Slack's error."""
    channel = ws.visible(str(args.get("channel", "")))
    if channel is None:
        raise SlackError("channel_not_found")
    if member and ws.bot_user_id not in channel.members:
        raise SlackError("not_in_channel")
    return channel


def message_target(ws: Workspace, raw: Any) -> Channel:
    """Where chat.* posts go: a conversation id, `#name`, or a user id (the bot's IM)."""
    target = str(raw or "")
    if target.startswith("#"):
        named = ws.channel_by_name(target[1:])
        channel = ws.visible(named.id) if named else None
    elif target in ws.users and not ws.users[target].deleted:
        channel = ws.im_with(target, create=True)
    else:
        channel = ws.visible(target)
    if channel is None:
        raise SlackError("channel_not_found")
    if ws.bot_user_id not in channel.members:
        raise SlackError("not_in_channel")
    if channel.is_archived:
        raise SlackError("is_archived")
    return channel


def encode_cursor(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def decode_cursor(cursor: str, prefix: str) -> str:
    try:
        value = base64.b64decode(cursor.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise SlackError("invalid_cursor") from None
    if not value.startswith(prefix):
        raise SlackError("invalid_cursor")
    return value[len(prefix) :]


def paginate(
    items: Sequence[T], args: dict[str, Any], *, default: int = 100, maximum: int = 1000
) -> tuple[list[T], str]:
    """Offset cursors for member and conversation lists: `(page, next_cursor or "")`."""
    limit = as_int(args.get("limit"), default=default)
    if limit > maximum:
        raise SlackError("invalid_limit")
    if limit <= 0:
        limit = default
    start = 0
    if args.get("cursor"):
        offset = decode_cursor(str(args["cursor"]), "offset:")
        if not offset.isdigit():
            raise SlackError("invalid_cursor")
        start = int(offset)
    end = start + limit
    next_cursor = encode_cursor(f"offset:{end}") if end < len(items) else ""
    return list(items[start:end]), next_cursor


def ts_value(ts: Any, error: str) -> Decimal:
    """Slack timestamps compare as decimals; floats lose the microseconds."""
    try:
        value = Decimal(str(ts))
    except InvalidOperation:
        raise SlackError(error) from None
    if not value.is_finite():
        raise SlackError(error)
    return value


def page_messages(
    messages: list[dict[str, Any]], args: dict[str, Any], *, newest_first: bool
) -> dict[str, Any]:
    """history/replies paging: `oldest`/`latest`/`inclusive` window, `limit`, ts cursors."""
    inclusive = str(args.get("inclusive", "")).lower() in {"1", "true"}
    oldest = ts_value(args.get("oldest") or 0, "invalid_ts_oldest")
    latest = ts_value(args["latest"], "invalid_ts_latest") if args.get("latest") else None
    default = 100 if newest_first else 1000
    limit = as_int(args.get("limit"), default=default)
    limit = min(limit if limit > 0 else default, 999 if newest_first else 1000)

    def in_window(message: dict[str, Any]) -> bool:
        ts = Decimal(message["ts"])
        above = ts >= oldest if inclusive else ts > oldest
        below = latest is None or (ts <= latest if inclusive else ts < latest)
        return above and below

    chosen = [m for m in messages if in_window(m)]
    chosen.sort(key=lambda m: Decimal(m["ts"]), reverse=newest_first)
    if args.get("cursor"):
        resume = ts_value(decode_cursor(str(args["cursor"]), "next_ts:"), "invalid_cursor")
        chosen = [
            m
            for m in chosen
            if (Decimal(m["ts"]) <= resume if newest_first else Decimal(m["ts"]) >= resume)
        ]
    page, rest = chosen[:limit], chosen[limit:]
    return {
        "messages": page,
        "has_more": bool(rest),
        "response_metadata": {
            "next_cursor": encode_cursor(f"next_ts:{rest[0]['ts']}") if rest else ""
        },
    }
