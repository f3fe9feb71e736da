"""What a stale invitation's "Re-send" button does (SPEC step 5; the rules are in
`bot.flows.invitations`): record it, for the worker's invitation queue to send."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.flows.slash_handlers import Reply
from bot.models import InviteState, utcnow
from bot.store.contacts import SLACK_VALID, UNANSWERED, contact_by_id, move_invitation
from bot.templating import phrase


def request_resend(session: Session, *, contact_id: int, now: datetime | None = None) -> Reply:
    """The AE pressed "Re-send": record it; the worker's queue sends it when Slack lets it."""
    now = now or utcnow()
    contact = contact_by_id(session, contact_id=contact_id)
    if contact is None or not contact.email:
        return Reply(phrase("invitations.resend.unknown"))
    email = contact.email
    if contact.invite_state == InviteState.EXPIRED:
        move_invitation(
            session, contact_id=contact_id, to=InviteState.WAITING, only=(InviteState.EXPIRED,)
        )
        return Reply(phrase("invitations.resend.queued", email=email), queued=True)
    if contact.invite_state in UNANSWERED and contact.invited_at is not None:
        move_invitation(
            session, contact_id=contact_id, to=InviteState.RESEND, only=(InviteState.SENT,)
        )
        until = contact.invited_at + SLACK_VALID
        if until <= now:  # lapsed already: the queue's next run re-sends it
            return Reply(phrase("invitations.resend.queued", email=email), queued=True)
        return Reply(phrase("invitations.resend.later", email=email, until=until))
    words = phrase(f"invitations.state.{InviteState(contact.invite_state).value}")
    return Reply(phrase("invitations.resend.already", email=email, state=words))
