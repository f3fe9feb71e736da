"""The Slack Connect invitation queue: one pending invitation per channel (Slack's rule),
the next contact invited once it is answered, and what to do when the workspace cannot
use Slack Connect at all.

The pending one is SENT (unanswered), APPROVAL (accepted, an admin must approve) or
RESEND (unanswered, to be sent again): while a contact is in one of these, the others
wait. What frees the queue: accepted or approved (`bot.flows.events`), declined, or
Slack's invitation lapsing unanswered after 14 days (`bot.flows.invitations`).
"""

from __future__ import annotations

import logging
from typing import Any

from bot.flows.introduction.context import StepContext
from bot.flows.introduction.messages import dm_once
from bot.models import Contact, Deal, Introduction, InviteState, utcnow
from bot.slack.client import try_call
from bot.store.contacts import HOLDING, contacts_of, invitable, move_invitation
from bot.store.rows import update_row
from bot.templating import phrase, render_internal
from bot.text import mask_email

log = logging.getLogger(__name__)

# Slack Connect refused for the whole workspace: the AE is told what they can do
# (templates/phrases/introduction.toml, `connect_unavailable.<error>`).
CONNECT_UNAVAILABLE = frozenset(
    {
        "not_paid",
        "team_not_paid",
        "restricted_action",
        "not_allowed_for_grid_workspace",
        "not_supported",
        "no_external_invite_permission",
        "missing_scope",
    }
)
# Refused for one contact (or already done): recorded, and the queue goes on.
CONTACT_ERRORS = frozenset(
    {
        "invalid_email",
        "user_not_found",
        "already_in_channel",
        "connection_limit_exceeded_pending",
        "member_limit_exceeded",
        "invite_lookup_error",
    }
)
PENDING = "an invitation is pending; the others wait"


def connect_step(run: StepContext, intro: Introduction, deal: Deal, *, resumed: bool) -> str:
    """Invite the first waiting contact; the others follow as each one is accepted."""
    return invite_next(run, intro, deal)


def invite_next(run: StepContext, intro: Introduction, deal: Deal) -> str:
    """Invite waiting contacts one at a time until one is pending or none is left."""
    while True:
        with run.session() as session:  # listed without an email: never invited
            contacts = invitable(contacts_of(session, deal_id=deal.id))
        if any(c.invite_state in HOLDING for c in contacts):
            return PENDING
        queue = [c for c in contacts if c.invite_state == InviteState.SENDING]
        queue += [c for c in contacts if c.invite_state == InviteState.WAITING]
        if not queue:
            return f"{len(contacts)} contacts handled"
        done = invite(run, intro, deal, queue[0])
        if done is not None:
            return done


def invite(run: StepContext, intro: Introduction, deal: Deal, contact: Contact) -> str | None:
    """Send one contact's invitation; the step's detail once the queue must stop here,
    None when the next contact may go at once (this one joined already, or failed)."""
    was_sending = contact.invite_state == InviteState.SENDING
    with run.session() as session:  # taken from where we saw it: one sender per contact
        if not move_invitation(
            session, contact_id=contact.id, to=InviteState.SENDING,
            only=(contact.invite_state,), invite_error=None,
        ):  # fmt: skip
            return PENDING  # another worker is inviting this contact right now
    result = try_call(
        "connect",
        run.client.conversations_inviteShared,
        ok_errors=CONNECT_UNAVAILABLE | CONTACT_ERRORS,
        channel=intro.channel_id,
        emails=contact.email,
    )
    if not isinstance(result, str):
        set_invite(run, contact.id, InviteState.SENT, invite_id=result.get("invite_id"))
        log.info("deal=%s invited %s", deal.crm_id, mask_email(contact.email))
        return PENDING  # ours, just sent
    if result == "connection_limit_exceeded_pending":
        # Ours went through before a crash, or someone else's is pending: either way
        # one is pending now, and this contact goes next or is already sent.
        set_invite(run, contact.id, InviteState.SENT if was_sending else InviteState.WAITING)
        return PENDING
    if result in CONNECT_UNAVAILABLE:
        return connect_unavailable(run, intro, deal, result)
    if result == "already_in_channel":
        set_invite(run, contact.id, InviteState.ACCEPTED)
    else:
        set_invite(run, contact.id, InviteState.FAILED, error=result)
    return None


def set_invite(
    run: StepContext,
    contact_id: int | None,
    state: InviteState,
    *,
    invite_id: str | None = None,
    error: str | None = None,
) -> None:
    values: dict[str, Any] = {"invite_state": state, "invite_error": error}
    if invite_id:
        values["invite_id"] = invite_id
    if state == InviteState.SENT:
        values["invited_at"] = utcnow()
    if state == InviteState.ACCEPTED:
        values["accepted_at"] = utcnow()
    with run.session() as session:
        update_row(session, Contact, contact_id, **values)


def connect_unavailable(run: StepContext, intro: Introduction, deal: Deal, error: str) -> str:
    """No contact can be invited: mark them failed and tell the AE what they can do."""
    with run.session() as session:
        waiting = [
            c
            for c in invitable(contacts_of(session, deal_id=deal.id))
            if c.invite_state in (InviteState.WAITING, InviteState.SENDING)
        ]
    for contact in waiting:
        set_invite(run, contact.id, InviteState.FAILED, error=error)
    ae = intro.ae_user_id or intro.requested_by
    if ae:
        message = render_internal(
            "internal/ae_connect_unavailable.j2",
            deal=deal,
            channel_id=intro.channel_id,
            error=error,
            advice=phrase(f"introduction.connect_unavailable.{error}"),
            contacts=[c.email for c in waiting],
        )
        dm_once(run, ae, "careintro_connect_unavailable", intro.id or 0, message, check=True)
    log.warning("deal=%s slack connect unavailable: %s", deal.crm_id, error)
    return f"Slack Connect unavailable: {error}"
