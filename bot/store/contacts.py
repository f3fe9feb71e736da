"""A deal's prospect contacts and their Slack Connect invitation state."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.models import Contact, Deal, InviteState


def add_contacts(session: Session, *, deal: Deal, emails: Iterable[str]) -> list[Contact]:
    """Add the new addresses (already validated and normalised); known ones are kept."""
    known = {c.email for c in contacts_of(session, deal_id=deal.id)}
    added = []
    for email in emails:
        if email not in known:
            contact = Contact(deal_id=deal.id, email=email)
            session.add(contact)
            known.add(email)
            added.append(contact)
    session.flush()
    return added


def contacts_of(session: Session, *, deal_id: int | None) -> Sequence[Contact]:
    return session.exec(
        select(Contact).where(Contact.deal_id == deal_id).order_by(Contact.id)
    ).all()


def accept_invitation(session: Session, *, contact_id: int | None, now: datetime) -> bool:
    """Mark the contact accepted; False when it was already (the event came twice)."""
    first = session.execute(
        update(Contact)
        .where(col(Contact.id) == contact_id)
        .where(col(Contact.invite_state) != InviteState.ACCEPTED)
        .values(invite_state=InviteState.ACCEPTED, accepted_at=now, invite_error=None)
    )
    return first.rowcount == 1  # type: ignore[attr-defined,no-any-return]
