"""What each `/introduce-care` command does, given a database session.

Only quick local reads and writes happen here (the listener answers within Slack's
3 seconds); everything that calls Slack happens later in the worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from bot import commands as c
from bot.config import Settings
from bot.exceptions import UsageError, UserError
from bot.flows import stages
from bot.flows.response_watch import questions_of
from bot.models import Deal, Introduction, IntroStatus
from bot.store.contacts import add_contacts, contacts_of
from bot.store.deals import deals_for_user, get_deal, upsert_deal
from bot.store.introductions import (
    introduction_of,
    open_introduction_counts,
    request_introduction,
    steps_of,
)
from bot.store.people import set_reminders
from bot.store.roster import active_members, add_member, remove_member
from bot.templating import render_internal

MAX_NOTES = 3000


@dataclass
class Reply:
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    queued: bool = False  # work was recorded for the worker


def handle(session: Session, *, command: c.Command, user_id: str, settings: Settings) -> Reply:
    match command:
        case c.Help():
            message = render_internal("internal/help.j2")
            return Reply(message.text, message.blocks)
        case c.Introduce():
            return introduce(session, request=command, user_id=user_id, settings=settings)
        case c.SetStage(deal_id=deal_id, stage=stage):
            return set_stage(
                session, crm_id=deal_id, stage=stage, user_id=user_id, settings=settings
            )
        case c.Status(deal_id=deal_id):
            return status(session, crm_id=deal_id, user_id=user_id)
        case c.Unwatch(deal_id=deal_id):
            deal = _known_deal(session, deal_id)
            deal.watched = False
            session.add(deal)
            return Reply(f"Stopped watching {deal_id}. Nothing already created was touched.")
        case c.TeamAdd() | c.TeamRemove():
            return team_change(session, command=command, user_id=user_id, settings=settings)
        case c.TeamList():
            return team_list(session)
        case c.Reminders(on=on):
            set_reminders(session, user_id=user_id, on=on)
            return Reply("Weekly reminders are on." if on else "Weekly reminders are off.")
    raise UsageError("I don't know that command.")


def introduce(
    session: Session, *, request: c.Introduce, user_id: str, settings: Settings, notes: str = ""
) -> Reply:
    """`now` and `watch` (and the modal): record the deal; `now` queues the introduction."""
    if not request.engineer and not active_members(session):
        existing = get_deal(session, crm_id=request.deal_id)
        if not (existing and (existing.engineer_user_id or existing.engineer_email)):
            raise UsageError(
                "Name the engineer (@someone): the care roster is empty. "
                "Add engineers with `/introduce-care team add @user`."
            )
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
    name = deal.company or deal.crm_id
    if request.mode == "watch":
        intro = stages.apply_current_stage(session, deal=deal, settings=settings, user_id=user_id)
        if intro is not None:
            return Reply(
                f"Watching {name} ({deal.crm_id}); it is already at a pre-close stage, "
                "so the introduction starts now.",
                queued=True,
            )
        return Reply(
            f"Watching {name} ({deal.crm_id}). The introduction starts by itself when "
            "its stage becomes pre-close."
        )
    intro, queued = request_introduction(session, deal=deal, source="now", requested_by=user_id)
    if not queued:
        return Reply(_already(intro, name, deal.crm_id))
    return Reply(
        f"Introducing {name} ({deal.crm_id}) to their care team. I'll DM you when it's done.",
        queued=True,
    )


def _already(intro: Introduction, name: str, crm_id: str) -> str:
    if intro.status == IntroStatus.DONE:
        where = f" in <#{intro.channel_id}>" if intro.channel_id else ""
        return f"{name} ({crm_id}) is already introduced{where}. Nothing changed."
    return f"The introduction of {name} ({crm_id}) is already under way. Nothing changed."


def set_stage(
    session: Session, *, crm_id: str, stage: str, user_id: str, settings: Settings
) -> Reply:
    deal = _known_deal(session, crm_id)
    outcome = stages.record_stage(
        session, deal=deal, label=stage, source="slash", settings=settings, user_id=user_id
    )
    return Reply(
        f"{deal.company or deal.crm_id} ({crm_id}) is now at “{stage}”. {outcome.message}",
        queued=outcome.queued,
    )


def status(session: Session, *, crm_id: str | None, user_id: str) -> Reply:
    if crm_id is None:
        rows = deals_for_user(session, user_id=user_id)
        message = render_internal("internal/status_list.j2", rows=rows)
        return Reply(message.text, message.blocks)
    deal = _known_deal(session, crm_id)
    intro = introduction_of(session, deal_id=deal.id)
    message = render_internal(
        "internal/status.j2",
        deal=deal,
        intro=intro,
        steps=steps_of(session, intro_id=intro.id) if intro else {},
        contacts=contacts_of(session, deal_id=deal.id),
        history=stages.history_of(session, deal=deal),
        questions=questions_of(session, intro_id=intro.id) if intro else None,
    )
    return Reply(message.text, message.blocks)


def team_change(
    session: Session, *, command: c.TeamAdd | c.TeamRemove, user_id: str, settings: Settings
) -> Reply:
    if settings.admins and user_id not in settings.admins:
        raise UserError("Only care admins (CARE_ADMINS) can change the care roster.")
    if isinstance(command, c.TeamRemove):
        if not remove_member(session, user_id=command.user_id):
            raise UserError(f"<@{command.user_id}> is not on the care roster.")
        return Reply(
            f"<@{command.user_id}> is off the care roster. Their introductions stay theirs."
        )
    _, created = add_member(
        session, user_id=command.user_id, backup_id=command.backup_id, added_by=user_id
    )
    backup = f" with <@{command.backup_id}> as backup" if command.backup_id else ""
    verb = "joined" if created else "is on"
    return Reply(f"<@{command.user_id}> {verb} the care roster{backup}.")


def team_list(session: Session) -> Reply:
    members = active_members(session)
    load = open_introduction_counts(session)
    message = render_internal("internal/team_list.j2", members=members, load=load)
    return Reply(message.text, message.blocks)


def _known_deal(session: Session, crm_id: str) -> Deal:
    deal = get_deal(session, crm_id=crm_id)
    if deal is None:
        raise UsageError(f"I don't know deal {crm_id}. Register it with `now` or `watch` first.")
    return deal
