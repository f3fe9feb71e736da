"""The App Home: each person's compass, and the team's figures for the last 30 days.

Percentiles are nearest-rank: the p-th percentile of n sorted values is the value at
rank ceil(p/100 × n) (1-based), so it is always one of the values; the median is p50.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from bot.config import Settings
from bot.db import session_scope
from bot.exceptions import SlackStepError
from bot.models import Contact, Deal, Introduction, IntroStatus, ResponseClock, StageChange, utcnow
from bot.slack.client import call
from bot.store.introductions import OPEN_STATUSES
from bot.templating import render_internal

log = logging.getLogger(__name__)

WINDOW = timedelta(days=30)
MAX_ROWS = 25
MAX_BLOCKS = 100


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (see the module docstring); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class TeamFigures:
    """The last 30 days: first-response times and won deals introduced before the close."""

    answered: int
    waiting: int
    p50_minutes: float | None
    p90_minutes: float | None
    won: int
    introduced_before: int
    lead_days_median: float | None

    @property
    def share_percent(self) -> int | None:
        return round(100 * self.introduced_before / self.won) if self.won else None


def team_figures(session: Session, *, settings: Settings, now: datetime) -> TeamFigures:
    since = now - WINDOW
    clocks = session.exec(select(ResponseClock).where(ResponseClock.started_at >= since)).all()
    seconds = [c.response_seconds for c in clocks if c.response_seconds is not None]
    p50, p90 = percentile(seconds, 50), percentile(seconds, 90)
    first_won = (
        select(StageChange.deal_id, func.min(StageChange.recorded_at).label("won_at"))
        .where(col(StageChange.to_stage).in_(sorted(settings.won_stages)))
        .group_by(col(StageChange.deal_id))
        .subquery()
    )
    rows = session.exec(
        select(first_won.c.won_at, Introduction)
        .join(Introduction, col(Introduction.deal_id) == first_won.c.deal_id, isouter=True)
        .where(first_won.c.won_at >= since)
    ).all()
    leads = [
        (won_at - intro.finished_at).days
        for won_at, intro in rows
        if intro is not None
        and intro.status == IntroStatus.DONE
        and not intro.late
        and intro.finished_at is not None
        and intro.finished_at < won_at
    ]
    return TeamFigures(
        answered=len(seconds),
        waiting=sum(1 for c in clocks if c.answered_at is None),
        p50_minutes=round(p50 / 60, 1) if p50 is not None else None,
        p90_minutes=round(p90 / 60, 1) if p90 is not None else None,
        won=len(rows),
        introduced_before=len(leads),
        lead_days_median=percentile(leads, 50),
    )


@dataclass(frozen=True)
class Prospect:
    """One line of an engineer's list."""

    deal: Deal
    intro: Introduction
    invites: dict[str, int]
    waiting: int
    oldest_minutes: int | None


def prospects_of(session: Session, *, user_id: str, now: datetime) -> list[Prospect]:
    """Three statements however many prospects: their invitations and waiting questions
    are counted per deal and per introduction, not read one prospect at a time."""
    rows = session.exec(
        select(Introduction, Deal)
        .join(Deal, col(Deal.id) == Introduction.deal_id)
        .where(Introduction.engineer_user_id == user_id)
        .where(col(Introduction.status).in_(OPEN_STATUSES))
        .order_by(col(Deal.close_date).is_(None), col(Deal.close_date), col(Deal.id))
        .limit(MAX_ROWS)
    ).all()
    if not rows:
        return []
    invites: dict[int, dict[str, int]] = {}
    for deal_id, state, count in session.exec(
        select(Contact.deal_id, Contact.invite_state, func.count())
        .where(col(Contact.deal_id).in_([deal.id for _, deal in rows]))
        .group_by(col(Contact.deal_id), col(Contact.invite_state))
    ):
        invites.setdefault(deal_id, {})[state] = count
    waiting = {
        intro_id: (count, oldest)
        for intro_id, count, oldest in session.exec(
            select(ResponseClock.introduction_id, func.count(), func.min(ResponseClock.started_at))
            .where(col(ResponseClock.introduction_id).in_([intro.id for intro, _ in rows]))
            .where(col(ResponseClock.answered_at).is_(None))
            .group_by(col(ResponseClock.introduction_id))
        )
    }
    found = []
    for intro, deal in rows:
        count, oldest = waiting.get(intro.id or 0, (0, None))
        minutes = int((now - oldest).total_seconds() // 60) if oldest else None
        found.append(Prospect(deal, intro, invites.get(deal.id or 0, {}), count, minutes))
    return found


def deals_of_ae(session: Session, *, user_id: str) -> list[tuple[Deal, Introduction | None]]:
    rows = session.exec(
        select(Deal, Introduction)
        .join(Introduction, col(Introduction.deal_id) == Deal.id, isouter=True)
        .where((Deal.registered_by == user_id) | (Introduction.ae_user_id == user_id))
        .order_by(col(Deal.updated_at).desc())
        .limit(MAX_ROWS)
    ).all()
    return list(rows)


def home_view(
    session: Session, *, user_id: str, settings: Settings, now: datetime | None = None
) -> dict[str, Any]:
    """The `home` view of one person."""
    now = now or utcnow()
    message = render_internal(
        "internal/home.j2",
        prospects=prospects_of(session, user_id=user_id, now=now),
        deals=deals_of_ae(session, user_id=user_id),
        team=team_figures(session, settings=settings, now=now),
        promise=settings.response_minutes,
        today=now.date(),
    )
    return {"type": "home", "blocks": message.blocks[:MAX_BLOCKS]}


@dataclass
class HomePublisher:
    """Publishes Home tabs; a failure is logged, never raised: a home is not worth a retry."""

    engine: Engine
    client: WebClient
    settings: Settings

    def publish(self, user_id: str) -> bool:
        try:
            with session_scope(self.engine) as session:
                view = home_view(session, user_id=user_id, settings=self.settings)
            call("home", self.client.views_publish, user_id=user_id, view=view)
        except SlackStepError as exc:
            log.warning("user=%s home not published: %s", user_id, exc)
            return False
        return True

    def publish_for_introduction(self, intro_id: int | None) -> None:
        """Everyone an introduction touches: engineer, backup, AE."""
        with session_scope(self.engine) as session:
            intro = session.get(Introduction, intro_id)
        if intro is None:
            return
        people = (intro.engineer_user_id, intro.backup_user_id, intro.ae_user_id)
        for user_id in dict.fromkeys(p for p in people if p):
            self.publish(user_id)


class HomeRefresh:
    """Homes waiting to be republished, at most once per person per `interval`.

    A finished introduction changes the Home of its engineer, backup and AE; in a batch
    of 200 introductions the same people come back again and again, so publishing after
    each one spent a `views.publish` (and a Home built from the database) per person per
    introduction. Pending homes live in memory: one lost in a crash is rebuilt when its
    owner next opens the tab (`app_home_opened`).
    """

    def __init__(self, publisher: HomePublisher, *, interval: float = 10.0) -> None:
        self.publisher = publisher
        self.interval = interval
        self._pending: dict[str, None] = {}
        self._last = 0.0
        self._lock = threading.Lock()

    def mark(self, user_ids: Iterable[str | None]) -> None:
        with self._lock:
            self._pending.update(dict.fromkeys(u for u in user_ids if u))

    def flush(self, *, force: bool = False) -> int:
        """Publish what is pending if `interval` has passed (or `force`); never raises."""
        with self._lock:
            now = time.monotonic()
            if not self._pending or (not force and now - self._last < self.interval):
                return 0
            users = list(self._pending)
            self._pending.clear()
            self._last = now
        for user_id in users:
            try:
                self.publisher.publish(user_id)
            except Exception:
                log.exception("user=%s home not published", user_id)
        return len(users)
