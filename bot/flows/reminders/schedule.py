"""When a reminder is due: zones, ISO weeks, each person's slot, and who is due now."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk import WebClient
from sqlmodel import Session

from bot.config import WEEKDAYS, Settings
from bot.exceptions import SlackStepError
from bot.models import ReminderSent
from bot.slack.client import call
from bot.store.people import reminder_settings
from bot.store.reminders import claims_of, free_claims, reporting_since

log = logging.getLogger(__name__)

TZ_MAX_AGE = timedelta(days=1)
# Slack errors about the person, not about us: their week is settled without a DM.
PERSON_ERRORS = frozenset(
    {"user_not_found", "user_not_visible", "user_disabled", "cannot_dm_bot", "account_inactive"}
)
# Every UTC offset in use, in quarter hours (UTC-12 to UTC+14).
OFFSETS = tuple(timedelta(minutes=15 * q) for q in range(-48, 57))


def zone(name: str | None) -> ZoneInfo:
    """A person's zone; an unknown or missing one counts as UTC."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            log.warning("unknown timezone %r, using UTC", name)
    return ZoneInfo("UTC")


def week_of(day: date) -> str:
    """The ISO week key of `ReminderSent.week`, e.g. 2026-W48."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def slot_of(day: date, settings: Settings, tz: ZoneInfo) -> datetime:
    """The reminder slot (UTC) of the ISO week holding `day`, in zone `tz`."""
    slot = datetime.combine(_slot_day(day, settings), settings.reminder_time, tzinfo=tz)
    return slot.astimezone(UTC)


def _slot_day(day: date, settings: Settings) -> date:
    monday = day - timedelta(days=day.weekday())
    return monday + timedelta(days=WEEKDAYS.index(settings.reminder_day))


def _open_weeks(now: datetime) -> set[str]:
    """The weeks someone somewhere is in now (one or two)."""
    return {week_of((now + o).date()) for o in (OFFSETS[0], OFFSETS[-1])}


def _latest_slots(now: datetime, settings: Settings) -> dict[str, datetime]:
    """For each week someone somewhere is in now: the latest slot already passed, over
    every UTC offset. Nobody whose data is newer can be due, whatever their timezone."""
    latest: dict[str, datetime] = {}
    for offset in OFFSETS:
        day = (now + offset).date()
        slot = datetime.combine(_slot_day(day, settings), settings.reminder_time, tzinfo=UTC)
        slot -= offset
        week = week_of(day)
        if slot <= now and slot > latest.get(week, datetime.min.replace(tzinfo=UTC)):
            latest[week] = slot
    return latest


@dataclass(frozen=True)
class Due:
    user_id: str
    week: str
    tz: str
    today: date  # their local date
    claim_id: int | None  # a stale claim this send takes over


@dataclass
class Scan:
    """Recipients, their settings and this week's claims: three statements, any headcount."""

    since: dict[str, datetime]  # recipient -> when they first had something to report
    tz: dict[str, str | None]
    tz_checked_at: dict[str, datetime | None]
    off: set[str]
    claims: dict[tuple[str, str], ReminderSent]
    free: set[int]  # claims that may be taken over: a lease old, or their node silent

    def needing_timezone(self, *, now: datetime, settings: Settings, force: bool) -> list[str]:
        """Recipients who may be due and whose cached timezone is missing or a day old."""
        latest = _latest_slots(now, settings)
        weeks = _open_weeks(now)
        wanted = []
        for user, since in self.since.items():
            if user in self.off:
                continue
            open_weeks = [w for w in weeks if not self._sent(user, w)]
            if not force and not any(w in latest and since <= latest[w] for w in open_weeks):
                continue
            if force and not open_weeks:
                continue
            checked = self.tz_checked_at.get(user)
            if checked is None or now - checked > TZ_MAX_AGE:
                wanted.append(user)
        return wanted

    def remember_timezones(self, found: dict[str, str | None], *, now: datetime) -> None:
        for user, tz in found.items():
            self.tz[user] = tz
            self.tz_checked_at[user] = now

    def _sent(self, user: str, week: str) -> bool:
        claim = self.claims.get((user, week))
        return claim is not None and claim.sent_at is not None

    def due(
        self, *, now: datetime, settings: Settings, force: bool
    ) -> tuple[list[Due], list[str], list[str]]:
        """(due, already sent this week, being sent by someone else right now)."""
        due: list[Due] = []
        already: list[str] = []
        busy: list[str] = []
        for user, since in sorted(self.since.items()):
            if user in self.off:
                continue
            tz = zone(self.tz.get(user))
            local = now.astimezone(tz)
            week = week_of(local.date())
            claim = self.claims.get((user, week))
            if not force:
                slot = slot_of(local.date(), settings, tz)
                if now < slot or since > slot:
                    continue
            if claim is not None and claim.sent_at is not None:
                already.append(user)
            elif claim is not None and claim.id not in self.free:
                busy.append(user)
            else:
                claim_id = claim.id if claim is not None else None
                due.append(Due(user, week, tz.key, local.date(), claim_id))
        return due, already, busy


def load_scan(session: Session, *, now: datetime, settings: Settings) -> Scan:
    since = reporting_since(session, settings=settings)
    people = reminder_settings(session)
    weeks = sorted(_open_weeks(now))
    claims = claims_of(session, weeks=weeks)
    stale_before = now - timedelta(seconds=settings.lease_seconds)
    free = free_claims(session, weeks=weeks, stale_before=stale_before, now=now)
    return Scan(
        since=since,
        tz={p.user_id: p.tz for p in people},
        tz_checked_at={p.user_id: p.tz_checked_at for p in people},
        off={p.user_id for p in people if not p.reminders},
        claims={(c.user_id, c.week): c for c in claims},
        free=free,
    )


def lookup_timezones(client: WebClient, users: list[str]) -> dict[str, str | None]:
    """Ask Slack (`users.info` `tz`); a person Slack does not know counts as no zone,
    and one Slack could not answer for now keeps their cached zone (left out)."""
    found: dict[str, str | None] = {}
    for user in users:
        try:
            answer = call("reminder_tz", client.users_info, user=user)
            found[user] = answer["user"].get("tz")
        except SlackStepError as exc:
            if exc.error not in PERSON_ERRORS:
                log.warning("user=%s timezone unknown for now (%s); cached one used", user, exc)
                continue
            found[user] = None
    return found
