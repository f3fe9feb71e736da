"""What each weekly digest says: an engineer's prospects, an AE's deals, kept to what a
message can show (Top-N), built one person at a time from streamed rows."""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import groupby
from operator import attrgetter, itemgetter
from typing import Any, Generic, NamedTuple, TypeVar

from sqlmodel import Session

from bot.config import Settings
from bot.flows.invitations import StaleInvite, stale_invite
from bot.flows.stage_kinds import PRECLOSE, Stage
from bot.flows.stage_kinds import kind as stage_kind
from bot.models import IntroStatus
from bot.store.contacts import HOLDING, STALE_AFTER
from bot.store.reminders import DigestStreams, digest_streams

T = TypeVar("T")
CLOSING_SOON_DAYS = 14
MAX_PROSPECTS = 20
MAX_ATTENTION = 8
MAX_DEALS = 40
MAX_STALE = 10  # each is a section and a button: Slack's 50 blocks a message
UNINTRODUCED = (IntroStatus.FAILED, IntroStatus.CANCELLED, IntroStatus.WAITING)


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
    stage_id: str = ""
    stage_status: str = ""  # the CRM's "open"/"won"/"lost", "" when it did not say
    probability: float | None = None


class IntroRow(NamedTuple):
    id: int
    status: str
    channel_id: str | None
    engineer_user_id: str | None
    last_prospect_text: str | None


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
    stale: list[StaleInvite] = field(default_factory=list)  # the AE's, to re-send

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


def build_digests(
    session: Session, *, today: Mapping[str, date], now: datetime, settings: Settings
) -> Iterator[tuple[str, Digest]]:
    """Each digest of the people in `today` (their local dates), one person at a time.

    Five statements, streamed and each ordered by person, are merged as they arrive:
    a person's digest is complete, yielded and dropped before the next one is read, so
    memory stays the same whatever the number of deals.
    """
    streams = digest_streams(session, settings=settings, stale_before=now - STALE_AFTER)
    for user, rows in _per_person(streams):
        if user in today:
            yield user, _digest(rows, today=today[user], now=now, settings=settings)


def _per_person(streams: DigestStreams) -> Iterator[tuple[str, DigestStreams]]:
    """(user, that user's rows of each stream), merged from streams ordered by user."""
    groups = [_grouped(kind, stream) for kind, stream in enumerate(streams)]
    for user, parts in groupby(heapq.merge(*groups, key=itemgetter(0, 1)), key=itemgetter(0)):
        rows: list[list[Any]] = [[] for _ in streams]
        for _, kind, found in parts:
            rows[kind] = found
        yield user, DigestStreams(*rows)


def _grouped(kind: int, rows: Iterable[Any]) -> Iterator[tuple[str, int, list[Any]]]:
    """(user, which stream, that user's rows), from rows ordered by user."""
    for user, found in groupby(rows, key=attrgetter("user_id")):
        yield user, kind, list(found)


def _digest(rows: DigestStreams, *, today: date, now: datetime, settings: Settings) -> Digest:
    invites: dict[int, list[Invite]] = defaultdict(list)
    for row in rows.invites:
        sent = _minutes(row.invited_at, now) if row.invite_state in HOLDING else None
        invites[row.deal_id].append(Invite(row.email, sent))
    questions: dict[int, list[Question]] = defaultdict(list)
    for row in rows.questions:
        questions[row.intro_id].append(Question(row.text, _minutes(row.started_at, now) or 0))
    digest = Digest()
    for row in rows.prospects:
        deal, intro = _deal(row), _intro(row)
        digest.add_prospect(
            Prospect(
                deal=deal,
                intro=intro,
                invites=invites.get(deal.id, []),
                questions=questions.get(intro.id, []),
                last_message_minutes=_minutes(row.last_message_at, now),
            )
        )
    for row in rows.deals:
        deal = _deal(row)
        intro = _intro(row) if row.intro_id is not None else None
        soon = _closing_soon(deal, intro, today=today, settings=settings)
        digest.add_deal(AeDeal(deal, intro, soon))
    digest.stale = [stale_invite(row, now=now) for row in rows.stale][:MAX_STALE]
    return digest


def _deal(row: Any) -> DealRow:
    return DealRow(row.deal_id, row.crm_id, row.company, row.stage, row.stage_label,
                   row.close_date, row.stage_id, row.stage_status, row.probability)  # fmt: skip


def _intro(row: Any) -> IntroRow:
    return IntroRow(
        row.intro_id, row.status, row.channel_id, row.engineer_user_id, row.last_prospect_text
    )


def _minutes(since: datetime | None, now: datetime) -> int | None:
    return None if since is None else max(0, int((now - since).total_seconds() // 60))


def _closing_soon(
    deal: DealRow, intro: IntroRow | None, *, today: date, settings: Settings
) -> bool:
    """Within CLOSING_SOON_DAYS of closing, or in a pre-close stage, and not introduced."""
    if intro is not None and intro.status not in UNINTRODUCED:
        return False
    near = deal.close_date is not None and deal.close_date <= today + timedelta(
        days=CLOSING_SOON_DAYS
    )
    stage = Stage(deal.stage_label or deal.stage or "", deal.stage_id, "", deal.stage_status,
                  deal.probability)  # fmt: skip
    return near or stage_kind(stage, settings) == PRECLOSE
