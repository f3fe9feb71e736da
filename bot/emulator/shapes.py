"""Slack's JSON shapes of the emulator's objects: what users.info, conversations.info
and conversations.history answer, field for field as Slack's docs show them."""

from __future__ import annotations

import time
from typing import Any

from bot.emulator.state import AVATAR_HOST, PERMALINK_HOST, Channel, User, Workspace, tz_now


def user_json(ws: Workspace, user: User) -> dict[str, Any]:
    """The `user` object of users.info / users.list."""
    profile: dict[str, Any] = {
        "title": user.title,
        "phone": "",
        "skype": "",
        "real_name": user.real_name,
        "real_name_normalized": user.real_name,
        "display_name": user.display_name,
        "display_name_normalized": user.display_name,
        "fields": {},
        "status_text": "",
        "status_emoji": "",
        "team": user.team_id,
    }
    if user.email:
        profile["email"] = user.email
    for size in (24, 32, 48, 72, 192, 512):
        profile[f"image_{size}"] = f"{AVATAR_HOST}/{user.id}_{size}.png"
    if user.bot_id:
        profile["bot_id"] = user.bot_id
    local = tz_now(user.tz)
    offset = local.utcoffset()
    return {
        "id": user.id,
        "team_id": user.team_id,
        "name": user.name,
        "deleted": user.deleted,
        "color": "9f69e7",
        "real_name": user.real_name,
        "tz": user.tz,
        "tz_label": local.tzname() or "UTC",
        "tz_offset": int(offset.total_seconds()) if offset else 0,
        "profile": profile,
        "is_admin": False,
        "is_owner": False,
        "is_primary_owner": False,
        "is_restricted": False,
        "is_ultra_restricted": False,
        "is_bot": user.is_bot,
        "is_app_user": False,
        "is_email_confirmed": bool(user.email),
        "updated": 1700000000,
        **_foreign_fields(ws, user),
    }


def _foreign_fields(ws: Workspace, user: User) -> dict[str, Any]:
    """What Slack adds for Grid and Slack Connect users: `enterprise_user` for a member of
    an org, and `is_stranger` for anyone of another organisation, true when no shared
    channel the bot is in holds them (Slack's user object docs)."""
    fields: dict[str, Any] = {}
    if user.enterprise_id:
        ours = user.enterprise_id == ws.enterprise_id
        fields["enterprise_user"] = {
            "id": user.id,
            "enterprise_id": user.enterprise_id,
            "enterprise_name": ws.enterprise_name if ours else f"{user.enterprise_id} Group",
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "teams": [user.team_id],
        }
    foreign = user.team_id != ws.team_id and not (
        ws.enterprise_id and user.enterprise_id == ws.enterprise_id
    )
    if foreign:
        fields["is_stranger"] = not any(
            user.id in c.members and ws.bot_user_id in c.members for c in ws.channels.values()
        )
    return fields


def channel_json(ws: Workspace, channel: Channel, *, num_members: bool = False) -> dict[str, Any]:
    """The `channel` object of conversations.create/info/list."""
    if channel.is_im:
        return {
            "id": channel.id,
            "created": channel.created,
            "is_im": True,
            "is_org_shared": False,
            "user": channel.im_user,
            "is_user_deleted": False,
            "priority": 0,
            "context_team_id": ws.team_id,
        }
    is_group = channel.is_private and not channel.is_mpim
    data: dict[str, Any] = {
        "id": channel.id,
        "name": channel.name,
        "name_normalized": channel.name,
        "is_channel": not channel.is_private,
        "is_group": is_group,
        "is_im": False,
        "is_mpim": channel.is_mpim,
        "is_private": channel.is_private,
        "created": channel.created,
        "creator": channel.creator,
        "is_archived": channel.is_archived,
        "is_general": False,
        "unlinked": 0,
        "is_shared": channel.is_ext_shared,
        "is_ext_shared": channel.is_ext_shared,
        "is_org_shared": False,
        "is_pending_ext_shared": any(
            i.channel == channel.id and i.holds_channel(time.time()) for i in ws.invites
        ),
        "pending_shared": [],
        "context_team_id": ws.team_id,
        "shared_team_ids": [ws.team_id, *_teams_in(ws, channel)],
        "is_member": ws.bot_user_id in channel.members,
        "topic": _text_meta(channel.topic, channel.topic_meta),
        "purpose": _text_meta(channel.purpose, channel.purpose_meta),
        "previous_names": [],
    }
    if num_members:
        data["num_members"] = len(channel.members)
    return data


def _teams_in(ws: Workspace, channel: Channel) -> list[str]:
    teams = {ws.users[m].team_id for m in channel.members if m in ws.users}
    return sorted(teams - {ws.team_id})


def _text_meta(value: str, meta: tuple[str, int]) -> dict[str, Any]:
    return {"value": value, "creator": meta[0], "last_set": meta[1]}


def message_json(
    ws: Workspace, channel: Channel, message: dict[str, Any], *, with_metadata: bool
) -> dict[str, Any]:
    """A message as history/replies return it: thread summary added, metadata optional."""
    data = {k: v for k, v in message.items() if v is not None and k != "metadata"}
    if not data.get("blocks"):
        data.pop("blocks", None)
    if with_metadata and message.get("metadata"):
        data["metadata"] = message["metadata"]
    replies = [
        m for m in channel.messages if m.get("thread_ts") == message["ts"] and m is not message
    ]
    if replies:
        data["thread_ts"] = message["ts"]
        data["reply_count"] = len(replies)
        data["reply_users"] = sorted({m["user"] for m in replies})
        data["reply_users_count"] = len(data["reply_users"])
        data["latest_reply"] = replies[-1]["ts"]
    if message["ts"] in channel.pins:
        data["pinned_to"] = [channel.id]
    return data


def permalink(channel: Channel, message: dict[str, Any]) -> str:
    link = f"{PERMALINK_HOST}/archives/{channel.id}/p{message['ts'].replace('.', '')}"
    thread_ts = message.get("thread_ts")
    if thread_ts and thread_ts != message["ts"]:
        link += f"?thread_ts={thread_ts}&cid={channel.id}"
    return link
