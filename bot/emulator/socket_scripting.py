"""What Slack sends an app in Socket Mode, as test helpers on `FakeSlack`.

Payloads are shaped like Slack's own (the Socket Mode docs, and slack-sdk's and
bolt-python's socket-mode test fixtures): a slash command's form fields, an Events
API `event_callback`, an interaction's `payload`. Each helper sends one envelope over
the app's WebSocket and returns the `SocketAck`: whether the app acked in time, and
with what payload.
"""

from __future__ import annotations

import copy
import itertools
import time
import uuid
from typing import Any

from bot.emulator.socket_mode import EVENT_RETRIES, SocketAck, SocketModeServer
from bot.emulator.state import Workspace

_event_ids = itertools.count(1)


class SocketScripting:
    """Mixed into `FakeSlack`; `_socket` is made in its `__init__`."""

    _ws: Workspace
    _socket: SocketModeServer

    @property
    def socket_connected(self) -> int:
        """Socket Mode connections open right now."""
        return self._socket.connected

    @property
    def socket_connections_opened(self) -> int:
        """Socket Mode connections made since the fake started (reconnects included)."""
        return self._socket.connections_opened

    def wait_for_socket(self, opened: int = 1, timeout: float = 30) -> None:
        """Until the app has connected `opened` times and a connection takes envelopes."""
        self._socket.wait_connected(opened, timeout=timeout)

    def socket_disconnect(self, reason: str = "refresh_requested", grace: float = 10.0) -> int:
        """Slack's `disconnect` (`refresh_requested`, `warning`, `link_disabled`) on every
        open connection, which Slack then closes after `grace` seconds."""
        return self._socket.disconnect(reason, grace=grace)

    def _trigger_id(self) -> str:
        return f"{time.time_ns() // 1000}.{uuid.uuid4().int % 10**10}.{uuid.uuid4().hex}"

    def socket_command(
        self,
        command: str,
        text: str = "",
        *,
        user_id: str,
        channel_id: str = "C_GENERAL",
        channel_name: str = "general",
    ) -> SocketAck:
        """A person runs `command text`; Slack waits 3 s for the ack (its payload is
        what the person sees), and does not send a command again."""
        ws = self._ws
        with ws.lock:
            user = ws.users.get(user_id)
            payload = {
                "token": "verification-token-unused-in-socket-mode",
                "team_id": ws.team_id,
                "team_domain": ws.domain,
                "channel_id": channel_id,
                "channel_name": channel_name,
                "user_id": user_id,
                "user_name": user.name if user else user_id.lower(),
                "command": command,
                "text": text,
                "api_app_id": ws.app_id,
                "is_enterprise_install": "false",
                "response_url": f"https://hooks.slack.example/commands/{ws.team_id}/1/x",
                "trigger_id": self._trigger_id(),
            }
        return self._socket.deliver("slash_commands", payload, accepts_response_payload=True)

    def socket_event(
        self, event: dict[str, Any], *, retries: tuple[float, ...] = EVENT_RETRIES
    ) -> SocketAck:
        """An Events API callback wrapping `event`; unacked, it is sent again after each
        of `retries` (seconds on the fake's clock; Slack's own schedule by default)."""
        ws = self._ws
        now = time.time()
        with ws.lock:
            event = {"event_ts": f"{now:.6f}", **copy.deepcopy(event)}
            body = {
                "token": "verification-token-unused-in-socket-mode",
                "team_id": ws.team_id,
                "api_app_id": ws.app_id,
                "event": event,
                "type": "event_callback",
                "event_id": f"Ev{int(now)}{next(_event_ids):06d}",
                "event_time": int(now),
                "authorizations": [
                    {
                        "enterprise_id": None,
                        "team_id": ws.team_id,
                        "user_id": ws.bot_user_id,
                        "is_bot": True,
                        "is_enterprise_install": False,
                    }
                ],
                "is_ext_shared_channel": False,
                "event_context": f"4-{event.get('type', '')}-{ws.team_id}-{uuid.uuid4().hex[:8]}",
            }
        return self._socket.deliver(
            "events_api", body, accepts_response_payload=False, retries=retries
        )

    def socket_interaction(self, payload: dict[str, Any]) -> SocketAck:
        """An interactive payload as given; a view submission may be answered in the ack."""
        accepts = payload.get("type") in ("view_submission", "block_suggestion")
        return self._socket.deliver("interactive", payload, accepts_response_payload=accepts)

    def socket_submit_view(
        self, view_id: str, values: dict[str, dict[str, dict[str, Any]]], *, user_id: str
    ) -> SocketAck:
        """The person submits the modal the app opened (`view_id`, as views.open
        answered) with `values`: Slack's `state.values`, block id -> action id -> state."""
        ws = self._ws
        with ws.lock:
            if view_id not in ws.views:
                raise KeyError(f"no view {view_id!r} was opened")
            view = copy.deepcopy(ws.views[view_id])
            user = ws.users.get(user_id)
            name = user.name if user else user_id.lower()
            view["state"] = {"values": copy.deepcopy(values)}
            payload = {
                "type": "view_submission",
                "team": {"id": ws.team_id, "domain": ws.domain},
                "user": {"id": user_id, "username": name, "name": name, "team_id": ws.team_id},
                "api_app_id": ws.app_id,
                "token": "verification-token-unused-in-socket-mode",
                "trigger_id": self._trigger_id(),
                "view": view,
                "response_urls": [],
                "is_enterprise_install": False,
                "enterprise": None,
            }
        return self.socket_interaction(payload)
