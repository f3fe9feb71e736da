"""Sending the reminders due now: the plan, then per person claim → DM → settle, and the
worker's periodic `ReminderTask`.

The claim is the unique (person, week) `ReminderSent` row, INSERTed before the DM is
posted; `sent_at` is set after. A claim left unsent (a crash mid-send) is taken over
once older than the lease, after looking in the IM for the message's metadata.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.config import Settings
from bot.db import session_scope
from bot.exceptions import SlackStepError
from bot.flows.reminders.digest import build_digests
from bot.flows.reminders.render import render_digest
from bot.flows.reminders.schedule import PERSON_ERRORS, Scan, load_scan, lookup_timezones
from bot.models import utcnow
from bot.outages import log_failure
from bot.slack.client import call, find_posted, open_dm
from bot.store.people import cache_timezones
from bot.store.reminders import claim_week, release_claim, settle_claim, take_over_claim
from bot.templating import Message

log = logging.getLogger(__name__)

EVENT_TYPE = "careintro_reminder"
SCAN_EVERY = timedelta(minutes=1)  # slots have minute resolution
HISTORY_SCAN = 50


@dataclass(frozen=True)
class Reminder:
    user_id: str
    week: str
    tz: str
    message: Message
    claim_id: int | None


@dataclass
class Plan:
    reminders: list[Reminder]
    already: list[str]  # had this week's reminder
    busy: list[str]  # another process is sending theirs right now


def plan_reminders(
    session: Session, *, scan: Scan, now: datetime, settings: Settings, force: bool
) -> Plan:
    """The messages due now; with `force` (the `remind` command) slots are not waited for."""
    due, already, busy = scan.due(now=now, settings=settings, force=force)
    if not due:
        return Plan([], already, busy)
    people = {d.user_id: d for d in due}
    reminders = []
    for user_id, digest in build_digests(
        session, today={d.user_id: d.today for d in due}, now=now, settings=settings
    ):
        person = people[user_id]
        message = render_digest(digest, today=person.today)
        if message is not None:
            reminders.append(
                Reminder(person.user_id, person.week, person.tz, message, person.claim_id)
            )
    return Plan(reminders, already, busy)


def collect(session: Session, *, now: datetime, settings: Settings, force: bool = False) -> Plan:
    """Who is due and what they get, from cached timezones: reads only, a fixed number."""
    scan = load_scan(session, now=now, settings=settings)
    return plan_reminders(session, scan=scan, now=now, settings=settings, force=force)


@dataclass
class Outcome:
    sent: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    weeks: set[str] = field(default_factory=set)


def send_due(
    engine: Engine,
    *,
    settings: Settings,
    client: WebClient,
    now: datetime | None = None,
    force: bool = False,
    owner: str | None = None,
) -> Outcome:
    """Send every reminder due now (each claimed first, so it goes out once).

    Holds the engine rather than a session: a send is several transactions (scan,
    timezone cache, then claim → Slack call → settle per person), so no transaction
    stays open across a Slack call and each person's claim commits before their DM.
    """
    now = now or utcnow()
    plan = _plan(engine, client, now=now, settings=settings, force=force)
    outcome = Outcome(already=plan.already, busy=plan.busy)
    stale_before = now - timedelta(seconds=settings.lease_seconds)
    for reminder in plan.reminders:
        result = deliver(engine, client, reminder, stale_before=stale_before, owner=owner)
        if result == "sent":
            outcome.sent.append(reminder.user_id)
            outcome.weeks.add(reminder.week)
        elif result == "taken":
            outcome.busy.append(reminder.user_id)
        else:
            outcome.failed.append(reminder.user_id)
    return outcome


def _plan(
    engine: Engine, client: WebClient, *, now: datetime, settings: Settings, force: bool
) -> Plan:
    """Scan, refresh the timezones that may matter (Slack, outside any transaction), plan."""
    with session_scope(engine) as session:
        scan = load_scan(session, now=now, settings=settings)
    lookups = scan.needing_timezone(now=now, settings=settings, force=force)
    found = lookup_timezones(client, lookups) if lookups else {}
    if found:
        with session_scope(engine) as session:
            cache_timezones(session, found=found, now=now)
        scan.remember_timezones(found, now=now)
    with session_scope(engine) as session:
        return plan_reminders(session, scan=scan, now=now, settings=settings, force=force)


def deliver(
    engine: Engine,
    client: WebClient,
    reminder: Reminder,
    *,
    stale_before: datetime,
    owner: str | None = None,
) -> str:
    """Claim, post, settle: "sent", "taken" (someone else has it) or "failed"."""
    claim_id = _claim(engine, reminder, stale_before=stale_before, owner=owner)
    if claim_id is None:
        return "taken"
    try:
        ts = _post(client, reminder)
    except SlackStepError as exc:
        _failed(engine, claim_id, reminder, exc)
        return "failed"
    with session_scope(engine) as session:
        settle_claim(session, claim_id=claim_id, ts=str(ts))
    log.info("reminder user=%s week=%s sent ts=%s", reminder.user_id, reminder.week, ts)
    return "sent"


def _post(client: WebClient, reminder: Reminder) -> str:
    """The DM's ts; a taken-over claim first looks for the DM a crashed send may have posted."""
    channel = open_dm("reminder_open", client, reminder.user_id)
    if reminder.claim_id:
        ts = find_posted(
            client,
            "reminder_history",
            channel=channel,
            event_type=EVENT_TYPE,
            payload={"week": reminder.week},
            limit=HISTORY_SCAN,
        )
        if ts is not None:
            return str(ts)
    return str(
        call(
            "reminder_post",
            client.chat_postMessage,
            channel=channel,
            text=reminder.message.text,
            blocks=reminder.message.blocks,
            unfurl_links=False,
            unfurl_media=False,
            metadata={"event_type": EVENT_TYPE, "event_payload": {"week": reminder.week}},
        )["ts"]
    )


def _claim(
    engine: Engine, reminder: Reminder, *, stale_before: datetime, owner: str | None
) -> int | None:
    """The unique (user, week) row is the claim; a free unsent one is taken over."""
    try:
        with session_scope(engine) as session:
            if reminder.claim_id is None:
                return claim_week(
                    session, user_id=reminder.user_id, week=reminder.week, owner=owner
                )
            taken = take_over_claim(
                session, claim_id=reminder.claim_id, stale_before=stale_before, owner=owner
            )
            return reminder.claim_id if taken else None
    except IntegrityError:
        return None


def _failed(engine: Engine, claim_id: int, reminder: Reminder, exc: SlackStepError) -> None:
    """A person Slack won't let us DM: their week is settled. Slack refusing the call:
    nothing was posted, so the claim is released. Anything else may have posted: the
    claim stays, and is taken over (history checked first) once stale."""
    who = f"user={reminder.user_id} week={reminder.week}"
    if exc.error in PERSON_ERRORS:
        log.warning("reminder %s cannot be delivered: %s", who, exc.error)
        with session_scope(engine) as session:
            settle_claim(session, claim_id=claim_id, ts=None)
    elif exc.permanent and exc.step != "reminder_history":
        log.error("reminder %s refused by Slack: %s; tried again later", who, exc.error)
        with session_scope(engine) as session:
            release_claim(session, claim_id=claim_id)
    else:
        log_failure(log, exc, "reminder %s interrupted (%s); taken over when stale", who, exc.error)


@dataclass
class ReminderTask:
    """The worker's periodic task: one scan a minute at most, whatever the poll rate."""

    engine: Engine
    settings: Settings
    client: WebClient
    owner: str | None = None  # the worker node claiming, so its death frees the claims
    last_scan: datetime | None = None

    def __call__(self) -> int:
        now = utcnow()
        if self.last_scan is not None and timedelta(0) <= now - self.last_scan < SCAN_EVERY:
            return 0
        self.last_scan = now
        outcome = send_due(
            self.engine, settings=self.settings, client=self.client, now=now, owner=self.owner
        )
        return len(outcome.sent)
