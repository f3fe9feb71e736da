"""Who wrote a care channel message: the prospect, us, a bot, or nobody (not a turn).

Our side is the workspace the bot is installed in (and, on Enterprise Grid, its org):
the event's `authorizations`, else `auth.test`, never the envelope's `team_id`, which in
a Slack Connect channel names whichever organisation the writer belongs to. Anyone else
who is a person is the prospect's side, listed contact or not, email visible or not. A
listed contact who sits in our own workspace (a guest) is the prospect's side too. Bots,
joins, edits and deletions are neither and never start or stop a response clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

# Subtypes a person writes; everything else (joins, edits, topic, bot_message…) is not a turn.
HUMAN_SUBTYPES = frozenset({"", "thread_broadcast", "file_share", "me_message"})


class Side(StrEnum):
    PROSPECT = "prospect"
    OURS = "ours"
    BOT = "bot"
    OTHER = "other"  # joins, edits, deletions, topic changes: never a turn


@dataclass(frozen=True)
class OurSide:
    """The installed workspace; `enterprise_id` when it is part of an Enterprise Grid org,
    whose other workspaces' people are ours too."""

    team_id: str
    enterprise_id: str = ""

    def owns(self, team: str) -> bool:
        """`team` may be a workspace (T…) or, in some Grid events, the org (E…)."""
        return bool(team) and team in (self.team_id, self.enterprise_id)


def installation(body: dict[str, Any]) -> OurSide | None:
    """The installation an event was delivered to, as Bolt reads it (the bot's own
    authorization first, else the first one); None when the envelope has none."""
    authorizations = [a for a in body.get("authorizations") or [] if a.get("team_id")]
    bots = [a for a in authorizations if a.get("is_bot")]
    for auth in bots[:1] or authorizations[:1]:
        return OurSide(str(auth["team_id"]), str(auth.get("enterprise_id") or ""))
    return None


def ts_time(ts: str) -> datetime:
    """A Slack `ts` (`1700000000.000100`) as an aware UTC datetime."""
    return datetime.fromtimestamp(float(Decimal(ts)), UTC)


def valid_ts(ts: str) -> bool:
    """A `ts` we can order and date; events without one are not messages we watch."""
    try:
        Decimal(ts)
    except (InvalidOperation, ValueError):
        return False
    return bool(ts)


def is_person_turn(event: dict[str, Any]) -> bool:
    """A message a person wrote (not a bot, a join, an edit): worth asking users.info about."""
    if (event.get("subtype") or "") not in HUMAN_SUBTYPES:
        return False
    return bool(event.get("user")) and not (event.get("bot_id") or event.get("bot_profile"))


def writer_team(event: dict[str, Any], user: dict[str, Any] | None) -> str:
    """The writer's own team: users.info's, else the event's `user_team`, the profile's or
    `source_team`. The event's `team` comes last: Slack sometimes puts the installed team
    there for an outside writer (bolt-python's Slack Connect fixtures)."""
    profile = event.get("user_profile") or {}
    for team in (
        (user or {}).get("team_id"),
        event.get("user_team"),
        profile.get("team"),
        event.get("source_team"),
        event.get("team"),
    ):
        if team:
            return str(team)
    return ""


def classify(
    event: dict[str, Any],
    *,
    ours: OurSide,
    user: dict[str, Any] | None,
    contact_emails: frozenset[str],
) -> Side:
    """Which side wrote this message event; `user` is what users.info said, if anything."""
    if (event.get("subtype") or "") not in HUMAN_SUBTYPES:
        return Side.BOT if event.get("subtype") == "bot_message" else Side.OTHER
    if not is_person_turn(event):
        return Side.BOT  # a bot_id, a bot_profile, or no user at all
    user = user or {}
    if user.get("is_bot"):
        return Side.BOT
    email = str((user.get("profile") or {}).get("email") or "").lower()
    if email and email in contact_emails:
        return Side.PROSPECT
    org = str((user.get("enterprise_user") or {}).get("enterprise_id") or "")
    if ours.enterprise_id and org == ours.enterprise_id:
        return Side.OURS  # another workspace of our own Grid org
    team = writer_team(event, user)
    if user.get("is_stranger") or (team and not ours.owns(team)):
        return Side.PROSPECT
    return Side.OURS if team else Side.OTHER
