"""A lost deal's care channel: archived CARE_ARCHIVE_LOST_DAYS after the loss, its
engineer and AE told the day before; unarchived when the deal comes back (SPEC "After
the introduction"). The stage rules record the loss and the reopen (`on_stage`); a
worker task does the Slack calls.

Once each: a row is claimed by the worker node for each call (`bot.store.archives`), so
two workers never both act, and a killed one's claim is free as soon as its node falls
silent. A DM carries a marker (the row and the loss's round) looked for before sending,
so a crash after Slack posted it is not a second DM; archiving an archived channel is
success (`already_archived`), so a crash after Slack archived it is harmless.

Slack does not let a bot token unarchive a channel (its docs: "Bot tokens (xoxb-...)
cannot currently be used to unarchive conversations"; in practice `not_in_channel`). The
bot tries, and when Slack refuses it tells the engineer and AE how to unarchive the same
channel themselves, and `status` says so: never a second channel.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.db import session_scope
from bot.exceptions import SlackStepError
from bot.flows.stage_kinds import LOST
from bot.models import ArchiveState, ChannelArchive, Deal, Introduction, IntroStatus, utcnow
from bot.outages import log_failure
from bot.slack.client import call, dm_once, try_call
from bot.store import archives
from bot.store.introductions import introduction_of
from bot.templating import Message, render_internal

log = logging.getLogger(__name__)

NOTICE_KIND = "careintro_archive_notice"
BY_HAND_KIND = "careintro_unarchive_by_hand"
NOTICE_AHEAD = timedelta(days=1)  # "the engineer and AE are told the day before"
HISTORY_SCAN = 50
NO_CHANNEL_COMING = (IntroStatus.CANCELLED, IntroStatus.WAITING)


def on_stage(session: Session, *, deal: Deal, old_kind: str, new_kind: str, now: datetime) -> None:
    """Record a loss (the archive is scheduled) or a reopen (it is cancelled or undone)."""
    if (old_kind == LOST) == (new_kind == LOST):
        return
    intro = introduction_of(session, deal_id=deal.id)
    if intro is None or intro.id is None:
        return
    if new_kind != LOST:
        archives.record_reopened(session, intro_id=intro.id, now=now)
    elif intro.status not in NO_CHANNEL_COMING:
        archives.record_lost(session, intro_id=intro.id, now=now)


@dataclass(frozen=True)
class ArchiveView:
    """What `status` says of the channel: its state and the archive's date, if known."""

    state: str
    on: date | None = None
    reason: str | None = None


def view_of(
    session: Session, *, intro: Introduction | None, settings: Settings
) -> ArchiveView | None:
    """None when the channel is not concerned (never lost, or archiving is off and
    nothing was archived)."""
    row = archives.archive_of(session, intro_id=intro.id) if intro and intro.channel_id else None
    if row is None or row.state in (ArchiveState.CANCELLED, ArchiveState.UNARCHIVED):
        return None
    if row.state == ArchiveState.LOST:
        if not settings.archive_lost_days:
            return None
        when = row.archive_at or row.lost_at + timedelta(days=settings.archive_lost_days)
        return ArchiveView(row.state, when.date())
    return ArchiveView(row.state, (row.archived_at or row.lost_at).date(), row.last_error)


class ChannelArchives:
    """The worker task: notices, archives and unarchives that are due; one indexed query
    per kind when none is."""

    def __init__(
        self, engine: Engine, client: WebClient, settings: Settings, *, owner: str
    ) -> None:
        self.engine, self.client, self.settings, self.owner = engine, client, settings, owner
        self._actions = {
            archives.NOTICE: self._notice,
            archives.ARCHIVE: self._archive,
            archives.UNARCHIVE: self._unarchive,
            archives.CHECK: self._check,
        }

    def __call__(self, now: datetime | None = None) -> int:
        now = now or utcnow()
        days = self.settings.archive_lost_days
        notice_before = now - timedelta(days=days) + NOTICE_AHEAD if days else None
        with session_scope(self.engine) as session:
            due = archives.due(session, now=now, notice_before=notice_before)
        return sum(self._run(row_id, action, now, notice_before) for row_id, action in due)

    def _run(self, row_id: int, action: str, now: datetime, notice_before: datetime | None) -> int:
        """Claim the row for `action`, call Slack, record it; 0 when someone else had it."""
        with session_scope(self.engine) as session:
            row = archives.claim(
                session, archive_id=row_id, action=action, owner=self.owner, now=now,
                lease_seconds=self.settings.lease_seconds, notice_before=notice_before,
            )  # fmt: skip
            if row is None:
                return 0
            intro = session.get(Introduction, row.introduction_id)
            deal = session.get(Deal, intro.deal_id) if intro else None
        assert intro is not None and deal is not None
        try:
            settled = self._actions[action](row, intro, deal)
        except SlackStepError as exc:
            log_failure(log, exc, "intro_id=%s channel %s failed, retrying later: %s",
                        intro.id, action, exc)  # fmt: skip
            settled = False
        if not settled:  # Slack failed for now, or the loss changed meanwhile
            with session_scope(self.engine) as session:
                archives.release(session, archive_id=row.id, owner=self.owner)
            return 0
        log.info("intro_id=%s channel=%s %s done", intro.id, intro.channel_id, action)
        return 1

    def _notice(self, row: ChannelArchive, intro: Introduction, deal: Deal) -> bool:
        """DM the engineer and AE the date; a DM Slack refuses for good is not retried."""
        now = utcnow()
        archive_at = max(row.lost_at + timedelta(days=self.settings.archive_lost_days),
                         now + NOTICE_AHEAD)  # fmt: skip
        message = render_internal("internal/archive_notice.j2", deal=deal,
                                  channel_id=intro.channel_id, on=archive_at.date())  # fmt: skip
        error = self._tell(row, intro, deal, NOTICE_KIND, message)
        with session_scope(self.engine) as session:
            return archives.notice_sent(session, row=row, owner=self.owner, now=now,
                                        archive_at=archive_at, error=error)  # fmt: skip

    def _archive(self, row: ChannelArchive, intro: Introduction, deal: Deal) -> bool:
        try:
            try_call(
                "archive",
                self.client.conversations_archive,
                ok_errors=frozenset({"already_archived"}),
                channel=intro.channel_id,
            )
            error = None
        except SlackStepError as exc:
            if not exc.permanent:
                raise
            error = exc.error
            log.warning("intro_id=%s channel not archived: %s", intro.id, exc.error)
        with session_scope(self.engine) as session:
            return archives.archived(session, row=row, owner=self.owner, now=utcnow(), error=error)

    def _unarchive(self, row: ChannelArchive, intro: Introduction, deal: Deal) -> bool:
        """Try; when Slack refuses (bot tokens cannot unarchive), tell people how."""
        refused: str | None = None
        try:
            try_call(
                "unarchive",
                self.client.conversations_unarchive,
                ok_errors=frozenset({"not_archived"}),
                channel=intro.channel_id,
            )
        except SlackStepError as exc:
            if not exc.permanent:
                raise
            refused = exc.error
        if not refused:
            self._rejoin_quietly(intro, {"is_member": True})
        else:
            message = render_internal("internal/unarchive_by_hand.j2", deal=deal,
                                      channel_id=intro.channel_id, error=refused)  # fmt: skip
            self._tell(row, intro, deal, BY_HAND_KIND, message)
        with session_scope(self.engine) as session:
            return archives.unarchived(session, row=row, owner=self.owner, now=utcnow(),
                                       by_hand=refused)  # fmt: skip

    def _check(self, row: ChannelArchive, intro: Introduction, deal: Deal) -> bool:
        """Left for people to unarchive: is it back? Asked again after CHECK_EVERY while
        not (or while Slack will not say). Slack does not restore a public channel's
        members, so the bot joins it and invites the care team again."""
        try:
            found = call("check", self.client.conversations_info, channel=intro.channel_id)
        except SlackStepError as exc:
            if not exc.permanent:
                raise
            log.warning("intro_id=%s archived channel not checked: %s", intro.id, exc)
            found = {"channel": {"is_archived": True}}
        back = not found["channel"].get("is_archived")
        if back:
            self._rejoin_quietly(intro, found["channel"])
        with session_scope(self.engine) as session:
            return archives.checked(session, row=row, owner=self.owner, now=utcnow(), back=back)

    def _rejoin_quietly(self, intro: Introduction, channel: dict[str, Any]) -> None:
        """`_rejoin`, a refusal for good logged: the channel is back all the same."""
        try:
            self._rejoin(intro, channel)
        except SlackStepError as exc:
            if not exc.permanent:
                raise
            log.warning("intro_id=%s unarchived channel: %s", intro.id, exc)

    def _rejoin(self, intro: Introduction, channel: dict[str, Any]) -> None:
        if not channel.get("is_member"):
            call("rejoin", self.client.conversations_join, channel=intro.channel_id)
        team = (intro.engineer_user_id, intro.backup_user_id, intro.ae_user_id)
        members = call("rejoin", self.client.conversations_members,
                       channel=intro.channel_id, limit=1000)["members"]  # fmt: skip
        missing = [u for u in dict.fromkeys(team) if u and u not in members]
        if missing:
            try_call("rejoin", self.client.conversations_invite,
                     ok_errors=frozenset({"already_in_channel"}), channel=intro.channel_id,
                     users=",".join(missing))  # fmt: skip

    def _tell(
        self, row: ChannelArchive, intro: Introduction, deal: Deal, kind: str, message: Message
    ) -> str | None:
        """DM the engineer and the AE once each; the error of one Slack refused for good."""
        error = None
        marker = {"archive_id": row.id, "round": row.round}
        for person in dict.fromkeys(p for p in (intro.engineer_user_id, intro.ae_user_id or
                                                deal.ae_user_id) if p):  # fmt: skip
            try:
                self._dm_once(person, kind, marker, message)
            except SlackStepError as exc:
                if not exc.permanent:
                    raise
                error = f"{person}: {exc.error}"
                log.warning("intro_id=%s %s not sent to user=%s: %s", intro.id, kind, person,
                            exc.error)  # fmt: skip
        return error

    def _dm_once(self, person: str, kind: str, marker: dict[str, Any], message: Message) -> None:
        dm_once(kind, self.client, person, text=message.text, blocks=message.blocks,
                event_type=kind, marker=marker, limit=HISTORY_SCAN)  # fmt: skip
