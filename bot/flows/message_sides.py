"""Who wrote a care channel message: the prospect, us, a bot, or nobody (not a turn).

A message from a user of another team (Slack Connect) or from a listed prospect contact
is the prospect's; a human of our team is ours. Bots, joins, edits and deletions are
neither and never start or stop a response clock.
"""

from __future__ import annotations

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


def event_team(event: dict[str, Any]) -> str:
    """The writer's team as the event says it (users.info may say more)."""
    return str(event.get("user_team") or event.get("team") or "")


def classify(
    event: dict[str, Any],
    *,
    our_team: str,
    user: dict[str, Any] | None,
    contact_emails: frozenset[str],
) -> Side:
    """Which side wrote this message event; `user` is what users.info said, if anything."""
    if (event.get("subtype") or "") not in HUMAN_SUBTYPES:
        return Side.BOT if event.get("subtype") == "bot_message" else Side.OTHER
    if event.get("bot_id") or event.get("bot_profile") or not event.get("user"):
        return Side.BOT
    if user and user.get("is_bot"):
        return Side.BOT
    team = event.get("user_team") or event.get("team") or (user or {}).get("team_id")
    if team and team != our_team:
        return Side.PROSPECT
    email = ((user or {}).get("profile") or {}).get("email", "")
    if email and email.lower() in contact_emails:
        return Side.PROSPECT
    return Side.OURS if team else Side.OTHER
