"""chat.* and pins.add: posting, updating, linking and pinning messages."""

from __future__ import annotations

import time
from typing import Any

from bot.emulator import shapes
from bot.emulator.methods.common import channel_arg, message_target
from bot.emulator.methods.registry import method
from bot.emulator.rules import (
    SlackError,
    as_bool,
    as_int,
    check_blocks,
    check_metadata,
    check_text,
)
from bot.emulator.state import Channel, Workspace

SCHEDULE_MAX_AHEAD = 120 * 24 * 3600


def _content(args: dict[str, Any]) -> dict[str, Any]:
    """Validated text/blocks/metadata of a message, in the order Slack checks them."""
    blocks = check_blocks(args.get("blocks"))
    text = check_text(args, blocks=blocks)
    metadata = check_metadata(args.get("metadata"))
    content: dict[str, Any] = {"text": text or "", "blocks": blocks, "metadata": metadata}
    if args.get("attachments"):
        content["attachments"] = args["attachments"]
    return content


def _thread_root(channel: Channel, ws: Workspace, thread_ts: Any) -> str | None:
    """Replies to a reply join the parent's thread, as in Slack."""
    if not thread_ts:
        return None
    parent = ws.find_message(channel, str(thread_ts))
    if parent is not None and parent.get("thread_ts"):
        return str(parent["thread_ts"])
    return str(thread_ts)


def _new_message(ws: Workspace, channel: Channel, args: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {
        "type": "message",
        "ts": ws.new_ts(),
        "user": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "app_id": ws.app_id,
        "team": ws.team_id,
        **_content(args),
        "thread_ts": _thread_root(channel, ws, args.get("thread_ts")),
    }
    if message["thread_ts"] and as_bool(args.get("reply_broadcast", False)):
        message["reply_broadcast"] = True
    return message


@method("chat.postMessage")
def chat_post_message(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = message_target(ws, args["channel"])
    message = _new_message(ws, channel, args)
    channel.messages.append(message)
    return {
        "channel": channel.id,
        "ts": message["ts"],
        "message": shapes.message_json(ws, channel, message, with_metadata=True),
    }


@method("chat.postEphemeral")
def chat_post_ephemeral(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = message_target(ws, args["channel"])
    user_id = str(args["user"])
    if user_id not in channel.members:
        raise SlackError("user_not_in_channel")
    content = _content(args)
    ts = ws.new_ts()
    ws.ephemeral.append(
        {
            "channel": channel.id,
            "user": user_id,
            "ts": ts,
            "text": content["text"],
            "blocks": content["blocks"],
            "thread_ts": args.get("thread_ts"),
        }
    )
    return {"message_ts": ts}


@method("chat.update")
def chat_update(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = channel_arg(ws, args, member=False)
    message = ws.find_message(channel, str(args["ts"]))
    if message is None:
        raise SlackError("message_not_found")
    if message.get("user") != ws.bot_user_id:
        raise SlackError("cant_update_message")
    blocks = check_blocks(args.get("blocks"))
    if "text" not in args and blocks is None:
        raise SlackError("no_text")
    check_text(args, blocks=blocks or message.get("blocks"))
    if "text" in args:
        message["text"] = str(args["text"])
    if "blocks" in args:
        # An empty list removes the blocks; leaving `blocks` out keeps them, as in Slack.
        message["blocks"] = blocks or None
    if args.get("metadata"):
        message["metadata"] = check_metadata(args["metadata"])
    message["edited"] = {"user": ws.bot_user_id, "ts": ws.new_ts()}
    return {
        "channel": channel.id,
        "ts": message["ts"],
        "text": message["text"],
        "message": shapes.message_json(ws, channel, message, with_metadata=True),
    }


@method("chat.getPermalink")
def chat_get_permalink(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = channel_arg(ws, args, member=False)
    message = ws.find_message(channel, str(args["message_ts"]))
    if message is None:
        raise SlackError("message_not_found")
    return {"channel": channel.id, "permalink": shapes.permalink(channel, message)}


@method("chat.scheduleMessage")
def chat_schedule_message(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = message_target(ws, args["channel"])
    post_at = as_int(args["post_at"], default=0, error="invalid_time")
    now = int(time.time())
    if post_at <= now:
        raise SlackError("time_in_past")
    if post_at > now + SCHEDULE_MAX_AHEAD:
        raise SlackError("time_too_far")
    message = _new_message(ws, channel, args)
    scheduled_id = ws.new_id("Q")
    ws.scheduled.append(
        {
            "scheduled_message_id": scheduled_id,
            "channel": channel.id,
            "post_at": post_at,
            "message": message,
        }
    )
    return {
        "channel": channel.id,
        "scheduled_message_id": scheduled_id,
        "post_at": post_at,
        "message": {k: v for k, v in message.items() if v is not None and k != "ts"},
    }


@method("pins.add")
def pins_add(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = channel_arg(ws, args)
    if not args.get("timestamp"):
        raise SlackError("no_item_specified")
    if ws.find_message(channel, str(args["timestamp"])) is None:
        raise SlackError("message_not_found")
    if args["timestamp"] in channel.pins:
        raise SlackError("already_pinned")
    channel.pins.add(str(args["timestamp"]))
    return {}
