"""What each `/introduce-care` command does, given a database session.

Only quick local reads and writes happen here (the listener answers within Slack's
3 seconds); everything that calls Slack happens later in the worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from bot import slash_grammar as c
from bot.config import Settings
from bot.crm.records import ContactPerson
from bot.exceptions import UsageError, UserError
from bot.flows import archive, invitations, readiness, stages
from bot.flows.invitations import stale_blocks, stale_of
from bot.flows.response_watch import questions_of
from bot.ids import Field
from bot.models import STEPS, Deal, Introduction, IntroStatus, missing_for_introduction, utcnow
from bot.parsing import MAX_CONTACTS, MAX_NOTES
from bot.store.connectors import failing
from bot.store.contacts import (
    STALE_AFTER,
    add_contacts,
    add_people,
    contacts_of,
    stale_invitations,
)
from bot.store.deals import deals_for_user, get_deal, upsert_deal
from bot.store.introductions import (
    introduction_of,
    open_introduction_counts,
    request_introduction,
    steps_of,
)
from bot.store.people import set_reminders
from bot.store.roster import active_members, add_member, remove_member
from bot.templating import phrase, render_internal


@dataclass
class Reply:
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    queued: bool = False  # work was recorded for the worker
    waiting: bool = False  # recorded, but the deal lacks what an introduction needs


STEP_NAMES = tuple(step.value for step in STEPS)  # the order `status` lists them in
MAX_STALE = 10  # stale invitations `status` lists, each a section with its button


def handle(session: Session, *, command: c.Command, user_id: str, settings: Settings) -> Reply:
    match command:
        case c.Help():
            message = render_internal("internal/help.j2")
            return Reply(message.text, message.blocks)
        case c.Introduce():
            return introduce(session, request=command, user_id=user_id, settings=settings)
        case c.Invite():
            return invite(session, request=command)
        case c.SetStage(deal_id=deal_id, stage=stage):
            return set_stage(
                session, crm_id=deal_id, stage=stage, user_id=user_id, settings=settings
            )
        case c.Status(deal_id=deal_id):
            return status(session, crm_id=deal_id, user_id=user_id, settings=settings)
        case c.Unwatch(deal_id=deal_id):
            deal = _known_deal(session, deal_id)
            deal.watched = False
            session.add(deal)
            return Reply(phrase("slash.unwatched", crm_id=deal_id))
        case c.TeamAdd() | c.TeamRemove():
            return team_change(session, command=command, user_id=user_id, settings=settings)
        case c.TeamList():
            return team_list(session)
        case c.Reminders(on=on):
            set_reminders(session, user_id=user_id, on=on)
            return Reply(phrase("slash.reminders_on" if on else "slash.reminders_off"))
    raise UsageError(phrase("usage.unknown_command"))


def introduce(
    session: Session, *, request: c.Introduce, user_id: str, settings: Settings, notes: str = ""
) -> Reply:
    """`now` and `watch` (and the modal): record the deal; `now` queues the introduction."""
    if not request.engineer and not active_members(session):
        existing = get_deal(session, crm_id=request.deal_id)
        if not (existing and (existing.engineer_user_id or existing.engineer_email)):
            raise UsageError(phrase("slash.roster_empty"), about=Field.ENGINEER)
    is_new = get_deal(session, crm_id=request.deal_id) is None
    deal = upsert_deal(
        session,
        crm_id=request.deal_id,
        company=request.company,
        engineer_user_id=request.engineer,
        notes=notes[:MAX_NOTES],
        registered_by=user_id if is_new else None,
        watched=True if request.mode == "watch" else None,
    )
    if deal.registered_by is None:
        deal.registered_by = user_id
    add_contacts(session, deal=deal, emails=request.contacts)
    readiness.registered_by_hand(session, deal=deal, user_id=user_id)
    name = deal.company or deal.crm_id
    if request.mode == "watch":
        return _watch(session, deal=deal, name=name, user_id=user_id, settings=settings)
    intro, queued = request_introduction(session, deal=deal, source="now", requested_by=user_id)
    if intro.status == IntroStatus.WAITING:
        return _waiting("slash.now_waiting", deal)
    if not queued:
        return Reply(_already(intro, name, deal.crm_id))
    return Reply(phrase("slash.introducing", name=name, crm_id=deal.crm_id), queued=True)


def _watch(session: Session, *, deal: Deal, name: str, user_id: str, settings: Settings) -> Reply:
    """`watch`: the introduction that waited goes ahead, or the current stage may start one."""
    if readiness.release(session, deal=deal, settings=settings):
        return Reply(phrase("slash.introducing", name=name, crm_id=deal.crm_id), queued=True)
    intro = stages.apply_current_stage(session, deal=deal, settings=settings, user_id=user_id)
    if intro is not None:
        return Reply(phrase("slash.watching_started", name=name, crm_id=deal.crm_id), queued=True)
    if missing_for_introduction(deal):
        return _waiting("slash.watch_waiting", deal)
    return Reply(phrase("slash.watching", name=name, crm_id=deal.crm_id))


def _waiting(key: str, deal: Deal) -> Reply:
    """Recorded, and what the deal still needs before its introduction (SPEC)."""
    return Reply(phrase(key, crm_id=deal.crm_id), waiting=True)


def _already(intro: Introduction, name: str, crm_id: str) -> str:
    if intro.status == IntroStatus.DONE:
        return phrase(
            "slash.already_introduced", name=name, crm_id=crm_id, channel_id=intro.channel_id
        )
    return phrase("slash.already_under_way", name=name, crm_id=crm_id)


def invite(session: Session, *, request: c.Invite) -> Reply:
    """`invite`: the contacts are the deal's; an introduction that is done invites them
    (the worker's invitation queue, one pending at a time); one still to come will."""
    deal = _known_deal(session, request.deal_id)
    emails = {contact.email for contact in contacts_of(session, deal_id=deal.id)}
    known = [e for e in request.emails if e in emails]
    new = [e for e in request.emails if e not in emails]
    name = deal.company or deal.crm_id
    if not new:
        return Reply(phrase("slash.invite_nothing_new", known=known, name=name, crm_id=deal.crm_id))
    if len(emails) + len(new) > MAX_CONTACTS:
        raise UsageError(phrase("usage.too_many_contacts", max=MAX_CONTACTS))
    add_people(session, deal=deal, people=[ContactPerson(email=e) for e in new])
    added = phrase("slash.invite_added", emails=new, known=known, name=name, crm_id=deal.crm_id)
    intro = introduction_of(session, deal_id=deal.id)
    if intro is None or intro.status == IntroStatus.WAITING:
        return Reply(f"{added} {phrase('slash.invite_not_introduced')}")
    if intro.status in (IntroStatus.PENDING, IntroStatus.RUNNING):
        return Reply(f"{added} {phrase('slash.invite_by_introduction')}", queued=True)
    if intro.status != IntroStatus.DONE:
        return Reply(f"{added} {phrase('slash.invite_stopped', status=intro.status.value)}")
    return Reply(f"{added} {phrase('slash.invite_queued', crm_id=deal.crm_id)}", queued=True)


def set_stage(
    session: Session, *, crm_id: str, stage: str, user_id: str, settings: Settings
) -> Reply:
    deal = _known_deal(session, crm_id)
    outcome = stages.record_stage(
        session, deal=deal, label=stage, source="slash", settings=settings, user_id=user_id
    )
    text = phrase(
        "slash.stage_set",
        name=deal.company or deal.crm_id,
        crm_id=crm_id,
        stage=stage,
        effect=outcome.message,
    )
    return Reply(text, queued=outcome.queued)


def status(
    session: Session, *, crm_id: str | None, user_id: str, settings: Settings | None = None
) -> Reply:
    """One deal in detail, or the caller's deals; `settings` (the app's) date the archive."""
    connectors = failing(session)  # a CRM refusing our credential: one line at the top
    if crm_id is None:
        rows = deals_for_user(session, user_id=user_id)
        message = render_internal("internal/status_list.j2", rows=rows, connectors=connectors)
        return Reply(message.text, [*message.blocks, *_stale(session, [r.deal_id for r in rows])])
    deal = _known_deal(session, crm_id)
    intro = introduction_of(session, deal_id=deal.id)
    contacts = contacts_of(session, deal_id=deal.id)
    now = utcnow()
    message = render_internal(
        "internal/status.j2",
        connectors=connectors,
        missing=readiness.missing_words(deal) if _not_started(intro) else "",
        deal=deal,
        intro=intro,
        steps=steps_of(session, intro_id=intro.id) if intro else {},
        step_names=STEP_NAMES,
        contacts=contacts,
        states={c.id: invitations.state_words(c, now=now) for c in contacts},
        history=stages.history_of(session, deal=deal),
        questions=questions_of(session, intro_id=intro.id) if intro else None,
        archive=archive.view_of(session, intro=intro, settings=settings) if settings else None,
    )
    return Reply(message.text, [*message.blocks, *_stale(session, [deal.id])])


def _stale(session: Session, deal_ids: list[int | None]) -> list[dict[str, Any]]:
    """The deals' invitations nobody accepted in 7 days, each with its re-send button."""
    now = utcnow()
    stale = stale_invitations(session, deal_ids=deal_ids, sent_before=now - STALE_AFTER)
    return stale_blocks(stale_of(stale[:MAX_STALE], now=now))


def _not_started(intro: Introduction | None) -> bool:
    return intro is None or intro.status == IntroStatus.WAITING


def team_change(
    session: Session, *, command: c.TeamAdd | c.TeamRemove, user_id: str, settings: Settings
) -> Reply:
    if settings.admins and user_id not in settings.admins:
        raise UserError(phrase("slash.admins_only"))
    if isinstance(command, c.TeamRemove):
        if not remove_member(session, user_id=command.user_id):
            raise UserError(phrase("slash.not_on_roster", user_id=command.user_id))
        return Reply(phrase("slash.left_roster", user_id=command.user_id))
    _, created = add_member(
        session, user_id=command.user_id, backup_id=command.backup_id, added_by=user_id
    )
    return Reply(
        phrase(
            "slash.joined_roster",
            user_id=command.user_id,
            backup_id=command.backup_id,
            created=created,
        )
    )


def team_list(session: Session) -> Reply:
    members = active_members(session)
    load = open_introduction_counts(session)
    message = render_internal("internal/team_list.j2", members=members, load=load)
    return Reply(message.text, message.blocks)


def _known_deal(session: Session, crm_id: str) -> Deal:
    deal = get_deal(session, crm_id=crm_id)
    if deal is None:
        raise UsageError(phrase("slash.unknown_deal", crm_id=crm_id))
    return deal
