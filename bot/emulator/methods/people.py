"""Who is who: api.test, auth.test, team.info, users.*, bots.info and usergroups.users.list."""

from __future__ import annotations

from typing import Any

from bot.emulator import shapes
from bot.emulator.methods.common import paginate
from bot.emulator.methods.registry import method
from bot.emulator.rules import SlackError, as_bool
from bot.emulator.state import PERMALINK_HOST, Workspace


@method("api.test")
def api_test(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """Slack's "is the Web API up" call: no token needed, the arguments echoed, and an
    `error` argument answered as that error."""
    if args.get("error"):
        raise SlackError(str(args["error"]), args=dict(args))
    return {"args": dict(args)} if args else {}


@method("auth.test")
def auth_test(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "url": f"{PERMALINK_HOST}/",
        "team": ws.team_name,
        "user": ws.users[ws.bot_user_id].name,
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "is_enterprise_install": False,
        **({"enterprise_id": ws.enterprise_id} if ws.enterprise_id else {}),
    }


@method("team.info")
def team_info(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    team_id = str(args.get("team") or ws.team_id)
    if team_id == ws.team_id:
        name = ws.team_name
    elif team_id in ws.external_teams:
        name = ws.external_teams[team_id]
    else:
        raise SlackError("team_not_found")
    domain = ws.domain if team_id == ws.team_id else team_id.lower()
    return {
        "team": {
            "id": team_id,
            "name": name,
            "domain": domain,
            "email_domain": f"{domain}.example",
            "icon": {"image_68": f"{PERMALINK_HOST}/team/{team_id}_68.png", "image_default": True},
        }
    }


@method("users.info")
def users_info(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    user = ws.users.get(str(args["user"]))
    if user is None:
        raise SlackError("user_not_found")
    data = shapes.user_json(ws, user)
    if as_bool(args.get("include_locale", False)):
        data["locale"] = "en-US"
    return {"user": data}


@method("users.lookupByEmail")
def users_lookup_by_email(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    user = ws.user_by_email(str(args["email"]))
    if user is None:
        raise SlackError("users_not_found")
    return {"user": shapes.user_json(ws, user)}


@method("users.profile.get")
def users_profile_get(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    user = ws.users.get(str(args.get("user") or ws.bot_user_id))
    if user is None:
        raise SlackError("user_not_found")
    return {"profile": shapes.user_json(ws, user)["profile"]}


@method("users.list")
def users_list(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    # External Slack Connect users are not members of this workspace's directory.
    members = [u for u in ws.users.values() if u.team_id == ws.team_id]
    page, next_cursor = paginate(members, args, default=1000)
    return {
        "members": [shapes.user_json(ws, u) for u in page],
        "cache_ts": 1700000000,
        "response_metadata": {"next_cursor": next_cursor},
    }


@method("bots.info")
def bots_info(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    if args.get("bot") and args["bot"] != ws.bot_id:
        raise SlackError("bot_not_found")
    bot_user = ws.users[ws.bot_user_id]
    return {
        "bot": {
            "id": ws.bot_id,
            "deleted": False,
            "name": bot_user.name,
            "updated": 1700000000,
            "app_id": ws.app_id,
            "user_id": bot_user.id,
            "icons": {"image_72": shapes.user_json(ws, bot_user)["profile"]["image_72"]},
        }
    }


@method("usergroups.users.list")
def usergroups_users_list(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    users = ws.usergroups.get(str(args["usergroup"]))
    if users is None:
        raise SlackError("no_such_subteam")
    include_disabled = as_bool(args.get("include_disabled", False))
    return {
        "users": [
            u for u in users if include_disabled or not (u in ws.users and ws.users[u].deleted)
        ]
    }
