"""Slack Connect: conversations.inviteShared and conversations.listConnectInvites."""

from __future__ import annotations

import time
from typing import Any

from bot.emulator.methods.common import channel_arg
from bot.emulator.methods.registry import method
from bot.emulator.rules import SlackError, as_bool, as_list, is_valid_email
from bot.emulator.state import PERMALINK_HOST, SharedInvite, Workspace

INVITE_VALID_SECONDS = 14 * 24 * 3600


def _recipient(args: dict[str, Any]) -> tuple[str | None, str | None]:
    """`(email, user_id)`: Slack takes exactly one recipient per call."""
    emails = as_list(args.get("emails"))
    user_ids = as_list(args.get("user_ids"))
    if not emails and not user_ids:
        raise SlackError("recipients_not_specified")
    if len(emails) > 1:
        raise SlackError("too_many_emails")
    if len(user_ids) > 1 or (emails and user_ids):
        raise SlackError("invalid_arguments")
    if emails and not is_valid_email(emails[0]):
        raise SlackError("invalid_email")
    return (emails[0] if emails else None), (user_ids[0] if user_ids else None)


@method("conversations.inviteShared")
def conversations_invite_shared(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = channel_arg(ws, args, member=False)
    if channel.is_im or channel.is_mpim:
        raise SlackError("invalid_channel_type")
    if channel.is_archived:
        raise SlackError("channel_archived")
    if ws.bot_user_id not in channel.members:
        raise SlackError("not_in_channel")
    if not ws.slack_connect:
        raise SlackError(ws.slack_connect_error)
    email, user_id = _recipient(args)
    invited = ws.user_by_email(email) if email else ws.users.get(user_id or "")
    if invited is not None and invited.id in channel.members:
        raise SlackError("already_in_channel")
    if any(i.channel == channel.id and i.status == "pending" for i in ws.invites):
        raise SlackError("connection_limit_exceeded_pending")
    invite = SharedInvite(
        invite_id=ws.new_id("I"),
        channel=channel.id,
        email=email,
        user_id=user_id,
        status="pending",
        date_created=int(time.time()),
        external_limited=as_bool(args.get("external_limited", True)),
    )
    ws.invites.append(invite)
    return {"invite_id": invite.invite_id, "is_legacy_shared_channel": False}


def invite_json(ws: Workspace, invite: SharedInvite) -> dict[str, Any]:
    """One entry of listConnectInvites, also the `invite` of the accepted event."""
    bot = ws.users[ws.bot_user_id]
    return {
        "id": invite.invite_id,
        "date_created": invite.date_created,
        "date_invalid": invite.date_created + INVITE_VALID_SECONDS,
        "inviting_team": {"id": ws.team_id, "name": ws.team_name, "domain": ws.domain},
        "inviting_user": {"id": bot.id, "team_id": ws.team_id, "name": bot.name},
        "recipient_email": invite.email,
        "recipient_user_id": invite.user_id,
        "link": f"{PERMALINK_HOST}/shared-invite/{invite.invite_id}",
    }


@method("conversations.listConnectInvites")
def conversations_list_connect_invites(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    entries = []
    for invite in ws.invites:
        if invite.status != "pending":
            continue
        channel = ws.channels[invite.channel]
        entries.append(
            {
                "direction": "outgoing",
                "status": "pending",
                "date_last_updated": invite.date_created,
                "invite_type": "channel",
                "channel": {
                    "id": channel.id,
                    "name": channel.name,
                    "is_private": channel.is_private,
                    "is_im": False,
                },
                "invite": invite_json(ws, invite),
                "acceptances": [],
                "review": None,
            }
        )
    return {"invites": entries, "response_metadata": {"next_cursor": ""}}


def accept_invite(ws: Workspace, invite_id: str, *, user_id: str, team_id: str) -> dict[str, Any]:
    """The external person accepts (caller holds the lock): they join the channel, the
    invite is done, and the `shared_channel_invite_accepted` event is returned."""
    invite = next((i for i in ws.invites if i.invite_id == invite_id), None)
    if invite is None:
        raise KeyError(f"no shared invite {invite_id!r}")
    if invite.status != "pending":
        raise ValueError(f"invite {invite_id} is already {invite.status}")
    user = ws.users.get(user_id)
    if user is None:
        local = (invite.email or user_id).split("@")[0]
        user = ws.add_user(user_id, name=local, email=invite.email, team_id=team_id)
    ws.external_teams.setdefault(team_id, f"{team_id} Inc")
    invite.status, invite.accepted_by, invite.accepted_team = "accepted", user_id, team_id
    channel = ws.channels[invite.channel]
    channel.members.add(user_id)
    channel.is_ext_shared = True
    return {
        "type": "shared_channel_invite_accepted",
        "approval_required": False,
        "invite": invite_json(ws, invite),
        "channel": {
            "id": channel.id,
            "is_private": channel.is_private,
            "is_im": False,
            "name": channel.name,
        },
        "teams_in_channel": [
            {"id": ws.team_id, "name": ws.team_name},
            {"id": team_id, "name": ws.external_teams[team_id]},
        ],
        "accepting_user": {
            "id": user_id,
            "team_id": user.team_id,
            "name": user.name,
            "updated": int(time.time()),
        },
        "event_ts": ws.new_ts(),
    }
