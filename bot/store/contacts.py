"""A deal's prospect contacts and their Slack Connect invitation state."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, update
from sqlmodel import Session, col, select

from bot.crm.records import ContactPerson
from bot.models import Contact, Deal, Introduction, IntroStatus, InviteState

# The states that hold a channel's one pending Slack Connect invitation (SPEC step 5).
HOLDING = (InviteState.SENT, InviteState.APPROVAL, InviteState.RESEND)
UNANSWERED = (InviteState.SENT, InviteState.RESEND)
STALE_AFTER = timedelta(days=7)  # unanswered this long: shown stale, with a re-send (SPEC)
# Slack keeps a Connect invitation valid 14 days (`date_invalid`); ours is recorded after
# Slack created it, so 14 days after `invited_at` Slack's has lapsed for sure.
SLACK_VALID = timedelta(days=14)


def stale_or_expired(*, sent_before: datetime) -> ColumnElement[bool]:
    """An invitation the AE may re-send: unanswered since before `sent_before`, or lapsed."""
    return or_(
        and_(
            col(Contact.invite_state).in_(UNANSWERED),
            col(Contact.invited_at) <= sent_before,
        ),
        col(Contact.invite_state) == InviteState.EXPIRED,
    )


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
    return move_invitation(
        session,
        contact_id=contact_id,
        to=InviteState.ACCEPTED,
        unless=(InviteState.ACCEPTED,),
        accepted_at=now,
        invite_error=None,
    )


def move_invitation(
    session: Session,
    *,
    contact_id: int | None,
    to: InviteState,
    only: Sequence[InviteState] = (),
    unless: Sequence[InviteState] = (),
    **values: object,
) -> bool:
    """One conditional transition (from `only`, or from anything but `unless`): False when
    the contact was elsewhere already, so an event applied twice changes nothing."""
    statement = update(Contact).where(col(Contact.id) == contact_id)
    if only:
        statement = statement.where(col(Contact.invite_state).in_(only))
    if unless:
        statement = statement.where(col(Contact.invite_state).not_in(unless))
    moved = session.execute(statement.values(invite_state=to, **values))
    return moved.rowcount == 1  # type: ignore[attr-defined,no-any-return]


def lapsed_invitations(session: Session, *, sent_before: datetime) -> Sequence[Contact]:
    """Unanswered invitations sent before `sent_before` (Slack's has lapsed by then)."""
    return session.exec(
        select(Contact)
        .where(col(Contact.invite_state).in_(UNANSWERED))
        .where(col(Contact.invited_at) <= sent_before)
        .order_by(Contact.id)
    ).all()


def queues_to_move(session: Session) -> list[int]:
    """Done introductions with a contact waiting and none pending: added after the
    introduction (`invite`), re-sent, or behind an invitation that lapsed."""
    holding = select(Contact.deal_id).where(col(Contact.invite_state).in_(HOLDING))
    rows = session.exec(
        select(Introduction.id)
        .join(Contact, col(Contact.deal_id) == Introduction.deal_id)
        .where(Introduction.status == IntroStatus.DONE)
        .where(col(Introduction.channel_id).is_not(None))
        .where(Contact.invite_state == InviteState.WAITING)
        .where(col(Contact.email).is_not(None))
        .where(col(Contact.deal_id).not_in(holding))
        .distinct()
    ).all()
    return [row for row in rows if row is not None]


def contact_by_id(session: Session, *, contact_id: int) -> Contact | None:
    return session.get(Contact, contact_id)


def stale_invitations(
    session: Session, *, deal_ids: Iterable[int | None], sent_before: datetime
) -> list[tuple[Contact, Deal]]:
    """The deals' stale or expired invitations, oldest deal first."""
    ids = [i for i in deal_ids if i is not None]
    if not ids:
        return []
    rows = session.exec(
        select(Contact, Deal)
        .join(Deal, col(Deal.id) == Contact.deal_id)
        .where(col(Contact.deal_id).in_(ids))
        .where(col(Contact.email).is_not(None))
        .where(stale_or_expired(sent_before=sent_before))
        .order_by(Contact.deal_id, Contact.id)
    ).all()
    return [(contact, deal) for contact, deal in rows]
