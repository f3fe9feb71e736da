"""What a deal needs before it is introduced (SPEC "CRM connectors"): its AE, known as
soon as the deal is recorded, and a company name, without which a wanted introduction
waits (status `waiting`, never claimed) and goes ahead by itself once the name arrives.

The stage rules (`bot.flows.stages`), the CRM news (`bot.flows.crm_news`) and the slash
command call in here; the AE's one notice of what to add is `bot.flows.missing_notice`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from sqlmodel import Session

from bot.config import Settings
from bot.crm.records import ContactPerson, DealRecord
from bot.exceptions import UserError
from bot.flows.stage_kinds import LOST, PRECLOSE, WON, kind_of
from bot.models import Deal, IntroStatus, missing_for_introduction
from bot.parsing import normalise_email
from bot.store.contacts import add_people
from bot.store.introductions import (
    cancel_waiting,
    release_waiting,
    request_introduction,
    waiting_to_release,
)
from bot.templating import phrase

log = logging.getLogger(__name__)

LookupUser = Callable[[str], str | None]  # an email -> a Slack user id (the worker's cache)


def missing_words(deal: Deal) -> str:
    """What the deal waits for, as people read it ("company name")."""
    return ", ".join(phrase(f"readiness.missing.{m}") for m in missing_for_introduction(deal))


def recorded(
    session: Session,
    *,
    deal: Deal,
    record: DealRecord,
    settings: Settings,
    lookup_user: LookupUser | None,
) -> int:
    """A CRM record was upserted: merge its named contacts, settle the AE, and queue the
    introduction that waited for what this record brought. Returns 1 when it queued."""
    add_people(session, deal=deal, people=_people(record.people))
    resolve_ae(session, deal=deal, lookup_user=lookup_user)
    return int(release(session, deal=deal, settings=settings))


def resolve_ae(session: Session, *, deal: Deal, lookup_user: LookupUser | None) -> str | None:
    """The deal's AE: its CRM owner as a Slack user, else the one it has, else who
    registered it. A Slack call (through `lookup_user`): the worker's, never a listener's."""
    owner = lookup_user(deal.owner_email) if lookup_user and deal.owner_email else None
    ae = owner or deal.ae_user_id or deal.registered_by
    if ae != deal.ae_user_id:
        deal.ae_user_id = ae
        session.add(deal)
        session.flush()
    return ae


def registered_by_hand(session: Session, *, deal: Deal, user_id: str) -> None:
    """`now`, `watch`, the modal: the person who typed it is the AE, unless the worker
    already matched a CRM owner (and it may later)."""
    if not deal.ae_user_id and user_id:
        deal.ae_user_id = user_id
        session.add(deal)
        session.flush()


def release(session: Session, *, deal: Deal, settings: Settings) -> bool:
    """Queue the deal's waiting introduction now that nothing is missing: one asked for
    by a person (`now`, the modal, a reminder's button) whatever the stage, one a stage
    asked for while the deal is still watched at a pre-close (or won: late) stage."""
    if missing_for_introduction(deal):
        return False
    intro = waiting_to_release(session, deal_id=deal.id)
    stage = kind_of(deal, settings)
    if intro is None or stage == LOST:
        return False
    won = stage == WON
    if intro.source == "stage":
        watched = deal.watched or settings.auto_watch
        if not watched or not (won or stage == PRECLOSE):
            return False
    released = release_waiting(session, intro=intro, late=won and intro.source == "stage")
    if released:
        log.info("deal=%s has what it lacked; introduction queued", deal.crm_id)
    return released


def hold(
    session: Session, *, deal: Deal, settings: Settings, user_id: str | None
) -> tuple[str, bool] | None:
    """For a stage that wants an introduction: (words, queued) when readiness decides
    (the deal lacks something and waits, or a waiting one goes ahead); None otherwise."""
    won = kind_of(deal, settings) == WON
    if missing_for_introduction(deal):
        intro, _ = request_introduction(
            session, deal=deal, source="stage", requested_by=user_id, late=won
        )
        if intro.status != IntroStatus.WAITING:
            return None  # introduced before this rule: the stage rules decide
        return phrase("events.stage.waits", missing=missing_words(deal)), False
    if release(session, deal=deal, settings=settings):
        return phrase("events.stage.won_late" if won else "events.stage.starts"), True
    return None


def cancel_if_waiting(session: Session, *, deal: Deal) -> bool:
    """A lost deal's waiting introduction is cancelled, like one not started."""
    return cancel_waiting(session, deal_id=deal.id)


def _people(people: Iterable[ContactPerson]) -> list[ContactPerson]:
    """The CRM's contacts with their emails normalised; a malformed email is dropped
    (the person is still listed), as a webhook's bad contact is."""
    found = []
    for person in people:
        email = person.email
        if email:
            try:
                email = normalise_email(email)
            except UserError:
                email = None
        found.append(ContactPerson(email, person.first_name, person.last_name, person.crm_id))
    return found
