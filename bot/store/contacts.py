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


def add_people(session: Session, *, deal: Deal, people: Iterable[ContactPerson]) -> list[Contact]:
    """Merge the contacts a CRM lists: one is known by its CRM id, else by its email; a
    known one gets the CRM's names (and email, when it had none). Returns the new ones."""
    known = list(contacts_of(session, deal_id=deal.id))
    added = []
    for person in people:
        contact = next((c for c in known if person.crm_id and c.crm_contact_id == person.crm_id),
                       None) or next((c for c in known if person.email and c.email == person.email),
                                     None)  # fmt: skip
        if contact is None:
            contact = Contact(deal_id=deal.id, email=person.email, crm_contact_id=person.crm_id)
            known.append(contact)
            added.append(contact)
        contact.first_name = person.first_name[:100] or contact.first_name
        contact.last_name = person.last_name[:100] or contact.last_name
        contact.crm_contact_id = contact.crm_contact_id or person.crm_id
        if contact.email is None and person.email:
            contact.email = person.email
        session.add(contact)
    session.flush()
    return added
