"""The response watch: a prospect's message starts a clock, our first reply stops it.

Who is on which side: a message from a user of another team (Slack Connect) or from a
listed prospect contact is the prospect's; a human of our team is ours. Bots, joins,
edits and deletions are neither and never start or stop a clock. A reply anywhere in
the channel (top level or any thread) counts as our answer: someone is there.

Clocks live in the database and message times come from Slack's `ts`, so a restart
loses none. Alerts are claimed with a conditional UPDATE before the DM is sent, so a
restart or a second worker never DMs anyone twice for the same clock.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import Engine, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.config import Settings
from bot.db import session_scope
from bot.exceptions import SlackStepError
from bot.flows.home import HomePublisher, percentile
from bot.models import Introduction, ResponseClock, utcnow
from bot.slack.client import call, find_posted, open_dm, try_call
from bot.store.contacts import contacts_of
from bot.store.rows import update_row
from bot.templating import render_internal
from bot.text import Mrkdwn

log = logging.getLogger(__name__)

PREVIEW = 300
# Subtypes a person writes; everything else (joins, edits, topic, bot_message…) is not a turn.
HUMAN_SUBTYPES = frozenset({"", "thread_broadcast", "file_share", "me_message"})
ALERT_KIND = "careintro_response_alert"


class Side(StrEnum):
    PROSPECT = "prospect"
    OURS = "ours"
    BOT = "bot"
    OTHER = "other"  # joins, edits, deletions, topic changes: never a turn


def ts_time(ts: str) -> datetime:
    """A Slack `ts` (`1700000000.000100`) as an aware UTC datetime."""
    return datetime.fromtimestamp(float(Decimal(ts)), UTC)


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


@dataclass(frozen=True)
class Questions:
    """What `status` and the reminders show of one introduction's questions."""

    waiting: int
    oldest_minutes: int | None
    answered: int
    median_minutes: int | None
    last_minutes: int | None


def questions_of(
    session: Session, *, intro_id: int | None, now: datetime | None = None
) -> Questions:
    """Waiting questions and response times of one introduction."""
    now = now or utcnow()
    clocks = session.exec(
        select(ResponseClock)
        .where(ResponseClock.introduction_id == intro_id)
        .order_by(col(ResponseClock.started_at))
    ).all()
    waiting = [c for c in clocks if c.answered_at is None]
    answered = [c.response_seconds or 0 for c in clocks if c.answered_at is not None]
    oldest = int((now - waiting[0].started_at).total_seconds() // 60) if waiting else None
    median = percentile(answered, 50)
    return Questions(
        waiting=len(waiting),
        oldest_minutes=max(oldest, 0) if oldest is not None else None,
        answered=len(answered),
        median_minutes=round(median / 60) if median is not None else None,
        last_minutes=round(answered[-1] / 60) if answered else None,
    )


@dataclass
class ResponseWatch:
    """Applies message events to clocks and sends the alerts that are due."""

    engine: Engine
    client: WebClient
    settings: Settings
    homes: HomePublisher
    _users: dict[str, dict[str, Any] | None] = field(default_factory=dict)

    # --- messages ---------------------------------------------------------------------

    def on_message(self, event: dict[str, Any], *, our_team: str) -> Side | None:
        """Start or stop a clock; returns the side, or None outside care channels."""
        channel, ts = event.get("channel") or "", event.get("ts") or ""
        if not channel or not _valid_ts(ts):
            return None
        with session_scope(self.engine) as session:
            intro = session.exec(
                select(Introduction).where(Introduction.channel_id == channel)
            ).first()
            if intro is None:
                return None
            emails = frozenset(c.email.lower() for c in contacts_of(session, deal_id=intro.deal_id))
        user_id = event.get("user") or ""
        needs_lookup = user_id and not event.get("bot_id") and (emails or not _team(event))
        user = self._user(user_id) if needs_lookup else None
        side = classify(event, our_team=our_team, user=user, contact_emails=emails)
        log.info("channel=%s ts=%s side=%s", channel, ts, side)
        changed = False
        if side == Side.PROSPECT:
            changed = self._prospect_spoke(intro, event)
        elif side == Side.OURS:
            changed = self._we_answered(channel, ts, user_id)
        if changed:
            self.homes.publish_for_introduction(intro.id)
        return side

    def _prospect_spoke(self, intro: Introduction, event: dict[str, Any]) -> bool:
        ts, text = event["ts"], " ".join(str(event.get("text") or "").split())[:PREVIEW]
        at = ts_time(ts)
        with session_scope(self.engine) as session:
            session.execute(
                update(Introduction)
                .where(col(Introduction.id) == intro.id)
                .where(
                    or_(
                        col(Introduction.last_prospect_message_at).is_(None),
                        col(Introduction.last_prospect_message_at) <= at,
                    )
                )
                .values(last_prospect_message_at=at, last_prospect_text=text)
            )
            open_clock = session.exec(
                select(ResponseClock.id).where(
                    ResponseClock.introduction_id == intro.id,
                    col(ResponseClock.answered_at).is_(None),
                )
            ).first()
            if open_clock is not None:
                return False
            try:
                with session.begin_nested():
                    session.add(
                        ResponseClock(
                            introduction_id=intro.id or 0,
                            channel_id=intro.channel_id or "",
                            message_ts=ts,
                            asker_user_id=event.get("user"),
                            text_preview=text,
                            started_at=at,
                        )
                    )
            except IntegrityError:
                return False  # this very message already started its clock
        log.info("intro_id=%s clock started ts=%s", intro.id, ts)
        return True

    def _we_answered(self, channel: str, ts: str, user_id: str) -> bool:
        """Stop every open clock of the channel that started before this reply."""
        at = ts_time(ts)
        stopped = 0
        with session_scope(self.engine) as session:
            clocks = session.exec(
                select(ResponseClock).where(
                    ResponseClock.channel_id == channel,
                    col(ResponseClock.answered_at).is_(None),
                )
            ).all()
            for clock in clocks:
                if Decimal(clock.message_ts) >= Decimal(ts):
                    continue
                seconds = int((at - clock.started_at).total_seconds())
                stopped += update_row(
                    session, ResponseClock, clock.id, where={"answered_at": None},
                    answered_at=at, answered_by=user_id, response_seconds=seconds,
                )  # fmt: skip
        if stopped:
            log.info("channel=%s %s clock(s) answered by %s", channel, stopped, user_id)
        return bool(stopped)

    def _user(self, user_id: str) -> dict[str, Any] | None:
        if user_id not in self._users:
            result = try_call(
                "watch",
                self.client.users_info,
                ok_errors=frozenset({"user_not_found", "user_not_visible"}),
                user=user_id,
            )
            self._users[user_id] = None if isinstance(result, str) else result["user"]
        return self._users[user_id]

    # --- alerts ------------------------------------------------------------------------

    def alert_due(self, now: datetime | None = None) -> int:
        """DM the engineer at the promise, the backup at twice it; each at most once."""
        now = now or utcnow()
        promise = timedelta(minutes=self.settings.response_minutes)
        sent = 0
        for level, column, after in (
            ("engineer", ResponseClock.engineer_alerted_at, promise),
            ("backup", ResponseClock.backup_alerted_at, 2 * promise),
        ):
            for clock_id in self._due(column, now - after):
                sent += self._alert(clock_id, level, column, now)
        return sent

    def _due(self, column: Any, started_before: datetime) -> Sequence[int | None]:
        with session_scope(self.engine) as session:
            return session.exec(
                select(ResponseClock.id)
                .where(col(ResponseClock.answered_at).is_(None))
                .where(col(column).is_(None))
                .where(col(ResponseClock.started_at) <= started_before)
                .order_by(col(ResponseClock.started_at))
                .limit(50)
            ).all()

    def _alert(self, clock_id: int | None, level: str, column: Any, now: datetime) -> int:
        """Claim, then DM; a failed DM gives the claim back so the next poll tries again."""
        with session_scope(self.engine) as session:
            claimed = update_row(
                session, ResponseClock, clock_id,
                where={column.key: None, "answered_at": None}, **{column.key: now},
            )  # fmt: skip
            if not claimed:
                return 0
            clock = session.get(ResponseClock, clock_id)
            intro = session.get(Introduction, clock.introduction_id) if clock else None
        assert clock is not None and intro is not None
        person = intro.engineer_user_id if level == "engineer" else intro.backup_user_id
        if not person:
            return 0
        try:
            self._send_alert(person, clock, intro, level, now)
        except SlackStepError as exc:
            log.warning("clock_id=%s %s alert failed, retrying later: %s", clock_id, level, exc)
            with session_scope(self.engine) as session:
                update_row(
                    session, ResponseClock, clock_id, where={column.key: now}, **{column.key: None}
                )
            return 0
        log.info("clock_id=%s %s alerted user=%s", clock_id, level, person)
        self.homes.publish_for_introduction(intro.id)
        return 1

    def _send_alert(
        self, person: str, clock: ResponseClock, intro: Introduction, level: str, now: datetime
    ) -> None:
        im = open_dm("alert", self.client, person)
        marker = {"clock_id": clock.id, "level": level}
        if self._already_sent(im, marker):
            return
        message = render_internal(
            "internal/response_alert.j2",
            level=level,
            clock=clock,
            intro=intro,
            minutes=int((now - clock.started_at).total_seconds() // 60),
            promise=self.settings.response_minutes,
            link=self._link(clock),
        )
        call(
            "alert",
            self.client.chat_postMessage,
            channel=im,
            text=message.text,
            blocks=message.blocks,
            unfurl_links=False,
            metadata={"event_type": ALERT_KIND, "event_payload": marker},
        )

    def _already_sent(self, im: str, marker: dict[str, Any]) -> bool:
        """After a dropped connection the DM may have gone out: look before sending again."""
        found = find_posted(
            self.client, "alert", channel=im, event_type=ALERT_KIND, payload=marker, limit=50
        )
        return found is not None

    def _link(self, clock: ResponseClock) -> Mrkdwn:
        found = try_call(
            "alert",
            self.client.chat_getPermalink,
            ok_errors=frozenset({"message_not_found", "channel_not_found", "not_in_channel"}),
            channel=clock.channel_id,
            message_ts=clock.message_ts,
        )
        if isinstance(found, str) or not found.get("permalink"):
            return Mrkdwn(f"<#{clock.channel_id}>")
        url = str(found["permalink"]).translate(str.maketrans("", "", "<>|"))
        return Mrkdwn(f"<{url}|the question>")


def _team(event: dict[str, Any]) -> str:
    return str(event.get("user_team") or event.get("team") or "")


def _valid_ts(ts: str) -> bool:
    try:
        Decimal(ts)
    except (InvalidOperation, ValueError):
        return False
    return bool(ts)
