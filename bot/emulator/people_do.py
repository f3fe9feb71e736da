"""What people do in Slack that the bot hears of by the Events API: post in a channel,
open the app's Home tab. Each returns the `event_callback` envelope Slack would send the
app (the caller signs and posts it). `PeopleDo` is FakeSlack's side of it, with Slack's
clock (`set_clock`) and an Enterprise Grid org (`set_enterprise`).

Shapes from Slack's Events API docs and bolt-python's Slack Connect fixtures: in a
shared channel the envelope's `team_id` is the writer's organisation and the installed
workspace is only in `authorizations` (and `context_team_id`).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from bot.emulator.state import Workspace


def post_message(ws: Workspace, user_id: str, channel_id: str, text: str) -> dict[str, Any]:
    """`user_id` (of any team) posts in a channel they are in; returns the message event."""
    user, channel = ws.users.get(user_id), ws.channels.get(channel_id)
    if user is None or channel is None or user_id not in channel.members:
        raise ValueError(f"{user_id} cannot post in {channel_id}: not a member")
    ts = ws.new_ts()
    channel.messages.append(
        {"type": "message", "ts": ts, "user": user_id, "team": user.team_id, "text": text}
    )
    return {
        "client_msg_id": str(uuid.uuid4()),
        "type": "message",
        "text": text,
        "user": user_id,
        "ts": ts,
        "team": user.team_id,
        "user_team": user.team_id,
        "source_team": user.team_id,
        "channel": channel_id,
        "event_ts": ts,
        "channel_type": "group" if channel.is_private else "channel",
    }


def home_opened(ws: Workspace, user_id: str) -> dict[str, Any]:
    """The person opens the app's Home tab."""
    im = ws.im_with(user_id, create=True)
    return {
        "type": "app_home_opened",
        "user": user_id,
        "channel": im.id if im else "",
        "tab": "home",
        "event_ts": f"{time.time():.6f}",
    }


def event_callback(ws: Workspace, event: dict[str, Any]) -> dict[str, Any]:
    """The envelope: a message's writer's team as `team_id` (in a shared channel that is
    the other organisation), ours in `authorizations` and `context_team_id`."""
    channel = ws.channels.get(str(event.get("channel") or ""))
    shared = bool(channel and channel.is_ext_shared)
    team = str(event.get("user_team") or ws.team_id)
    body: dict[str, Any] = {
        "token": "legacy-verification-token-unused",
        "team_id": team,
        "api_app_id": ws.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": ws.new_id("Ev"),
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": ws.enterprise_id or None,
                "team_id": ws.team_id,
                "user_id": ws.bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": shared,
    }
    if team != ws.team_id:
        body |= {"context_team_id": ws.team_id, "context_enterprise_id": ws.enterprise_id or None}
    return body


class PeopleDo:
    """FakeSlack's side of it: what a test or the sandbox makes people do."""

    _ws: Workspace

    def post_as(self, user_id: str, channel_id: str, text: str) -> dict[str, Any]:
        """A person (of any team) posts; returns the callback Slack sends (`people_do`)."""
        with self._ws.lock:
            return event_callback(self._ws, post_message(self._ws, user_id, channel_id, text))

    def open_home(self, user_id: str) -> dict[str, Any]:
        """A person opens the app's Home tab; returns the `app_home_opened` callback."""
        with self._ws.lock:
            return event_callback(self._ws, home_opened(self._ws, user_id))

    def event_callback(self, event: dict[str, Any]) -> dict[str, Any]:
        """Any event (an acceptance, …) in Slack's envelope."""
        with self._ws.lock:
            return event_callback(self._ws, event)

    def set_clock(self, offset_seconds: float) -> None:
        """Message `ts` run `offset_seconds` off the real clock (never backwards: set a clock
        behind before anything is posted)."""
        with self._ws.lock:
            self._ws.clock_offset_us = int(offset_seconds * 1_000_000)

    def set_enterprise(self, enterprise_id: str, name: str = "Ours Group") -> None:
        """Our workspace joins an Enterprise Grid org (auth.test, users.info say so)."""
        with self._ws.lock:
            self._ws.enterprise_id, self._ws.enterprise_name = enterprise_id, name
            for user in self._ws.users.values():
                if user.team_id == self._ws.team_id:
                    user.enterprise_id = enterprise_id
