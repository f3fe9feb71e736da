"""A deal's prospect contacts and their Slack Connect invitation state."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.crm.records import ContactPerson
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


def add_people(session: Session, *, deal: Deal, people: Iterable[ContactPerson]) -> int:
    """Merge the contacts a CRM lists, keyed by its contact id (else by email): names are
    kept current, an email once given is kept, one without an email is listed, never
    invited. Returns how many were new."""
    known = list(contacts_of(session, deal_id=deal.id))
    by_crm = {c.crm_contact_id: c for c in known if c.crm_contact_id}
    by_email = {c.email: c for c in known if c.email}
    added = 0
    for person in people:
        contact = (by_crm.get(person.crm_id) if person.crm_id else None) or (
            by_email.get(person.email) if person.email else None
        )
        if contact is None:
            if not person.crm_id and not person.email:
                continue  # nothing to know them by again
            contact = Contact(deal_id=deal.id)
            added += 1
        if person.email and not contact.email and person.email not in by_email:
            contact.email = person.email
        contact.crm_contact_id = contact.crm_contact_id or person.crm_id
        contact.first_name = person.first_name or contact.first_name
        contact.last_name = person.last_name or contact.last_name
        session.add(contact)
        if contact.crm_contact_id:
            by_crm[contact.crm_contact_id] = contact
        if contact.email:
            by_email[contact.email] = contact
    session.flush()
    return added


def invitable(contacts: Iterable[Contact]) -> list[Contact]:
    """The contacts a Slack Connect invitation can go to: those with an email."""
    return [c for c in contacts if c.email]


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
