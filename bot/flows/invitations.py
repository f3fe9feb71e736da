"""Invitations nobody answers (SPEC step 5): stale after 7 days, with a re-send; and the
periodic task that keeps the Slack Connect queue moving.

Slack holds one pending invitation per channel and keeps it valid 14 days
(`date_invalid` in conversations.listConnectInvites); a bot can neither withdraw one
(Slack has no such method for bots) nor list them without `conversations.connect:manage`,
which the app does not ask for. So the rule is by time:

- 7 days unanswered: *stale*, shown in `status`, the AE's App Home and weekly reminder,
  with a "Re-send" button.
- Re-send while Slack still holds the first invitation: it cannot go yet; the contact is
  marked RESEND and sent a new invitation (a new `conversations.inviteShared`) once the
  first lapses. Re-send of an expired one puts the contact back in the queue (WAITING).
- 14 days after it was sent, an unanswered invitation has lapsed at Slack: the contact
  is marked EXPIRED (or re-invited, when a re-send was asked) and the next waiting
  contact is invited, so nobody behind it waits for ever.
- An invitation accepted but awaiting an admin's approval does not lapse by this rule
  (the contact said yes; the admins' answer comes as an event). Slack holds the channel
  for it meanwhile, so after a week `status` says the contacts behind it wait and the AE
  should ask the admins: nothing the bot can send would move it.

The task also invites contacts added after the introduction (`/introduce-care invite`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from bot.db import session_scope
from bot.ids import ActionId
from bot.models import Contact, Deal, InviteState, utcnow
from bot.store.contacts import (
    SLACK_VALID,
    STALE_AFTER,
    UNANSWERED,
    lapsed_invitations,
    move_invitation,
    queues_to_move,
)
from bot.templating import Message, phrase, render_internal
from bot.text import mask_email

log = logging.getLogger(__name__)

RETRY_SECONDS = 600.0  # a queue Slack still refuses (someone's pending invitation) waits


@dataclass(frozen=True)
class StaleInvite:
    """One invitation the AE may re-send."""

    contact_id: int
    email: str
    crm_id: str
    name: str  # the company, else the deal id
    days: int  # since it was sent
    expired: bool


def stale_invite(row: Any, *, now: datetime) -> StaleInvite:
    """From a digest row (`bot.store.reminders.DigestStreams.stale`)."""
    days = (now - row.invited_at).days if row.invited_at else 0
    return StaleInvite(
        contact_id=row.contact_id,
        email=row.email or "",
        crm_id=row.crm_id,
        name=row.company or row.crm_id,
        days=days,
        expired=row.invite_state == InviteState.EXPIRED,
    )


def stale_of(pairs: list[tuple[Contact, Deal]], *, now: datetime) -> list[StaleInvite]:
    """Stale invitations from (contact, deal) pairs (`bot.store.contacts.stale_invitations`)."""
    return [
        StaleInvite(
            contact_id=contact.id or 0,
            email=contact.email or "",
            crm_id=deal.crm_id,
            name=deal.company or deal.crm_id,
            days=(now - contact.invited_at).days if contact.invited_at else 0,
            expired=contact.invite_state == InviteState.EXPIRED,
        )
        for contact, deal in pairs
    ]


def is_stale(contact: Contact, *, now: datetime) -> bool:
    sent = contact.invited_at
    return contact.invite_state in UNANSWERED and sent is not None and now - sent >= STALE_AFTER


def state_words(contact: Contact, *, now: datetime) -> str:
    """How `status` and the Home say a contact's invitation state. An approval that has
    waited a week says so: Slack holds the channel's one invitation until an admin
    answers, so the contacts behind it wait, and only the AE can chase the admins."""
    if contact.invite_state == InviteState.SENT and is_stale(contact, now=now):
        assert contact.invited_at is not None
        return phrase("invitations.state.stale", days=(now - contact.invited_at).days)
    asked = contact.accepted_at or contact.invited_at
    if contact.invite_state == InviteState.APPROVAL and asked and now - asked >= STALE_AFTER:
        return phrase("invitations.state.approval_stale", days=(now - asked).days)
    return phrase(f"invitations.state.{InviteState(contact.invite_state).value}")


def stale_blocks(stale: list[StaleInvite]) -> list[dict[str, Any]]:
    """A heading, then each stale invitation with its "Re-send" button; [] for none."""
    if not stale:
        return []
    message = render_internal("internal/stale_invites.j2", stale=stale)
    heading, *lines = message.blocks
    label = phrase("invitations.resend_button")
    return [heading, *(_with_button(b, s, label) for b, s in zip(lines, stale, strict=True))]


def with_stale(message: Message, stale: list[StaleInvite]) -> list[dict[str, Any]]:
    """The message's blocks with the stale invitations first."""
    return [*stale_blocks(stale), *message.blocks]


def _with_button(block: dict[str, Any], stale: StaleInvite, label: str) -> dict[str, Any]:
    button = {
        "type": "button",
        "action_id": ActionId.RESEND_INVITE.value,
        "text": {"type": "plain_text", "text": label},
        "value": str(stale.contact_id),
    }
    return {**block, "block_id": f"{ActionId.RESEND_INVITE.value}:{stale.contact_id}",
            "accessory": button}  # fmt: skip


# --- the worker's periodic task -------------------------------------------------------


@dataclass
class InvitationQueue:
    """Lapsed invitations expire (or are re-sent), and queues with nobody pending move.

    `invite_next` is the introduction runner's `invite_next_contacts`. Safe from several
    workers: each transition is conditional, and Slack refuses a second pending
    invitation (`connection_limit_exceeded_pending`), which the queue treats as "wait".
    """

    engine: Engine
    invite_next: Callable[[int], str]
    now: Callable[[], datetime] = utcnow
    _refused: dict[int, float] = field(default_factory=dict)  # intro -> monotonic time

    def __call__(self) -> int:
        moved = self._expire_lapsed()
        with session_scope(self.engine) as session:
            queues = queues_to_move(session)
        done = 0
        for intro_id in queues:
            refused = self._refused.get(intro_id)
            if refused is not None and time.monotonic() - refused < RETRY_SECONDS:
                continue
            result = self.invite_next(intro_id)
            log.info("intro_id=%s invitations: %s", intro_id, result)
            with session_scope(self.engine) as session:
                if intro_id in queues_to_move(session):  # Slack still holds another one
                    self._refused[intro_id] = time.monotonic()
                else:
                    self._refused.pop(intro_id, None)
            done += 1
        return moved + done

    def _expire_lapsed(self) -> int:
        """Slack's invitation is past `date_invalid`: a re-send goes out, the rest expire."""
        moved = 0
        with session_scope(self.engine) as session:
            for contact in lapsed_invitations(session, sent_before=self.now() - SLACK_VALID):
                resend = contact.invite_state == InviteState.RESEND
                to = InviteState.WAITING if resend else InviteState.EXPIRED
                state = contact.invite_state
                if move_invitation(session, contact_id=contact.id, to=to, only=(state,)):
                    log.info("contact=%s invitation lapsed: %s", mask_email(contact.email), to)
                    moved += 1
        return moved
