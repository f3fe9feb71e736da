"""The CRM write-back: when an introduction is done, one note on its CRM deal (a HubSpot
note, a Salesforce Task).

`queue_for` is called by the introduction runner in the transaction that ends the
introduction (`CARE_CRM_WRITEBACK`, and only for a deal whose source has a connector).
`WritebackTask` is the worker task that writes them: claimed with a lease
(`store.writebacks`), rendered from `templates/internal/crm_note.j2`, written through
the deal's connector. Exactly once, whatever crashes: a resumed attempt (any claim
after the first) first looks for a note carrying this introduction's marker, so a note
created by an attempt that never learned its id is recorded, not made again.
A connector refusing our credential pauses the write-backs until it works again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.crm.connector import ConnectorUnavailable
from bot.db import session_scope
from bot.exceptions import SlackStepError
from bot.flows.introduction.people import PROFILE_TTL_SECONDS
from bot.models import CrmWriteback, Deal, Introduction, InviteState, utcnow
from bot.slack.client import try_call
from bot.store import writebacks
from bot.store.contacts import contacts_of
from bot.templating import render_html, render_text

log = logging.getLogger(__name__)
BATCH = 20
PAUSE_SECONDS = 60  # how long a refused credential holds a write-back
SENT = (InviteState.SENDING, InviteState.SENT, InviteState.ACCEPTED)

# The sources whose deals are written back, and whether their connector is on.
CONNECTED: dict[str, Callable[[Settings], bool]] = {
    "hubspot": lambda settings: bool(settings.hubspot_access_token),
    "salesforce": lambda settings: bool(settings.salesforce_instance_url),
}
# How each CRM's note is rendered: a HubSpot note holds HTML, a Salesforce Task plain
# text (its first line is the Task's Subject).
NOTE_FORMATS: dict[str, tuple[str, Callable[..., str]]] = {
    "hubspot": ("internal/crm_note.j2", render_html),
    "salesforce": ("internal/crm_task.j2", render_text),
}


@runtime_checkable
class NoteWriter(Protocol):
    """What a connector needs to write an introduction back to its CRM."""

    def find_note(self, crm_deal_id: str, marker: str) -> str | None: ...

    def create_note(self, crm_deal_id: str, *, body: str, at: datetime) -> str: ...


def marker(intro_id: int | None, crm_deal_id: str) -> str:
    """What identifies this introduction's note on the deal."""
    return f"careintro-introduction-{intro_id}-deal-{crm_deal_id}"


def queue_for(session: Session, *, intro: Introduction, settings: Settings) -> bool:
    """Queue the write-back of a finished introduction, when it is wanted."""
    deal = session.get(Deal, intro.deal_id)
    connected = CONNECTED.get(deal.source if deal else "")
    if deal is None or intro.id is None or not settings.crm_writeback or connected is None:
        return False
    if not connected(settings):
        return False
    return writebacks.queue_writeback(
        session, introduction_id=intro.id, crm=deal.source, crm_deal_id=deal.crm_id,
        now=utcnow(),
    )  # fmt: skip


class WritebackTask:
    """A worker task: writes the due write-backs; returns how many it settled."""

    def __init__(
        self, engine: Engine, client: WebClient, connectors: Mapping[str, NoteWriter], *,
        owner: str, lease_seconds: float, retry_seconds: float = 30.0,
        pause_seconds: float = PAUSE_SECONDS,
    ) -> None:  # fmt: skip
        self.engine, self.client, self.connectors = engine, client, connectors
        self.owner, self.lease_seconds = owner, lease_seconds
        self.retry_seconds, self.pause_seconds = retry_seconds, pause_seconds
        # People's names, kept as long as an introduction keeps a profile: the same
        # few engineers sign most notes (one users.info each, not two per note).
        self._names: dict[str, tuple[float, str]] = {}

    def __call__(self) -> int:
        with session_scope(self.engine) as session:
            due = writebacks.due_writebacks(session, now=utcnow(), limit=BATCH)
        settled = 0
        for writeback_id in due:
            with session_scope(self.engine) as session:
                row = writebacks.claim_writeback(
                    session, writeback_id=writeback_id, owner=self.owner, now=utcnow(),
                    lease_seconds=self.lease_seconds,
                )  # fmt: skip
            if row is None:
                continue
            outcome = self._write(row, self._note(row))
            if outcome == "paused":
                break  # the CRM refuses us: the others would be refused too
            settled += outcome == "done"
        return settled

    def _note(self, row: CrmWriteback) -> str:
        """The note's HTML; the people's names are asked of Slack outside the session."""
        with session_scope(self.engine) as session:
            intro = session.get(Introduction, row.introduction_id)
            assert intro is not None  # the write-back row's foreign key
            deal = session.get(Deal, intro.deal_id)
            assert deal is not None
            invited = [
                _invitee(c.first_name, c.last_name, c.email)
                for c in contacts_of(session, deal_id=deal.id)
                if c.invite_state in SENT
            ]
        template, render = NOTE_FORMATS.get(row.crm, NOTE_FORMATS["hubspot"])
        return render(
            template,
            company=deal.company or deal.crm_id,
            engineer=self._name(intro.engineer_user_id),
            backup=self._name(intro.backup_user_id) if intro.backup_user_id else None,
            channel_name=intro.channel_name or "",
            channel_url=channel_url(intro.channel_id),
            invitations=invited,
            marker=marker(intro.id, row.crm_deal_id),
        )

    def _name(self, user_id: str | None) -> str:
        """The person's name as Slack has it (their id when Slack cannot say), kept for
        PROFILE_TTL_SECONDS."""
        if not user_id:
            return "?"
        cached = self._names.get(user_id)
        if cached is not None and time.monotonic() - cached[0] < PROFILE_TTL_SECONDS:
            return cached[1]
        try:
            answer = try_call(
                "writeback", self.client.users_info, ok_errors=frozenset({"user_not_found"}),
                user=user_id,
            )  # fmt: skip
        except SlackStepError:
            return user_id
        user = {} if isinstance(answer, str) else answer["user"]
        profile = user.get("profile") or {}
        name = profile.get("real_name") or user.get("real_name") or user.get("name") or user_id
        self._names[user_id] = (time.monotonic(), name)
        return name

    def _write(self, row: CrmWriteback, body: str) -> str:
        """Write the note (found again when resumed); settle the row; say how it went."""
        connector = self.connectors.get(row.crm)
        if connector is None:
            return self._retry(row, f"no {row.crm} connector in this process")
        label = marker(row.introduction_id, row.crm_deal_id)
        try:
            note_id = connector.find_note(row.crm_deal_id, label) if row.attempts > 1 else None
            if note_id is None:
                note_id = connector.create_note(row.crm_deal_id, body=body, at=utcnow())
        except ConnectorUnavailable as exc:
            if exc.credential or exc.held:  # nothing was written: wait, uncounted
                with session_scope(self.engine) as session:
                    writebacks.pause(
                        session, writeback_id=row.id, owner=self.owner,
                        until=utcnow() + timedelta(seconds=self.pause_seconds), reason=exc.reason,
                    )  # fmt: skip
                return "paused"
            return self._retry(row, exc.reason)
        with session_scope(self.engine) as session:
            writebacks.settle_done(
                session, writeback_id=row.id, owner=self.owner, external_id=note_id, now=utcnow()
            )
        log.info("intro_id=%s crm=%s note=%s written back", row.introduction_id, row.crm, note_id)
        return "done"

    def _retry(self, row: CrmWriteback, error: str) -> str:
        with session_scope(self.engine) as session:
            state = writebacks.retry_later(
                session, writeback_id=row.id, owner=self.owner, attempts=row.attempts,
                error=error, now=utcnow(), first_wait_seconds=self.retry_seconds,
            )  # fmt: skip
        log.warning("intro_id=%s write-back %s: %s", row.introduction_id, state, error)
        return state


def channel_url(channel_id: str | None) -> str | None:
    """A link that opens the channel in Slack, whichever workspace domain it has."""
    return f"https://slack.com/app_redirect?channel={channel_id}" if channel_id else None


def _invitee(first: str, last: str, email: str | None) -> str:
    name = " ".join(p for p in (first, last) if p)
    return f"{name} <{email}>" if name and email else name or email or "?"
