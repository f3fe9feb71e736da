"""Database tables. The database is the source of truth for every introduction step."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Column, Numeric, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Aware UTC; SQLModel's column type keeps it UTC on SQLite too."""
    return datetime.now(UTC)


class IntroStatus(StrEnum):
    WAITING = "waiting"  # wanted, but the deal lacks what an introduction needs (SPEC)
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Step(StrEnum):
    """The SPEC's introduction steps, in order; `prepare` resolves who takes part."""

    PREPARE = "prepare"
    CHANNEL = "channel"
    INVITE = "invite"
    TOPIC = "topic"
    WELCOME = "welcome"
    CONNECT = "connect"
    BRIEF = "brief"
    NOTIFY_AE = "notify_ae"


STEPS: tuple[Step, ...] = tuple(Step)


class InviteState(StrEnum):
    """A contact's Slack Connect invitation (SPEC step 5; bot/flows/introduction/connect.py).
    SENT, APPROVAL and RESEND hold the channel's one pending invitation."""

    WAITING = "waiting"
    SENDING = "sending"
    SENT = "sent"
    APPROVAL = "approval"  # accepted, awaiting an admin's approval
    RESEND = "resend"  # sent, and to be sent again once Slack lets the first one lapse
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"  # Slack let it lapse unanswered (14 days)
    FAILED = "failed"


# A deal as the CRM (or a person) described it; `crm_id` is the CRM's own key.
class Deal(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    crm_id: str = Field(max_length=64, unique=True, index=True)
    company: str = Field(default="", max_length=200)
    stage: str = Field(default="", max_length=100)
    stage_label: str = Field(default="", max_length=100)
    amount: Decimal | None = Field(default=None, sa_column=Column(Numeric(16, 2)))
    close_date: date | None = None
    owner_email: str | None = Field(default=None, max_length=254)
    engineer_email: str | None = Field(default=None, max_length=254)
    engineer_user_id: str | None = Field(default=None, max_length=32)
    notes: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    watched: bool = False
    registered_by: str | None = Field(default=None, max_length=32, index=True)
    # Where the deal's facts come from ("hubspot", "salesforce", "webhook", "csv", "slack").
    source: str = Field(default="", max_length=16)
    # The CRM's own stage key (HubSpot's `dealstage` id, e.g. "137498562") and pipeline.
    stage_id: str = Field(default="", max_length=100)
    pipeline: str = Field(default="", max_length=100)
    # What the CRM says of the stage: "open", "won" or "lost" ("" when it does not say),
    # and its win probability (0..1), for CARE_PRECLOSE_PROBABILITY.
    stage_status: str = Field(default="", max_length=8)
    probability: float | None = None
    # The AE as a Slack user, resolved when the deal is recorded (CRM owner, else registrant).
    ae_user_id: str | None = Field(default=None, max_length=32, index=True)
    # The AE's one notice of what the deal lacks: claimed at, then sent at (a claim never
    # sent, its worker gone, is taken again after a while: see bot/flows/missing_notice.py).
    missing_notice_at: datetime | None = None
    missing_notice_sent_at: datetime | None = None
    deleted_at: datetime | None = None  # the CRM deleted it
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


def missing_for_introduction(deal: Deal) -> tuple[str, ...]:
    """What the deal lacks before it can be introduced (SPEC: a company name); () when
    nothing: the welcome, channel name and topic all name the company."""
    return () if deal.company.strip() else ("company",)


# A prospect contact of a deal and the state of their Slack Connect invitation.
class Contact(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("deal_id", "email"),
        UniqueConstraint("deal_id", "crm_contact_id", name="uq_contact_deal_id_crm_contact_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    deal_id: int = Field(foreign_key="deal.id", index=True)
    email: str | None = Field(default=None, max_length=254)  # None: listed, never invited
    first_name: str = Field(default="", max_length=100)
    last_name: str = Field(default="", max_length=100)
    crm_contact_id: str | None = Field(default=None, max_length=64)
    invite_state: InviteState = Field(default=InviteState.WAITING, sa_type=String(16))
    invite_id: str | None = Field(default=None, max_length=64)
    invite_error: str | None = Field(default=None, max_length=200)
    invited_at: datetime | None = None
    accepted_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


# A member of the care roster the engineer is picked from, with their backup.
class CareMember(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(max_length=32, unique=True)
    backup_user_id: str | None = Field(default=None, max_length=32)
    active: bool = True
    added_by: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(default_factory=utcnow)


# The one introduction of a deal; its lease lets exactly one worker run it at a time.
class Introduction(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    deal_id: int = Field(foreign_key="deal.id", unique=True)
    status: IntroStatus = Field(default=IntroStatus.PENDING, sa_type=String(16), index=True)
    late: bool = False
    source: str = Field(default="now", max_length=16)
    requested_by: str | None = Field(default=None, max_length=32)
    engineer_user_id: str | None = Field(default=None, max_length=32, index=True)
    backup_user_id: str | None = Field(default=None, max_length=32)
    ae_user_id: str | None = Field(default=None, max_length=32, index=True)
    channel_name: str | None = Field(default=None, max_length=80, unique=True)
    channel_id: str | None = Field(default=None, max_length=32, unique=True)
    welcome_ts: str | None = Field(default=None, max_length=32)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    next_attempt_at: datetime | None = None
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    last_prospect_message_at: datetime | None = None
    last_prospect_text: str | None = Field(default=None, max_length=300)


# Every stage change of a deal: what, when, and where it came from.
class StageChange(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    deal_id: int = Field(foreign_key="deal.id", index=True)
    from_stage: str = Field(default="", max_length=100)
    to_stage: str = Field(max_length=100)
    label: str = Field(default="", max_length=100)
    # What the stage was by the rules when it was reached ("open", "preclose", "won",
    # "lost"): a win the CRM declared under any name still counts as a win.
    kind: str = Field(default="", max_length=8)
    source: str = Field(max_length=32)
    actor: str | None = Field(default=None, max_length=64)
    effect: str = Field(default="", max_length=200)
    recorded_at: datetime = Field(default_factory=utcnow)


# What we keep about a person of our workspace: their settings and Slack timezone.
class Person(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(max_length=32, unique=True)
    reminders: bool = True
    tz: str | None = Field(default=None, max_length=64)
    tz_checked_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


# A CRM event as received (webhook, HubSpot, CSV), stored before we answer, run by the worker.
class CrmEvent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=16)
    dedupe_key: str = Field(max_length=300, unique=True)
    crm_id: str = Field(max_length=64, index=True)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime = Field(default_factory=utcnow)
    processed_at: datetime | None = Field(default=None, index=True)
    error: str | None = Field(default=None, max_length=500)


# A Slack event (Events API) as received; `event_id` makes Slack's retries harmless.
class SlackEvent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=64, unique=True)
    type: str = Field(max_length=64)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime = Field(default_factory=utcnow)
    processed_at: datetime | None = Field(default=None, index=True)
    error: str | None = Field(default=None, max_length=500)
    lease_owner: str | None = Field(default=None, max_length=64)  # the worker applying it


# One weekly reminder per person per ISO week ("2026-W48"): the unique pair is the guarantee.
class ReminderSent(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("user_id", "week"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(max_length=32)
    week: str = Field(max_length=10)
    claimed_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
    message_ts: str | None = Field(default=None, max_length=32)
    lease_owner: str | None = Field(default=None, max_length=64)  # the worker sending it


# A prospect's question waiting for our first reply; one per prospect message.
class ResponseClock(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("channel_id", "message_ts"),)

    id: int | None = Field(default=None, primary_key=True)
    introduction_id: int = Field(foreign_key="introduction.id", index=True)
    channel_id: str = Field(max_length=32)
    message_ts: str = Field(max_length=32)
    asker_user_id: str | None = Field(default=None, max_length=32)
    text_preview: str = Field(default="", max_length=300)
    started_at: datetime
    answered_at: datetime | None = Field(default=None, index=True)
    answered_by: str | None = Field(default=None, max_length=32)
    response_seconds: int | None = None
    engineer_alerted_at: datetime | None = None
    backup_alerted_at: datetime | None = None
    # Who is sending each alert; None once it is sent (or never claimed).
    engineer_alert_owner: str | None = Field(default=None, max_length=64)
    backup_alert_owner: str | None = Field(default=None, max_length=64)


# One row per step once it has started; `done_at` set means it never runs again.
class IntroductionStep(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("introduction_id", "step"),)

    id: int | None = Field(default=None, primary_key=True)
    introduction_id: int = Field(foreign_key="introduction.id", index=True)
    step: Step = Field(sa_type=String(16))
    started_at: datetime = Field(default_factory=utcnow)
    done_at: datetime | None = None
    detail: str | None = Field(default=None, max_length=500)


# A CRM connector's state, shared by every process: the poll's cursor, and whether the
# CRM accepts our credential (shown in /healthz, `status` and the admins' Home).
class Connector(SQLModel, table=True):
    name: str = Field(primary_key=True, max_length=32)  # "hubspot", "salesforce"
    state: str = Field(default="ok", max_length=16)  # "ok" or "failing"
    reason: str | None = Field(default=None, max_length=300)
    since: datetime = Field(default_factory=utcnow)  # when `state` last changed
    checked_at: datetime | None = None  # the last call that told us the state
    enabled_at: datetime = Field(default_factory=utcnow)  # the first poll starts here
    cursor: str | None = Field(default=None, max_length=64)  # the poll's high-water mark
    polled_at: datetime | None = None  # the last poll's claim: one poll per interval


# The one CRM write-back of an introduction (HubSpot note, Salesforce Task): an outbox
# row claimed like an introduction, so the note is written once whatever crashes.
class CrmWriteback(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    introduction_id: int = Field(foreign_key="introduction.id", unique=True)
    crm: str = Field(max_length=16)
    crm_deal_id: str = Field(max_length=64)
    state: str = Field(default="pending", max_length=16, index=True)
    external_id: str | None = Field(default=None, max_length=64)  # the note's or Task's id
    attempts: int = 0
    next_attempt_at: datetime | None = None
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = None
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow)
    done_at: datetime | None = None


# A live worker process: its heartbeat tells the others it still holds its leases.
class WorkerNode(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    host: str = Field(default="", max_length=128)
    pid: int = 0
    started_at: datetime = Field(default_factory=utcnow)
    heartbeat_at: datetime = Field(default_factory=utcnow, index=True)


class ArchiveState(StrEnum):
    """Where a lost deal's care channel stands (SPEC "After the introduction")."""

    LOST = "lost"  # the deal is lost: its engineer and AE are told, then it is archived
    ARCHIVED = "archived"
    REOPENED = "reopened"  # archived, and the deal came back: to be unarchived
    UNARCHIVED = "unarchived"
    BY_HAND = "by_hand"  # Slack would not let the bot unarchive it: people were told how
    CANCELLED = "cancelled"  # the deal came back before the archive
    FAILED = "failed"  # Slack refused the archive for good (`last_error`)


# The archive of one introduction's channel after its deal is lost, claimed by a worker
# node for each Slack call (`lease_owner`); `round` counts the losses, so a deal lost,
# reopened and lost again is told and archived again, never twice for the same loss.
class ChannelArchive(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    introduction_id: int = Field(foreign_key="introduction.id", unique=True)
    state: ArchiveState = Field(default=ArchiveState.LOST, sa_type=String(16), index=True)
    round: int = 1
    lost_at: datetime
    notice_sent_at: datetime | None = None  # the day-before DMs went out (or could not)
    archive_at: datetime | None = None  # set with the notice: the date the DMs named
    archived_at: datetime | None = None
    reopened_at: datetime | None = None
    unarchived_at: datetime | None = None
    checked_at: datetime | None = None  # BY_HAND: when Slack was last asked if it is back
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = None
    last_error: str | None = Field(default=None, max_length=200)
