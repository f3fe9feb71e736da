"""What the other side of a Slack Connect invitation does, scripted by a test: accept
(with or without an admin's approval), approve, decline, or let it lapse. Each returns
the event payload Slack would send (`bot.emulator.methods.connect` shapes them)."""

from __future__ import annotations

from typing import Any

from bot.emulator.methods.connect import (
    accept_invite,
    approve_invite,
    decline_invite,
    lapse_invite,
)
from bot.emulator.state import Workspace


class ConnectScripting:
    """Mixed into `FakeSlack`, whose workspace it acts on under the workspace lock."""

    _ws: Workspace

    def accept_shared_invite(
        self,
        invite_id: str,
        user_id: str = "U_EXT1",
        team_id: str = "T_EXT",
        *,
        approval_required: bool = False,
    ) -> dict[str, Any]:
        """The external person accepts: they join the channel and the invite is done, or,
        with `approval_required`, it waits for `approve_shared_invite`.

        Returns the payload of the `shared_channel_invite_accepted` event Slack would
        send (`approval_required`, `channel`, `invite`, `accepting_user`, ...).
        """
        with self._ws.lock:
            return accept_invite(
                self._ws,
                invite_id,
                user_id=user_id,
                team_id=team_id,
                approval_required=approval_required,
            )

    def approve_shared_invite(
        self, invite_id: str, approver: str = "U_EXTADMIN", team_id: str = "T_EXT"
    ) -> dict[str, Any]:
        """An admin approves an accepted invitation; the `shared_channel_invite_approved`
        event's payload (`approving_team_id`, `approving_user`, ...)."""
        with self._ws.lock:
            return approve_invite(self._ws, invite_id, approver=approver, team_id=team_id)

    def decline_shared_invite(
        self, invite_id: str, decliner: str = "U_EXT1", team_id: str = "T_EXT"
    ) -> dict[str, Any]:
        """The invited person (or an admin) declines; the `shared_channel_invite_declined`
        event's payload (`declining_team_id`, `declining_user`, ...)."""
        with self._ws.lock:
            return decline_invite(self._ws, invite_id, decliner=decliner, team_id=team_id)

    def lapse_shared_invite(self, invite_id: str) -> None:
        """Nobody answered for 14 days: the invitation is past its `date_invalid` and no
        longer holds the channel (Slack sends no event for this)."""
        with self._ws.lock:
            lapse_invite(self._ws, invite_id)
