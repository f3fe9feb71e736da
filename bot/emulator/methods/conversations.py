"""conversations.*: channels, membership, topics, DMs and reading history."""

from __future__ import annotations

import time
from typing import Any

from bot.emulator import shapes
from bot.emulator.methods.common import channel_arg, page_messages, paginate
from bot.emulator.methods.registry import method
from bot.emulator.rules import TOPIC_MAX, SlackError, as_bool, as_list, check_channel_name
from bot.emulator.state import Channel, Workspace

CONVERSATION_TYPES = frozenset({"public_channel", "private_channel", "mpim", "im"})
MPIM_MAX_USERS = 8
# Slack answers `name_taken` for these reserved words.
RESERVED_NAMES = frozenset(
    {"archive", "archived", "channel", "channels", "everyone", "general", "group", "here"}
)


def _new_name(ws: Workspace, name: str, *, renaming: Channel | None = None) -> str:
    check_channel_name(name)
    existing = ws.channel_by_name(name)
    if name in RESERVED_NAMES or (existing is not None and existing is not renaming):
        raise SlackError("name_taken")
    return name


def _not_for_dms(channel: Channel) -> None:
    if channel.is_im:
        raise SlackError("method_not_supported_for_channel_type")


@method("conversations.create")
def conversations_create(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    name = _new_name(ws, str(args["name"]))
    channel = ws.add_channel(
        name,
        creator=ws.bot_user_id,
        is_private=as_bool(args.get("is_private", False)),
        members=[ws.bot_user_id],
    )
    return {"channel": shapes.channel_json(ws, channel)}


@method("conversations.info")
def conversations_info(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = channel_arg(ws, args, member=False)
    num_members = as_bool(args.get("include_num_members", False))
    return {"channel": shapes.channel_json(ws, channel, num_members=num_members)}


def _listed(ws: Workspace, channel: Channel, types: set[str]) -> bool:
    if ws.visible(channel.id) is None:
        return False
    if channel.is_im:
        kind = "im"
    elif channel.is_mpim:
        kind = "mpim"
    else:
        kind = "private_channel" if channel.is_private else "public_channel"
    return kind in types


@method("conversations.list")
def conversations_list(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    types = set(as_list(args.get("types"))) or {"public_channel"}
    if not types <= CONVERSATION_TYPES:
        raise SlackError("invalid_types")
    exclude_archived = as_bool(args.get("exclude_archived", False))
    found = [
        c
        for c in ws.channels.values()
        if _listed(ws, c, types) and not (exclude_archived and c.is_archived)
    ]
    page, next_cursor = paginate(found, args)
    return {
        "channels": [shapes.channel_json(ws, c) for c in page],
        "response_metadata": {"next_cursor": next_cursor},
    }


@method("conversations.members")
def conversations_members(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = channel_arg(ws, args, member=False)
    page, next_cursor = paginate(sorted(channel.members), args)
    return {"members": page, "response_metadata": {"next_cursor": next_cursor}}


@method("conversations.invite")
def conversations_invite(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = channel_arg(ws, args, member=False)
    _not_for_dms(channel)
    if channel.is_archived:
        raise SlackError("is_archived")
    if ws.bot_user_id not in channel.members:
        raise SlackError("not_in_channel")
    users = as_list(args["users"])
    if not users:
        raise SlackError("no_user")
    for user_id in users:
        if user_id == ws.bot_user_id:
            raise SlackError("cant_invite_self")
        if user_id not in ws.users:
            raise SlackError("user_not_found")
    new = [u for u in users if u not in channel.members]
    if not new:
        raise SlackError("already_in_channel")
    channel.members.update(new)
    return {"channel": shapes.channel_json(ws, channel)}


def _set_text(ws: Workspace, args: dict[str, Any], field: str) -> dict[str, Any]:
    channel = channel_arg(ws, args, member=False)
    _not_for_dms(channel)
    if channel.is_archived:
        raise SlackError("is_archived")
    if ws.bot_user_id not in channel.members:
        raise SlackError("not_in_channel")
    value = str(args[field])
    if len(value) > TOPIC_MAX:
        raise SlackError("too_long")
    setattr(channel, field, value)
    setattr(channel, f"{field}_meta", (ws.bot_user_id, int(time.time())))
    return {"channel": shapes.channel_json(ws, channel)}


@method("conversations.setTopic")
def conversations_set_topic(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    return _set_text(ws, args, "topic")


@method("conversations.setPurpose")
def conversations_set_purpose(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    return _set_text(ws, args, "purpose")


@method("conversations.archive")
def conversations_archive(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = channel_arg(ws, args)
    _not_for_dms(channel)
    if channel.is_archived:
        raise SlackError("already_archived")
    if channel.name == "general":
        raise SlackError("cant_archive_general")
    channel.is_archived = True
    return {}


@method("conversations.unarchive")
def conversations_unarchive(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """Slack's docs: "Bot tokens (xoxb-...) cannot currently be used to unarchive
    conversations"; what a bot gets is `not_in_channel` (an archived channel has no
    bot in it). `Workspace.bots_may_unarchive` plays the day Slack lifts that."""
    channel = channel_arg(ws, args, member=False)
    _not_for_dms(channel)
    if not channel.is_archived:
        raise SlackError("not_archived")
    if not ws.bots_may_unarchive:
        raise SlackError("not_in_channel")
    channel.is_archived = False
    if not channel.is_private:  # Slack's help: a public channel's members are not restored
        channel.members.clear()
    channel.members.add(ws.bot_user_id)  # "The calling user is added to the conversation."
    return {}


@method("conversations.join")
def conversations_join(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = channel_arg(ws, args, member=False)
    if channel.is_im or channel.is_mpim or channel.is_private:
        raise SlackError("method_not_supported_for_channel_type")
    if channel.is_archived:
        raise SlackError("is_archived")
    result: dict[str, Any] = {}
    if ws.bot_user_id in channel.members:
        result = {"warning": "already_in_channel"}
        result["response_metadata"] = {"warnings": ["already_in_channel"]}
    channel.members.add(ws.bot_user_id)
    return {"channel": shapes.channel_json(ws, channel), **result}


@method("conversations.rename")
def conversations_rename(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = channel_arg(ws, args)
    _not_for_dms(channel)
    if channel.is_archived:
        raise SlackError("is_archived")
    channel.name = _new_name(ws, str(args["name"]), renaming=channel)
    return {"channel": shapes.channel_json(ws, channel)}


def _open_mpim(ws: Workspace, users: list[str]) -> tuple[Channel, bool]:
    members = {ws.bot_user_id, *users}
    for channel in ws.channels.values():
        if channel.is_mpim and channel.members == members:
            return channel, True
    names = "--".join(sorted(ws.users[m].name for m in members))
    channel = Channel(
        id=ws.new_id("G"),
        name=f"mpdm-{names}-1",
        is_private=True,
        creator=ws.bot_user_id,
        created=int(time.time()),
        members=members,
        is_mpim=True,
    )
    ws.channels[channel.id] = channel
    return channel, False


@method("conversations.open")
def conversations_open(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    users = as_list(args.get("users"))
    if args.get("channel"):
        channel = channel_arg(ws, args)
        existed = True
    elif not users:
        raise SlackError("users_list_not_supplied")
    elif len(users) > MPIM_MAX_USERS:
        raise SlackError("too_many_users")
    else:
        for user_id in users:
            if user_id not in ws.users:
                raise SlackError("user_not_found")
            if ws.users[user_id].deleted:
                raise SlackError("user_disabled")
        if len(users) == 1:
            existed = ws.im_with(users[0], create=False) is not None
            channel = ws.im_with(users[0], create=True)
            assert channel is not None
        else:
            channel, existed = _open_mpim(ws, users)
    body = (
        shapes.channel_json(ws, channel)
        if as_bool(args.get("return_im", False))
        else {"id": channel.id}
    )
    return {"no_op": existed, "already_open": existed, "channel": body}


@method("conversations.history")
def conversations_history(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = channel_arg(ws, args)
    top_level = [
        m
        for m in channel.messages
        if m.get("thread_ts") in (None, m["ts"]) or m.get("reply_broadcast")
    ]
    result = page_messages(top_level, args, newest_first=True)
    with_metadata = as_bool(args.get("include_all_metadata", False))
    result["messages"] = [
        shapes.message_json(ws, channel, m, with_metadata=with_metadata) for m in result["messages"]
    ]
    return {**result, "pin_count": len(channel.pins), "channel_actions_count": 0}


@method("conversations.replies")
def conversations_replies(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = channel_arg(ws, args)
    message = ws.find_message(channel, str(args["ts"]))
    if message is None:
        raise SlackError("thread_not_found")
    root = message.get("thread_ts") or message["ts"]
    thread = [m for m in channel.messages if m["ts"] == root or m.get("thread_ts") == root]
    result = page_messages(thread, args, newest_first=False)
    with_metadata = as_bool(args.get("include_all_metadata", False))
    result["messages"] = [
        shapes.message_json(ws, channel, m, with_metadata=with_metadata) for m in result["messages"]
    ]
    return result
