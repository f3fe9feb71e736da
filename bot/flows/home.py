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
from sqlmodel import Session

from bot.config import Settings
from bot.db import session_scope
from bot.exceptions import SlackStepError
from bot.flows.invitations import stale_blocks, stale_of
from bot.models import Introduction, IntroStatus, InviteState, utcnow
from bot.outages import log_failure
from bot.slack.client import call
from bot.store.connectors import failing
from bot.store.contacts import STALE_AFTER, stale_invitations
from bot.store.home import deals_of_ae, prospects_of
from bot.store.responses import clocks_since
from bot.store.stage_changes import wins_since
from bot.templating import phrase, render_internal

log = logging.getLogger(__name__)

WINDOW = timedelta(days=30)
MAX_BLOCKS = 100
MAX_STALE = 10  # stale invitations shown, each a section with its re-send button


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
    """The team's last 30 days; a lead counts an introduction done, not late, before the win."""
    since = now - WINDOW
    clocks = clocks_since(session, since=since)
    seconds = [c.response_seconds for c in clocks if c.response_seconds is not None]
    p50, p90 = percentile(seconds, 50), percentile(seconds, 90)
    rows = wins_since(session, won_stages=settings.won_stages, since=since)
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


def home_view(
    session: Session, *, user_id: str, settings: Settings, now: datetime | None = None
) -> dict[str, Any]:
    """The `home` view of one person; a failing CRM connector shows to CARE_ADMINS only
    (to nobody when CARE_ADMINS is empty)."""
    now = now or utcnow()
    deals = deals_of_ae(session, user_id=user_id)
    message = render_internal(
        "internal/home.j2",
        prospects=prospects_of(session, user_id=user_id, now=now),
        deals=deals,
        team=team_figures(session, settings=settings, now=now),
        promise=settings.response_minutes,
        today=now.date(),
        invite_words={s.value: phrase(f"invitations.count.{s.value}") for s in InviteState},
        connectors=failing(session) if user_id in settings.admins else [],
    )
    stale = stale_invitations(
        session, deal_ids=[deal.id for deal, _ in deals], sent_before=now - STALE_AFTER
    )  # the AE's invitations nobody accepted, each with its re-send button, first
    blocks = [*stale_blocks(stale_of(stale[:MAX_STALE], now=now)), *message.blocks]
    return {"type": "home", "blocks": blocks[:MAX_BLOCKS]}


class HomeRefresh:
    """The one Home publisher: at once (`publish`: someone opened the tab, a clock moved),
    or debounced (`mark`, then `flush`: a batch of introductions).

    Debounced, a person's Home is published at most once per `interval`: in a batch of
    200 introductions the same engineers, backups and AEs come back again and again, and
    publishing after each one spent a `views.publish` (and a Home built from the database)
    per person per introduction. Pending homes live in memory: one lost in a crash is
    rebuilt when its owner next opens the tab (`app_home_opened`). A failure is logged,
    never raised: a Home is not worth a retry.
    """

    def __init__(
        self, engine: Engine, client: WebClient, settings: Settings, *, interval: float = 10.0
    ) -> None:
        self.engine = engine
        self.client = client
        self.settings = settings
        self.interval = interval
        self._pending: dict[str, None] = {}
        self._last = 0.0
        self._lock = threading.Lock()

    def publish(self, user_id: str) -> bool:
        """Build and publish one Home now; False when Slack refused it (logged)."""
        try:
            with session_scope(self.engine) as session:
                view = home_view(session, user_id=user_id, settings=self.settings)
            call("home", self.client.views_publish, user_id=user_id, view=view)
        except SlackStepError as exc:
            log_failure(log, exc, "user=%s home not published: %s", user_id, exc)
            return False
        return True

    def publish_for_introduction(self, intro_id: int | None) -> None:
        """Everyone an introduction touches, at once: engineer, backup, AE."""
        with session_scope(self.engine) as session:
            intro = session.get(Introduction, intro_id)
        if intro is None:
            return
        people = (intro.engineer_user_id, intro.backup_user_id, intro.ae_user_id)
        for user_id in dict.fromkeys(p for p in people if p):
            self.publish(user_id)

    def mark(self, user_ids: Iterable[str | None]) -> None:
        """Publish these Homes at the next `flush` (an introduction changed them)."""
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
                self.publish(user_id)
            except Exception:
                log.exception("user=%s home not published", user_id)
        return len(users)


class ConnectorHomes:
    """A worker task: when a CRM connector starts or stops failing, the Homes of
    CARE_ADMINS are published again, so its warning appears, and goes once it recovers,
    without waiting for them to open the tab. The first run only learns the state."""

    def __init__(self, engine: Engine, homes: HomeRefresh, admins: Iterable[str]) -> None:
        self.engine = engine
        self.homes = homes
        self.admins = tuple(admins)
        self._seen: frozenset[tuple[str, str]] | None = None

    def __call__(self) -> int:
        if not self.admins:
            return 0  # nobody sees the warning: nothing to refresh
        with session_scope(self.engine) as session:
            now = frozenset((c.name, c.since.isoformat()) for c in failing(session))
        changed = self._seen is not None and now != self._seen
        self._seen = now
        if changed:
            self.homes.mark(self.admins)
        return int(changed)
