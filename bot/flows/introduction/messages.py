"""What the introduction posts, each once: the welcome (pinned), the engineer's brief,
the AE's note; and the public context the prospect-facing ones are rendered from."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from bot.flows.introduction.context import StepContext
from bot.models import Contact, Deal, Introduction, InviteState
from bot.slack.client import call, find_posted, open_dm, try_call
from bot.store.contacts import contacts_of, invitable
from bot.store.rows import update_row
from bot.templating import (
    ExternalContext,
    Message,
    PublicProfile,
    phrase,
    render_external,
    render_internal,
)

HISTORY_SCAN = 200  # how far back a resumed send looks for the message it may have posted


def listed_names(contacts: Iterable[Contact]) -> list[str]:
    """The contacts a CRM lists without an email (never invited), by name."""
    names = [f"{c.first_name} {c.last_name}".strip() for c in contacts if not c.email]
    return [name or phrase("introduction.unnamed_contact") for name in names]


def external_context(run: StepContext, intro: Introduction, deal: Deal) -> ExternalContext:
    """Only public fields: this is all a prospect-facing template can see."""
    assert intro.engineer_user_id
    people = run.people
    return ExternalContext(
        company=deal.company or phrase("introduction.unnamed_company"),
        engineer=people.profile(intro.engineer_user_id),
        backup=people.profile(intro.backup_user_id) if intro.backup_user_id else None,
        ae=people.profile(intro.ae_user_id)
        if intro.ae_user_id
        else PublicProfile("", phrase("introduction.unnamed_ae")),
        response_minutes=run.settings.response_minutes,
    )


def post_once(
    run: StepContext, channel: str, kind: str, intro_id: int, message: Message, *, check: bool
) -> str:
    """Post unless a message of this kind for this introduction is already there.

    The check runs only when the step was interrupted before, so the happy path
    costs one call; the metadata is what makes our own message recognisable.
    """
    if check:
        found = find_posted(
            run.client,
            kind,
            channel=channel,
            event_type=kind,
            payload={"introduction_id": intro_id},
            limit=HISTORY_SCAN,
        )
        if found:
            return found
    result = call(
        kind,
        run.client.chat_postMessage,
        channel=channel,
        text=message.text,
        blocks=message.blocks,
        unfurl_links=False,
        unfurl_media=False,
        metadata={"event_type": kind, "event_payload": {"introduction_id": intro_id}},
    )
    return str(result["ts"])


def dm_once(
    run: StepContext, user_id: str, kind: str, intro_id: int, message: Message, *, check: bool
) -> str:
    """`post_once` in the bot's DM with a person."""
    im = open_dm(kind, run.client, user_id)
    return post_once(run, im, kind, intro_id, message, check=check)


def welcome_step(run: StepContext, intro: Introduction, deal: Deal, *, resumed: bool) -> str:
    """Post the welcome that introduces the engineer, once, and pin it."""
    intro_id = intro.id or 0
    channel = intro.channel_id or ""
    ts = intro.welcome_ts
    if not ts:
        message = render_external("external/welcome.j2", external_context(run, intro, deal))
        ts = post_once(run, channel, "careintro_welcome", intro_id, message, check=resumed)
        with run.session() as session:
            update_row(session, Introduction, intro_id, welcome_ts=ts)
    try_call(
        "welcome",
        run.client.pins_add,
        ok_errors=frozenset({"already_pinned"}),
        channel=channel,
        timestamp=ts,
    )
    return f"posted and pinned {ts}"


def brief_step(run: StepContext, intro: Introduction, deal: Deal, *, resumed: bool) -> str:
    """DM the engineer everything that was promised."""
    with run.session() as session:
        contacts = list(contacts_of(session, deal_id=deal.id))
    message = render_internal(
        "internal/brief.j2",
        deal=deal,
        channel_id=intro.channel_id,
        contacts=[c.email for c in invitable(contacts)],
        listed=listed_names(contacts),
        ae_user_id=intro.ae_user_id,
        backup_user_id=intro.backup_user_id,
        response_minutes=run.settings.response_minutes,
    )
    engineer = intro.engineer_user_id or ""
    dm_once(run, engineer, "careintro_brief", intro.id or 0, message, check=resumed)
    return "brief sent"


def notify_ae_step(run: StepContext, intro: Introduction, deal: Deal, *, resumed: bool) -> str:
    """Tell the AE the prospect has met their engineer, and where the invitations are;
    with no contact to invite, that none went out and how to add one."""
    ae = intro.ae_user_id or intro.requested_by
    if not ae:
        return "no AE to tell"
    with run.session() as session:
        contacts = list(contacts_of(session, deal_id=deal.id))
    states = Counter(c.invite_state for c in invitable(contacts))
    message = render_internal(
        "internal/ae_done.j2",
        invitable=len(invitable(contacts)),
        listed=listed_names(contacts),
        deal=deal,
        channel_id=intro.channel_id,
        engineer_user_id=intro.engineer_user_id,
        late=intro.late,
        sent=states[InviteState.SENT],
        waiting=states[InviteState.WAITING] + states[InviteState.SENDING],
        joined=states[InviteState.ACCEPTED],
    )
    dm_once(run, ae, "careintro_ae_done", intro.id or 0, message, check=resumed)
    return "AE told"
