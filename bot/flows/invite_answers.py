"""What the other side answered to a Slack Connect invitation (SPEC step 5), from the
`shared_channel_invite_*` events: accepted, accepted but awaiting an admin's approval,
approved, declined.

Each answer is one conditional transition of the contact's state, so an event applied
twice (Slack's retries, a claim taken over) changes nothing; the DMs about it carry the
contact and state in their metadata and are found again before being sent, so a crash
between recording the answer and telling people tells them once, not never or twice.
Accepted-and-approved and declined free the channel's one pending invitation: the next
waiting contact is invited at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlmodel import Session

from bot.db import session_scope
from bot.flows.home import HomeRefresh
from bot.models import Contact, Deal, Introduction, InviteState, utcnow
from bot.slack.client import dm_once
from bot.store.contacts import accept_invitation, contacts_of, move_invitation
from bot.store.slack_events import introduction_in_channel
from bot.templating import render_internal
from bot.text import mask_email

log = logging.getLogger(__name__)

# Where an invitation can be when its answer comes (SENDING: sent, not yet recorded).
ASKED = (InviteState.SENDING, InviteState.SENT, InviteState.RESEND)


@dataclass
class InviteAnswers:
    """`invite_next` is the introduction runner's `invite_next_contacts`."""

    engine: Engine
    client: WebClient
    homes: HomeRefresh
    invite_next: Callable[[int], str]

    def handle(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "shared_channel_invite_accepted" and event.get("approval_required"):
            self._answered(event, InviteState.APPROVAL)
        elif kind in ("shared_channel_invite_accepted", "shared_channel_invite_approved"):
            self._answered(event, InviteState.ACCEPTED)
        elif kind == "shared_channel_invite_declined":
            self._answered(event, InviteState.DECLINED)

    def _answered(self, event: dict[str, Any], state: InviteState) -> None:
        invite = event.get("invite") or {}
        channel_id = (event.get("channel") or {}).get("id") or invite.get("channel_id") or ""
        with session_scope(self.engine) as session:
            intro = introduction_in_channel(session, channel_id=channel_id)
            if intro is None:
                log.info("channel=%s invite answered outside a care channel", channel_id)
                return
            contact = answered_contact(session, intro, invite)
            if contact is None:
                log.info("channel=%s invite %s matches no contact", channel_id, invite.get("id"))
                return
            # Already there: this answer was applied before and a crash may have come
            # before anyone was told; telling is once per contact and state, so go on.
            if not _record(session, contact, state) and contact.invite_state != state:
                return
            deal = session.get(Deal, intro.deal_id)
        log.info("deal=%s %s %s", deal and deal.crm_id, mask_email(contact.email), state.value)
        if state != InviteState.APPROVAL:
            result = self.invite_next(intro.id or 0)
            log.info("intro_id=%s next invitations: %s", intro.id, result)
            self._tell(intro, deal, contact, channel_id, state)
        self.homes.publish_for_introduction(intro.id)

    def _tell(
        self,
        intro: Introduction,
        deal: Deal | None,
        contact: Contact,
        channel_id: str,
        state: InviteState,
    ) -> None:
        """Accepted: the AE and the engineer; declined: the AE (SPEC step 5)."""
        with session_scope(self.engine) as session:
            sent_next = [
                c.email
                for c in contacts_of(session, deal_id=intro.deal_id)
                if c.invite_state == InviteState.SENT
            ]
        template = "internal/invite_accepted.j2"
        people = [intro.ae_user_id, intro.engineer_user_id]
        if state == InviteState.DECLINED:
            template, people = (
                "internal/invite_declined.j2",
                [intro.ae_user_id or intro.requested_by],
            )
        message = render_internal(
            template, deal=deal, email=contact.email, channel_id=channel_id, next_emails=sent_next
        )
        marker = {"contact_id": contact.id, "state": state.value}
        for person in dict.fromkeys(p for p in people if p):
            dm_once(state.value, self.client, person, text=message.text, blocks=message.blocks,
                    event_type="careintro_invite_answer", marker=marker)  # fmt: skip


def _record(session: Session, contact: Contact, state: InviteState) -> bool:
    """The transition, if the contact is where this answer can come from."""
    if state == InviteState.ACCEPTED:  # accepted, or approved after "awaiting approval"
        return accept_invitation(session, contact_id=contact.id, now=utcnow())
    if state == InviteState.APPROVAL:  # the contact said yes: since then, the admins
        return move_invitation(
            session, contact_id=contact.id, to=state, only=ASKED, accepted_at=utcnow()
        )
    return move_invitation(
        session, contact_id=contact.id, to=state, only=(*ASKED, InviteState.APPROVAL)
    )


def answered_contact(
    session: Session, intro: Introduction, invite: dict[str, Any]
) -> Contact | None:
    """By invitation id, else by the invited email."""
    contacts = contacts_of(session, deal_id=intro.deal_id)
    invite_id = invite.get("id")
    email = str(invite.get("recipient_email") or "").lower()
    return next((c for c in contacts if invite_id and c.invite_id == invite_id), None) or next(
        (c for c in contacts if email and c.email and c.email.lower() == email), None
    )
