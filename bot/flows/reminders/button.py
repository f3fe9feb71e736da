"""What the reminder's "Introduce now" button does: record the deal's introduction."""

from __future__ import annotations

from sqlmodel import Session

from bot.flows.slash_handlers import Reply
from bot.models import IntroStatus
from bot.store.deals import get_deal
from bot.store.introductions import request_introduction
from bot.templating import phrase


def introduce_from_reminder(session: Session, *, crm_id: str, user_id: str) -> Reply:
    """The AE pressed "Introduce now" in their reminder: record the introduction."""
    deal = get_deal(session, crm_id=crm_id)
    if deal is None:
        return Reply(phrase("reminders.button.unknown_deal", crm_id=crm_id))
    intro, queued = request_introduction(
        session, deal=deal, source="reminder", requested_by=user_id
    )
    name = deal.company or deal.crm_id
    if queued:
        return Reply(phrase("reminders.button.queued", name=name, crm_id=crm_id), queued=True)
    if intro.status == IntroStatus.WAITING:
        return Reply(phrase("reminders.button.waiting", crm_id=crm_id))
    if intro.status == IntroStatus.DONE:
        return Reply(phrase("reminders.button.done", name=name, crm_id=crm_id))
    return Reply(phrase("reminders.button.under_way", name=name, crm_id=crm_id))
