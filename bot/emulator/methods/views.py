"""views.*: modals (open, push, update) and App Home tabs (publish).

Like Slack, a `trigger_id` opens or pushes one view only; a second use answers
`exchanged_trigger_id`, which catches handlers that open two modals from one click.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

from bot.emulator.methods.registry import method
from bot.emulator.rules import SlackError, view_errors
from bot.emulator.state import Workspace

_hashes = itertools.count(1)


def _checked(view: Any, *, allowed_types: tuple[str, ...]) -> dict[str, Any]:
    errors = view_errors(view, allowed_types=allowed_types)
    if errors:
        raise SlackError("invalid_arguments", response_metadata={"messages": errors})
    return view


def _take_trigger(ws: Workspace, args: dict[str, Any]) -> str:
    trigger_id = str(args.get("trigger_id") or args.get("interactivity_pointer") or "")
    if not trigger_id:
        raise SlackError(
            "invalid_arguments",
            response_metadata={"messages": ["[ERROR] missing required field: trigger_id"]},
        )
    if trigger_id in ws.used_triggers:
        raise SlackError("exchanged_trigger_id")
    return trigger_id


def _check_external_id(ws: Workspace, view: dict[str, Any], view_id: str | None) -> None:
    external_id = view.get("external_id")
    if external_id and any(
        v.get("external_id") == external_id and v["id"] != view_id for v in ws.views.values()
    ):
        raise SlackError("duplicate_external_id")


def _stored(
    ws: Workspace, view: dict[str, Any], *, view_id: str | None = None, root: str | None = None
) -> dict[str, Any]:
    """The view object Slack returns: the payload plus ids, hash and an empty state."""
    view_id = view_id or ws.new_id("V")
    stored = {
        "callback_id": "",
        "private_metadata": "",
        "external_id": "",
        "clear_on_close": False,
        "notify_on_close": False,
        "blocks": [],
        **copy.deepcopy(view),
        "id": view_id,
        "team_id": ws.team_id,
        "app_id": ws.app_id,
        "bot_id": ws.bot_id,
        "app_installed_team_id": ws.team_id,
        "state": {"values": {}},
        "hash": f"1700000000.{next(_hashes):08d}",
        "root_view_id": root or view_id,
        "previous_view_id": None,
    }
    ws.views[view_id] = stored
    return stored


@method("views.open")
def views_open(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    trigger_id = _take_trigger(ws, args)
    view = _checked(args["view"], allowed_types=("modal",))
    _check_external_id(ws, view, None)
    ws.used_triggers.add(trigger_id)
    stored = _stored(ws, view)
    ws.views_opened.append(copy.deepcopy(stored))
    return {"view": stored}


@method("views.push")
def views_push(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    trigger_id = _take_trigger(ws, args)
    view = _checked(args["view"], allowed_types=("modal",))
    _check_external_id(ws, view, None)
    ws.used_triggers.add(trigger_id)
    stored = _stored(ws, view)
    ws.views_pushed.append(copy.deepcopy(stored))
    return {"view": stored}


@method("views.update")
def views_update(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    view_id, external_id = args.get("view_id"), args.get("external_id")
    if not view_id and not external_id:
        raise SlackError("invalid_arguments")
    current = ws.views.get(str(view_id)) if view_id else None
    if current is None and external_id:
        current = next((v for v in ws.views.values() if v["external_id"] == external_id), None)
    if current is None:
        raise SlackError("not_found")
    if args.get("hash") and args["hash"] != current["hash"]:
        raise SlackError("hash_conflict")
    view = _checked(args["view"], allowed_types=(current["type"],))
    _check_external_id(ws, view, current["id"])
    return {"view": _stored(ws, view, view_id=current["id"], root=current["root_view_id"])}


@method("views.publish")
def views_publish(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    user_id = str(args["user_id"])
    if user_id not in ws.users:
        raise SlackError("invalid_arguments")
    view = _checked(args["view"], allowed_types=("home",))
    current = ws.views_published.get(user_id)
    if current and args.get("hash") and args["hash"] != current["hash"]:
        raise SlackError("hash_conflict")
    stored = _stored(ws, view, view_id=current["id"] if current else None)
    ws.views_published[user_id] = stored
    return {"view": stored}
