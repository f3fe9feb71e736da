"""The response watch: a prospect's message starts a clock, our first reply stops it.

Who is on which side is `bot.flows.message_sides`. A reply anywhere in the channel
(top level or any thread) counts as our answer: someone is there. Clocks live in the
database (`bot.store.responses`) and message times come from Slack's `ts`, so a restart
loses none. The alerts a clock left waiting too long sends are `bot.flows.response_alerts`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlmodel import Session

from bot.db import session_scope
from bot.flows.home import HomeRefresh, percentile
from bot.flows.message_sides import (
    OurSide,
    Side,
    classify,
    installation,
    is_person_turn,
    ts_time,
    valid_ts,
)
from bot.models import Introduction, ResponseClock, utcnow
from bot.slack.client import call, try_call
from bot.store import responses
from bot.store.contacts import contacts_of
from bot.store.slack_events import introduction_in_channel

log = logging.getLogger(__name__)

PREVIEW = 300


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
    clocks = responses.clocks_of(session, intro_id=intro_id)
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
    """Applies message events to clocks; the Homes they change are published at once."""

    engine: Engine
    client: WebClient
    homes: HomeRefresh
    _users: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    _installed: OurSide | None = None  # auth.test's answer, asked once per process

    def on_message(self, event: dict[str, Any], *, body: dict[str, Any]) -> Side | None:
        """Start or stop a clock; returns the side, or None outside care channels.

        `body` is the whole event callback: its `authorizations` say which workspace is
        ours (SPEC "Response watch"); without them, `auth.test` does."""
        channel, ts = event.get("channel") or "", event.get("ts") or ""
        if not channel or not valid_ts(ts):
            return None
        with session_scope(self.engine) as session:
            intro = introduction_in_channel(session, channel_id=channel)
            if intro is None:
                return None
            contacts = contacts_of(session, deal_id=intro.deal_id)
            emails = frozenset(c.email.lower() for c in contacts if c.email)
        user_id = event.get("user") or ""
        user = self._user(user_id) if is_person_turn(event) else None
        ours = installation(body) or self.installed()
        side = classify(event, ours=ours, user=user, contact_emails=emails)
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
            responses.note_prospect_message(session, intro_id=intro.id, at=at, text=text)
            if responses.has_open_clock(session, intro_id=intro.id):
                return False
            clock = ResponseClock(
                introduction_id=intro.id or 0,
                channel_id=intro.channel_id or "",
                message_ts=ts,
                asker_user_id=event.get("user"),
                text_preview=text,
                started_at=at,
            )
            if not responses.start_clock(session, clock=clock):
                return False
        log.info("intro_id=%s clock started ts=%s", intro.id, ts)
        return True

    def _we_answered(self, channel: str, ts: str, user_id: str) -> bool:
        """Stop every open clock of the channel that started before this reply."""
        at = ts_time(ts)
        stopped = 0
        with session_scope(self.engine) as session:
            for clock in responses.open_clocks_in(session, channel_id=channel):
                if Decimal(clock.message_ts) >= Decimal(ts):
                    continue
                seconds = int((at - clock.started_at).total_seconds())
                stopped += responses.answer_clock(
                    session, clock_id=clock.id, at=at, by=user_id, seconds=seconds
                )
        if stopped:
            log.info("channel=%s %s clock(s) answered by %s", channel, stopped, user_id)
        return bool(stopped)

    def installed(self) -> OurSide:
        """The bot's own workspace by `auth.test`, for envelopes without `authorizations`."""
        if self._installed is None:
            auth = call("watch", self.client.auth_test)
            self._installed = OurSide(str(auth["team_id"]), str(auth.get("enterprise_id") or ""))
        return self._installed

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
