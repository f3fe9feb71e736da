"""Weekly reminder DMs: who is due, what their digest says, and one DM a week at most.

Due is a fact read from the database: the person's slot of their current ISO week
(`CARE_REMINDER_DAY` `CARE_REMINDER_TIME` in their own Slack timezone) has passed, they
had something to report by then, and no `ReminderSent` row exists for (person, week).
The row is INSERTed before the DM is posted (the unique pair is the claim) and gets
`sent_at` after, so restarts, late workers, extra workers and `remind` runs all add up
to one DM a week. A claim left unsent (a crash mid-send) is taken over once it is older
than the lease, after looking in the IM for the message's metadata.
"""

from __future__ import annotations

import heapq
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import groupby
from operator import itemgetter
from typing import Any, Generic, NamedTuple, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk import WebClient
from sqlalchemy import Engine, delete, func, or_, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.config import WEEKDAYS, Settings
from bot.db import session_scope
from bot.exceptions import SlackStepError
from bot.flows.slash import Reply
from bot.ids import ActionId
from bot.models import (
    Contact,
    Deal,
    Introduction,
    IntroStatus,
    InviteState,
    Person,
    ReminderSent,
    ResponseClock,
    utcnow,
)
from bot.slack.client import call, find_posted, open_dm
from bot.store.deals import get_deal
from bot.store.introductions import request_introduction
from bot.store.rows import update_row
from bot.templating import Message, environment, render_internal

log = logging.getLogger(__name__)

EVENT_TYPE = "careintro_reminder"
ENGINEER_TEMPLATE = "internal/reminder_engineer.j2"
AE_TEMPLATE = "internal/reminder_ae.j2"
SCAN_EVERY = timedelta(minutes=1)  # slots have minute resolution
TZ_MAX_AGE = timedelta(days=1)
CLOSING_SOON_DAYS = 14
HISTORY_SCAN = 50
T = TypeVar("T")
MAX_PROSPECTS = 20
MAX_ATTENTION = 8
MAX_DEALS = 40
MAX_BLOCKS = 50  # Slack's limit for a message
DIVIDER = {"type": "divider"}
STREAM_ROWS = 500
PENDING_INVITES = (InviteState.WAITING, InviteState.SENDING, InviteState.SENT)
UNINTRODUCED = (IntroStatus.FAILED, IntroStatus.CANCELLED)
# Slack errors about the person, not about us: their week is settled without a DM.
PERSON_ERRORS = frozenset(
    {"user_not_found", "user_not_visible", "user_disabled", "cannot_dm_bot", "account_inactive"}
)
# Every UTC offset in use, in quarter hours (UTC-12 to UTC+14).
OFFSETS = tuple(timedelta(minutes=15 * q) for q in range(-48, 57))


# --- time ----------------------------------------------------------------------------


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
    monday = day - timedelta(days=day.weekday())
    slot_day = monday + timedelta(days=WEEKDAYS.index(settings.reminder_day))
    return datetime.combine(slot_day, settings.reminder_time, tzinfo=tz).astimezone(UTC)


def _latest_slots(now: datetime, settings: Settings) -> dict[str, datetime]:
    """For each week someone somewhere is in now: the latest slot already passed, over
    every UTC offset. Nobody whose data is newer can be due, whatever their timezone."""
    latest: dict[str, datetime] = {}
    for offset in OFFSETS:
        day = (now + offset).date()
        monday = day - timedelta(days=day.weekday())
        slot_day = monday + timedelta(days=WEEKDAYS.index(settings.reminder_day))
        slot = datetime.combine(slot_day, settings.reminder_time, tzinfo=UTC) - offset
        week = week_of(day)
        if slot <= now and slot > latest.get(week, datetime.min.replace(tzinfo=UTC)):
            latest[week] = slot
    return latest


# --- who is due ----------------------------------------------------------------------


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

    def needing_timezone(self, *, now: datetime, settings: Settings, force: bool) -> list[str]:
        """Recipients who may be due and whose cached timezone is missing or a day old."""
        latest = _latest_slots(now, settings)
        weeks = {week_of((now + o).date()) for o in (OFFSETS[0], OFFSETS[-1])}
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

    def _sent(self, user: str, week: str) -> bool:
        claim = self.claims.get((user, week))
        return claim is not None and claim.sent_at is not None

    def due(
        self, *, now: datetime, settings: Settings, force: bool
    ) -> tuple[list[Due], list[str], list[str]]:
        """(due, already sent this week, being sent by someone else right now)."""
        stale_before = now - timedelta(seconds=settings.lease_seconds)
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
            elif claim is not None and claim.claimed_at >= stale_before:
                busy.append(user)
            else:
                claim_id = claim.id if claim is not None else None
                due.append(Due(user, week, tz.key, local.date(), claim_id))
        return due, already, busy


def load_scan(session: Session, *, now: datetime, settings: Settings) -> Scan:
    closed = sorted(settings.won_stages | settings.lost_stages)
    engineers = (
        select(
            col(Introduction.engineer_user_id).label("user_id"),
            func.coalesce(Introduction.finished_at, Introduction.created_at).label("since"),
        )
        .join(Deal, col(Deal.id) == Introduction.deal_id)
        .where(Introduction.status == IntroStatus.DONE)
        .where(col(Deal.stage).not_in(sorted(settings.lost_stages)))
    )
    aes = (
        select(_ae_column().label("user_id"), col(Deal.created_at).label("since"))
        .select_from(Deal)
        .join(Introduction, col(Introduction.deal_id) == Deal.id, isouter=True)
        .where(col(Deal.stage).not_in(closed))
        .where(or_(col(Deal.watched), col(Introduction.id).is_not(None)))
    )
    both = union_all(engineers, aes).subquery()
    rows = session.execute(
        select(both.c.user_id, func.min(both.c.since))
        .where(both.c.user_id.is_not(None))
        .group_by(both.c.user_id)
    )
    since: dict[str, datetime] = dict(rows.all())
    people = session.execute(
        select(Person.user_id, Person.tz, Person.tz_checked_at, Person.reminders)
    ).all()
    weeks = sorted({week_of((now + o).date()) for o in (OFFSETS[0], OFFSETS[-1])})
    claims = session.exec(select(ReminderSent).where(col(ReminderSent.week).in_(weeks))).all()
    return Scan(
        since=since,
        tz={p.user_id: p.tz for p in people},
        tz_checked_at={p.user_id: p.tz_checked_at for p in people},
        off={p.user_id for p in people if not p.reminders},
        claims={(c.user_id, c.week): c for c in claims},
    )


def _ae_column() -> Any:
    """Who a deal's AE is: the introduction's, else who registered or requested it."""
    return func.coalesce(Introduction.ae_user_id, Deal.registered_by, Introduction.requested_by)


def refresh_timezones(
    engine: Engine, client: WebClient, scan: Scan, users: list[str], *, now: datetime
) -> None:
    """Ask Slack (`users.info` `tz`) and cache the answers in `Person`, in one statement."""
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
    if not found:
        return
    with session_scope(engine) as session:
        table = Person.__table__  # type: ignore[attr-defined]
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        insert = dialect.insert(table)
        session.execute(
            insert.on_conflict_do_update(
                index_elements=[table.c.user_id],
                set_={"tz": insert.excluded.tz, "tz_checked_at": insert.excluded.tz_checked_at},
            ),
            [
                {"user_id": u, "tz": tz, "tz_checked_at": now, "reminders": True, "created_at": now}
                for u, tz in found.items()
            ],
        )
    for user, tz in found.items():
        scan.tz[user] = tz
        scan.tz_checked_at[user] = now


# --- what each digest says -----------------------------------------------------------


@dataclass(frozen=True)
class Invite:
    email: str
    sent_minutes: int | None  # None: queued behind the pending one


@dataclass(frozen=True)
class Question:
    text: str
    waited_minutes: int


class DealRow(NamedTuple):
    """What a digest shows of a deal: selected columns, not an ORM entity (a tenth of
    the memory and none of the hydration, at 100k deals)."""

    id: int
    crm_id: str
    company: str | None
    stage: str | None
    stage_label: str | None
    close_date: date | None


class IntroRow(NamedTuple):
    id: int
    status: str
    channel_id: str | None
    engineer_user_id: str | None
    last_prospect_text: str | None


DEAL_COLUMNS = (Deal.id, Deal.crm_id, Deal.company, Deal.stage, Deal.stage_label, Deal.close_date)
INTRO_COLUMNS = (
    Introduction.id,
    Introduction.status,
    Introduction.channel_id,
    Introduction.engineer_user_id,
    Introduction.last_prospect_text,
)


@dataclass(frozen=True)
class Prospect:
    deal: DealRow
    intro: IntroRow
    invites: list[Invite]
    questions: list[Question]
    last_message_minutes: int | None


@dataclass(frozen=True)
class AeDeal:
    deal: DealRow
    intro: IntroRow | None
    closing_soon: bool  # within 14 days of closing (or pre-close) and not introduced


class Top(Generic[T]):
    """The `n` items with the smallest keys, and how many were offered: a digest keeps
    what its message can show, so memory grows with people, not with deals."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.count = 0
        self._items: list[tuple[Any, int, T]] = []

    def add(self, key: Any, item: T) -> None:
        self._items.append((key, self.count, item))
        self.count += 1
        if len(self._items) >= 2 * self.n + 16:
            self._trim()

    def _trim(self) -> None:
        self._items.sort(key=lambda entry: entry[:2])  # the count breaks ties: items never compared
        del self._items[self.n :]

    def items(self) -> list[T]:
        self._trim()
        return [item for _, _, item in self._items]


@dataclass
class Digest:
    prospects: Top[Prospect] = field(default_factory=lambda: Top(MAX_PROSPECTS))
    waiting: int = 0  # questions waiting in all their prospects, shown or not
    soon: Top[AeDeal] = field(default_factory=lambda: Top(MAX_ATTENTION + MAX_DEALS))
    later: Top[AeDeal] = field(default_factory=lambda: Top(MAX_DEALS))

    def add_prospect(self, prospect: Prospect) -> None:
        deal = prospect.deal
        key = (-len(prospect.questions), deal.close_date or date.max, deal.crm_id)
        self.prospects.add(key, prospect)
        self.waiting += len(prospect.questions)

    def add_deal(self, item: AeDeal) -> None:
        key = (item.deal.close_date or date.max, item.deal.crm_id)
        (self.soon if item.closing_soon else self.later).add(key, item)

    @property
    def has_deals(self) -> bool:
        return bool(self.soon.count or self.later.count)


def _minutes(since: datetime | None, now: datetime) -> int | None:
    return None if since is None else max(0, int((now - since).total_seconds() // 60))


def build_digests(
    session: Session, *, today: Mapping[str, date], now: datetime, settings: Settings
) -> Iterator[tuple[str, Digest]]:
    """Each digest of the people in `today` (their local dates), one person at a time.

    Four statements, streamed and each ordered by person, are merged as they arrive:
    a person's digest is complete, yielded and dropped before the next one is read, so
    memory stays the same whatever the number of deals.
    """
    engineer = col(Introduction.engineer_user_id)
    ae = _ae_column()
    deal_width = len(DEAL_COLUMNS)
    done = (Introduction.status == IntroStatus.DONE, engineer.is_not(None))
    streams = [
        _stream(  # 0: pending invitations of their prospects
            session,
            select(
                engineer, Contact.deal_id, Contact.email, Contact.invite_state, Contact.invited_at
            )
            .join(Introduction, col(Introduction.deal_id) == Contact.deal_id)
            .where(*done, col(Contact.invite_state).in_(PENDING_INVITES))
            .order_by(_by_person(session, engineer), Contact.id),
        ),
        _stream(  # 1: questions waiting in their channels
            session,
            select(
                engineer,
                ResponseClock.introduction_id,
                ResponseClock.text_preview,
                ResponseClock.started_at,
            )
            .join(Introduction, col(Introduction.id) == ResponseClock.introduction_id)
            .where(*done, col(ResponseClock.answered_at).is_(None))
            .order_by(_by_person(session, engineer), ResponseClock.started_at),
        ),
        _stream(  # 2: their prospects
            session,
            select(engineer, *DEAL_COLUMNS, *INTRO_COLUMNS, Introduction.last_prospect_message_at)
            .join(Introduction, col(Introduction.deal_id) == Deal.id)
            .where(*done, col(Deal.stage).not_in(sorted(settings.lost_stages)))
            .order_by(_by_person(session, engineer)),
        ),
        _stream(  # 3: the open deals they sell
            session,
            select(ae.label("ae"), *DEAL_COLUMNS, *INTRO_COLUMNS)
            .join(Introduction, col(Introduction.deal_id) == Deal.id, isouter=True)
            .where(col(Deal.stage).not_in(sorted(settings.won_stages | settings.lost_stages)))
            .where(or_(col(Deal.watched), col(Introduction.id).is_not(None)))
            .where(ae.is_not(None))
            .order_by(_by_person(session, ae)),
        ),
    ]
    groups = [_grouped(kind, stream) for kind, stream in enumerate(streams)]
    for user, parts in groupby(heapq.merge(*groups, key=itemgetter(0, 1)), key=itemgetter(0)):
        if user not in today:
            continue
        rows: list[list[Any]] = [[], [], [], []]
        for _, kind, found in parts:
            rows[kind] = found
        invites: dict[int, list[Invite]] = defaultdict(list)
        for _, deal_id, email, state, invited_at in rows[0]:
            sent = _minutes(invited_at, now) if state == InviteState.SENT else None
            invites[deal_id].append(Invite(email, sent))
        questions: dict[int, list[Question]] = defaultdict(list)
        for _, intro_id, text, started_at in rows[1]:
            questions[intro_id].append(Question(text, _minutes(started_at, now) or 0))
        digest = Digest()
        for row in rows[2]:
            deal = DealRow(*row[1 : deal_width + 1])
            intro = IntroRow(*row[deal_width + 1 : -1])
            digest.add_prospect(
                Prospect(
                    deal=deal,
                    intro=intro,
                    invites=invites.get(deal.id, []),
                    questions=questions.get(intro.id, []),
                    last_message_minutes=_minutes(row[-1], now),
                )
            )
        for row in rows[3]:
            deal = DealRow(*row[1 : deal_width + 1])
            has_intro = row[deal_width + 1] is not None
            intro = IntroRow(*row[deal_width + 1 :]) if has_intro else None
            soon = _closing_soon(deal, intro, today=today[user], settings=settings)
            digest.add_deal(AeDeal(deal, intro, soon))
        yield user, digest


def _grouped(kind: int, rows: Iterable[Any]) -> Iterator[tuple[str, int, list[Any]]]:
    """(user, which stream, that user's rows), from rows ordered by user."""
    for user, found in groupby(rows, key=itemgetter(0)):
        yield user, kind, list(found)


def _by_person(session: Session, column: Any) -> Any:
    """Order by a user id in code-point order, as Python compares the merged streams
    (PostgreSQL's default collation would sort `U_X` and `UA` the other way)."""
    if session.get_bind().dialect.name == "postgresql":
        return column.collate("C")
    return column


def _stream(session: Session, query: Any) -> Any:
    """One statement whose rows arrive in batches, so a big workspace fits in memory."""
    return session.exec(query.execution_options(yield_per=STREAM_ROWS))


def _closing_soon(
    deal: DealRow, intro: IntroRow | None, *, today: date, settings: Settings
) -> bool:
    if intro is not None and intro.status not in UNINTRODUCED:
        return False
    near = deal.close_date is not None and deal.close_date <= today + timedelta(
        days=CLOSING_SOON_DAYS
    )
    return near or deal.stage in settings.preclose_stages


def render_digest(digest: Digest, *, today: date) -> Message | None:
    """One message for one person, whatever their roles; None when there is nothing to say."""
    parts: list[Message] = []
    if digest.prospects.count:
        parts.append(
            render_internal(
                ENGINEER_TEMPLATE,
                prospects=digest.prospects.items(),
                more=max(0, digest.prospects.count - MAX_PROSPECTS),
                waiting=digest.waiting,
                today=today,
                footer=not digest.has_deals,
            )
        )
    if digest.has_deals:
        soon = digest.soon.items()
        attention = soon[:MAX_ATTENTION]
        rest = soon[MAX_ATTENTION:] + digest.later.items()
        hidden = digest.soon.count - len(attention) + digest.later.count
        message = render_internal(
            AE_TEMPLATE,
            attention=attention,
            deals=rest[:MAX_DEALS],
            more=max(0, hidden - MAX_DEALS),
            today=today,
            also=bool(parts),
        )
        parts.append(_with_buttons(message, [d.deal for d in attention]))
    if not parts:
        return None
    blocks = parts[0].blocks + [b for part in parts[1:] for b in [DIVIDER, *part.blocks]]
    return Message(text=" · ".join(p.text for p in parts), blocks=blocks[:MAX_BLOCKS])


def _with_buttons(message: Message, deals: list[DealRow]) -> Message:
    """The template gives each deal that needs an introduction its own first section;
    each gets an actions block right after it, with the button that starts it."""
    template = environment().get_template(AE_TEMPLATE)
    label = "".join(template.blocks["button"](template.new_context({}))).strip()
    blocks: list[dict[str, Any]] = []
    for index, block in enumerate(message.blocks):
        blocks.append(block)
        if index < len(deals):
            blocks.append(
                {
                    "type": "actions",
                    "block_id": f"{ActionId.INTRODUCE_DEAL.value}:{deals[index].crm_id}",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": ActionId.INTRODUCE_DEAL.value,
                            "text": {"type": "plain_text", "text": label},
                            "style": "primary",
                            "value": deals[index].crm_id,
                        }
                    ],
                }
            )
    return Message(text=message.text, blocks=blocks)


# --- planning and sending ------------------------------------------------------------


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
    session: Session, scan: Scan, *, now: datetime, settings: Settings, force: bool
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
    return plan_reminders(session, scan, now=now, settings=settings, force=force)


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
) -> Outcome:
    """Send every reminder due now (each claimed first, so it goes out once)."""
    now = now or utcnow()
    with session_scope(engine) as session:
        scan = load_scan(session, now=now, settings=settings)
    lookups = scan.needing_timezone(now=now, settings=settings, force=force)
    if lookups:
        refresh_timezones(engine, client, scan, lookups, now=now)
    with session_scope(engine) as session:
        plan = plan_reminders(session, scan, now=now, settings=settings, force=force)
    outcome = Outcome(already=plan.already, busy=plan.busy)
    stale_before = now - timedelta(seconds=settings.lease_seconds)
    for reminder in plan.reminders:
        result = deliver(engine, client, reminder, stale_before=stale_before)
        if result == "sent":
            outcome.sent.append(reminder.user_id)
            outcome.weeks.add(reminder.week)
        elif result == "taken":
            outcome.busy.append(reminder.user_id)
        else:
            outcome.failed.append(reminder.user_id)
    return outcome


def deliver(
    engine: Engine, client: WebClient, reminder: Reminder, *, stale_before: datetime
) -> str:
    """Claim, post, settle: "sent", "taken" (someone else has it) or "failed"."""
    claim_id = _claim(engine, reminder, stale_before=stale_before)
    if claim_id is None:
        return "taken"
    try:
        channel = open_dm("reminder_open", client, reminder.user_id)
        ts = (
            find_posted(
                client,
                "reminder_history",
                channel=channel,
                event_type=EVENT_TYPE,
                payload={"week": reminder.week},
                limit=HISTORY_SCAN,
            )
            if reminder.claim_id
            else None
        )
        if ts is None:
            ts = call(
                "reminder_post",
                client.chat_postMessage,
                channel=channel,
                text=reminder.message.text,
                blocks=reminder.message.blocks,
                unfurl_links=False,
                unfurl_media=False,
                metadata={"event_type": EVENT_TYPE, "event_payload": {"week": reminder.week}},
            )["ts"]
    except SlackStepError as exc:
        _failed(engine, claim_id, reminder, exc)
        return "failed"
    _settle(engine, claim_id, str(ts))
    log.info("reminder user=%s week=%s sent ts=%s", reminder.user_id, reminder.week, ts)
    return "sent"


def _claim(engine: Engine, reminder: Reminder, *, stale_before: datetime) -> int | None:
    """The unique (user, week) row is the claim; a stale unsent one is taken over."""
    try:
        with session_scope(engine) as session:
            if reminder.claim_id is None:
                row = ReminderSent(user_id=reminder.user_id, week=reminder.week)
                session.add(row)
                session.flush()
                return row.id
            taken = session.execute(
                update(ReminderSent)
                .where(col(ReminderSent.id) == reminder.claim_id)
                .where(col(ReminderSent.sent_at).is_(None))
                .where(col(ReminderSent.claimed_at) < stale_before)
                .values(claimed_at=utcnow())
            )
            return reminder.claim_id if taken.rowcount == 1 else None  # type: ignore[attr-defined]
    except IntegrityError:
        return None


def _settle(engine: Engine, claim_id: int, ts: str | None) -> None:
    with session_scope(engine) as session:
        update_row(session, ReminderSent, claim_id, sent_at=utcnow(), message_ts=ts)


def _failed(engine: Engine, claim_id: int, reminder: Reminder, exc: SlackStepError) -> None:
    """A person Slack won't let us DM: their week is settled. Slack refusing the call:
    nothing was posted, so the claim is released. Anything else may have posted: the
    claim stays, and is taken over (history checked first) once stale."""
    who = f"user={reminder.user_id} week={reminder.week}"
    if exc.error in PERSON_ERRORS:
        log.warning("reminder %s cannot be delivered: %s", who, exc.error)
        _settle(engine, claim_id, None)
    elif exc.permanent and exc.step != "reminder_history":
        log.error("reminder %s refused by Slack: %s; tried again later", who, exc.error)
        with session_scope(engine) as session:
            session.execute(
                delete(ReminderSent)
                .where(col(ReminderSent.id) == claim_id)
                .where(col(ReminderSent.sent_at).is_(None))
            )
    else:
        log.warning("reminder %s interrupted (%s); taken over when stale", who, exc.error)


@dataclass
class ReminderTask:
    """The worker's periodic task: one scan a minute at most, whatever the poll rate."""

    engine: Engine
    settings: Settings
    client: WebClient
    last_scan: datetime | None = None

    def __call__(self) -> int:
        now = utcnow()
        if self.last_scan is not None and timedelta(0) <= now - self.last_scan < SCAN_EVERY:
            return 0
        self.last_scan = now
        outcome = send_due(self.engine, settings=self.settings, client=self.client, now=now)
        return len(outcome.sent)


# --- the reminder button -------------------------------------------------------------


def introduce_from_reminder(session: Session, *, crm_id: str, user_id: str) -> Reply:
    """The AE pressed "Introduce now" in their reminder: record the introduction."""
    deal = get_deal(session, crm_id=crm_id)
    if deal is None:
        return Reply(f"I don't know deal {crm_id} any more; nothing was started.")
    intro, queued = request_introduction(
        session, deal=deal, source="reminder", requested_by=user_id
    )
    name = deal.company or deal.crm_id
    if queued:
        return Reply(
            f"Introducing {name} ({crm_id}) to their care team. I'll DM you when it's done.",
            queued=True,
        )
    if intro.status == IntroStatus.DONE:
        return Reply(f"{name} ({crm_id}) is already introduced. Nothing changed.")
    return Reply(f"The introduction of {name} ({crm_id}) is already under way. Nothing changed.")


# --- the `remind` command ------------------------------------------------------------


def remind_now(settings: Settings, *, dry_run: bool) -> list[str]:
    """`careintro remind`: this week's reminders now, without waiting for the slots.

    The dry run reads cached timezones only (UTC when unknown), calls no Slack method
    and writes nothing, so it needs no token and uses up nobody's week.
    """
    from bot.db import make_engine, migrate_if_needed
    from bot.slack.client import make_client
    from bot.textview import blocks_to_text

    if settings.database_url.startswith("sqlite"):
        migrate_if_needed(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        if dry_run:
            with Session(engine) as session:
                plan = collect(session, now=utcnow(), settings=settings, force=True)
            lines = []
            for r in plan.reminders:
                lines += [
                    f"--- to {r.user_id} (week {r.week}, {r.tz})",
                    blocks_to_text(r.message.blocks),
                ]
            lines.append(
                f"Dry run: {len(plan.reminders)} reminder(s) would be sent; nothing was recorded."
            )
            return lines + _others(plan.already, plan.busy)
        outcome = send_due(engine, settings=settings, client=make_client(settings), force=True)
    finally:
        engine.dispose()
    lines = []
    if outcome.sent:
        weeks = ", ".join(sorted(outcome.weeks))
        lines.append(f"Sent {len(outcome.sent)} reminder(s) for week {weeks}.")
    elif outcome.already:
        lines.append("Nothing sent: every reminder due this week was already sent.")
    if outcome.failed:
        lines.append(f"{len(outcome.failed)} could not be sent (see the log); tried again later.")
    lines += _others(outcome.already, outcome.busy)
    return lines or ["Nobody has anything to report: nothing sent."]


def _others(already: list[str], busy: list[str]) -> list[str]:
    lines = []
    if already:
        lines.append(
            f"{len(already)} already had this week's reminder: nobody gets a second one "
            f"the same week ({', '.join(already[:10])}{'…' if len(already) > 10 else ''})."
        )
    if busy:
        lines.append(f"{len(busy)} being sent by another process right now.")
    return lines
