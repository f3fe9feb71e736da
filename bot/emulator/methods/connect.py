"""Slack Connect: conversations.inviteShared and conversations.listConnectInvites, and what
the other side does (accept, with or without an admin's approval, decline), each returning
the event Slack would send, shaped as Slack's Events API docs show it."""

from __future__ import annotations

import time
from typing import Any

from bot.emulator.methods.common import channel_arg
from bot.emulator.methods.registry import method
from bot.emulator.rules import SlackError, as_bool, as_list, is_valid_email
from bot.emulator.state import INVITE_VALID_SECONDS, PERMALINK_HOST, SharedInvite, Workspace


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
    now = time.time()
    if any(i.channel == channel.id and i.holds_channel(now) for i in ws.invites):
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
        if not invite.holds_channel(time.time()):  # answered, approved, declined or lapsed
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
                "acceptances": _acceptances(ws, invite),
                "review": None,
            }
        )
    return {"invites": entries, "response_metadata": {"next_cursor": ""}}


def _acceptances(ws: Workspace, invite: SharedInvite) -> list[dict[str, Any]]:
    if invite.status != "awaiting_approval" or invite.accepted_by is None:
        return []
    return [
        {
            "approval_status": "pending_approval",
            "date_accepted": invite.date_created,
            "accepting_team": {"id": invite.accepted_team, "name": _team_name(ws, invite)},
            "accepting_user": _user_json(ws, invite.accepted_by),
            "reviews": [],
        }
    ]


def _team_name(ws: Workspace, invite: SharedInvite) -> str:
    return ws.external_teams.get(invite.accepted_team or "", f"{invite.accepted_team} Inc")


def _user_json(ws: Workspace, user_id: str) -> dict[str, Any]:
    user = ws.users[user_id]
    return {"id": user.id, "team_id": user.team_id, "name": user.name, "updated": int(time.time())}


def _event(ws: Workspace, kind: str, invite: SharedInvite, **fields: Any) -> dict[str, Any]:
    """The fields every shared_channel_invite_* event has, around the kind's own."""
    channel = ws.channels[invite.channel]
    teams = [{"id": ws.team_id, "name": ws.team_name}]
    if invite.accepted_team and invite.status == "accepted":
        teams.append({"id": invite.accepted_team, "name": _team_name(ws, invite)})
    return {
        "type": kind,
        **fields,
        "invite": invite_json(ws, invite),
        "channel": {
            "id": channel.id,
            "is_private": channel.is_private,
            "is_im": False,
            "name": channel.name,
        },
        "teams_in_channel": teams,
        "event_ts": ws.new_ts(),
    }


def _invite(ws: Workspace, invite_id: str, *states: str) -> SharedInvite:
    invite = next((i for i in ws.invites if i.invite_id == invite_id), None)
    if invite is None:
        raise KeyError(f"no shared invite {invite_id!r}")
    if invite.status not in states or invite.lapsed(time.time()):
        lapsed = " (lapsed)" if invite.lapsed(time.time()) else ""
        raise ValueError(f"invite {invite_id} is {invite.status}{lapsed}")
    return invite


def _join(ws: Workspace, invite: SharedInvite) -> None:
    invite.status = "accepted"
    channel = ws.channels[invite.channel]
    channel.members.add(invite.accepted_by or "")
    channel.is_ext_shared = True


def accept_invite(
    ws: Workspace, invite_id: str, *, user_id: str, team_id: str, approval_required: bool
) -> dict[str, Any]:
    """The external person accepts (caller holds the lock): they join the channel, or,
    when an admin must approve, the invitation waits for `approve_invite`; returns the
    `shared_channel_invite_accepted` event."""
    invite = _invite(ws, invite_id, "pending")
    user = ws.users.get(user_id)
    if user is None:
        local = (invite.email or user_id).split("@")[0]
        user = ws.add_user(user_id, name=local, email=invite.email, team_id=team_id)
    ws.external_teams.setdefault(team_id, f"{team_id} Inc")
    invite.accepted_by, invite.accepted_team = user_id, team_id
    invite.status = "awaiting_approval"
    if not approval_required:
        _join(ws, invite)
    return _event(
        ws,
        "shared_channel_invite_accepted",
        invite,
        approval_required=approval_required,
        accepting_user=_user_json(ws, user_id),
    )


def approve_invite(ws: Workspace, invite_id: str, *, approver: str, team_id: str) -> dict[str, Any]:
    """An admin approves an accepted invitation: the person joins; the approved event."""
    invite = _invite(ws, invite_id, "awaiting_approval")
    _join(ws, invite)
    return _event(
        ws,
        "shared_channel_invite_approved",
        invite,
        approving_team_id=team_id,
        approving_user=_approver(ws, approver, team_id),
    )


def decline_invite(ws: Workspace, invite_id: str, *, decliner: str, team_id: str) -> dict[str, Any]:
    """The person (or an admin, before approving) declines; the declined event."""
    invite = _invite(ws, invite_id, "pending", "awaiting_approval")
    invite.status = "declined"
    return _event(
        ws,
        "shared_channel_invite_declined",
        invite,
        declining_team_id=team_id,
        declining_user=_approver(ws, decliner, team_id),
    )


def lapse_invite(ws: Workspace, invite_id: str) -> None:
    """Fourteen days pass unanswered: Slack's `date_invalid` is behind us (no event)."""
    invite = _invite(ws, invite_id, "pending")
    invite.date_created = int(time.time()) - INVITE_VALID_SECONDS - 1


def _approver(ws: Workspace, user_id: str, team_id: str) -> dict[str, Any]:
    if user_id not in ws.users:
        ws.add_user(user_id, name=user_id.lower(), email=None, team_id=team_id)
    return _user_json(ws, user_id)
