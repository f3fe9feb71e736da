"""The care channel: its name (claimed before it is created), creating it or adopting
the one a crash left behind, inviting our people into it, and its topic."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError

from bot.exceptions import SlackStepError
from bot.flows.introduction.context import StepContext
from bot.flows.introduction.messages import external_context
from bot.models import Deal, Introduction
from bot.slack.client import call, pages, try_call
from bot.store.introductions import channel_owned, claim_channel_name
from bot.store.rows import update_row
from bot.templating import render_external_text
from bot.text import slack_channel_name

MAX_NAME_SUFFIX = 50  # care-acme-corp, care-acme-corp-2 … care-acme-corp-49
TOPIC_LIMIT = 250  # Slack's limit for a channel topic
PAGE_SIZE = 1000  # the most Slack returns per page of members or channels


def channel_names(run: StepContext, intro: Introduction, deal: Deal) -> list[str]:
    """The names to try in order; a resumed run first tries the one it was creating."""
    raw = run.settings.channel_name_template.format(company=deal.company or deal.crm_id)
    candidates = [slack_channel_name(raw)]
    candidates += [slack_channel_name(raw, suffix=f"-{n}") for n in range(2, MAX_NAME_SUFFIX)]
    if intro.channel_name in candidates:
        candidates.remove(intro.channel_name)
        candidates.insert(0, intro.channel_name)
    return candidates


def channel_step(run: StepContext, intro: Introduction, deal: Deal, *, resumed: bool) -> str:
    """Create the channel under the first free name (or adopt ours, from a crash)."""
    if intro.channel_id:
        return f"#{intro.channel_name}"
    for name in channel_names(run, intro, deal):
        with run.session() as session:
            if not claim_channel_name(session, intro=intro, name=name):
                continue
        created = try_call(
            "channel",
            run.client.conversations_create,
            ok_errors=frozenset({"name_taken"}),
            name=name,
            is_private=run.settings.channel_private,
        )
        if created == "name_taken":
            channel = adoptable_channel(run, name)
            if channel is None:
                continue
            channel_id = channel["id"]
        else:
            channel_id = created["channel"]["id"]
        if record_channel(run, intro.id or 0, channel_id):
            return f"#{name} ({'adopted' if created == 'name_taken' else 'created'})"
    raise SlackStepError("channel", "no_free_channel_name", permanent=True)


def adoptable_channel(run: StepContext, name: str) -> dict[str, Any] | None:
    """A channel of this name that the bot created and no deal owns: ours, from a crash."""
    for page in pages(
        "channel",
        run.client.conversations_list,
        types="public_channel,private_channel",
        exclude_archived=True,
        limit=PAGE_SIZE,
    ):
        for channel in page["channels"]:
            if channel.get("name") == name:
                with run.session() as session:
                    owned = channel_owned(session, channel_id=channel["id"])
                ours = not owned and channel.get("creator") == run.people.bot_user_id
                return channel if ours else None
    return None


def record_channel(run: StepContext, intro_id: int, channel_id: str) -> bool:
    """Keep the channel's id; False when another introduction already owns it."""
    try:
        with run.session() as session:
            update_row(session, Introduction, intro_id, channel_id=channel_id)
    except IntegrityError:
        return False
    return True


def invite_step(run: StepContext, intro: Introduction, deal: Deal, *, resumed: bool) -> str:
    """Invite the engineer, backup and AE, those not in the channel yet."""
    wanted = [u for u in (intro.engineer_user_id, intro.backup_user_id, intro.ae_user_id) if u]
    wanted = [u for u in dict.fromkeys(wanted) if u != run.people.bot_user_id]
    members = set(channel_members(run, intro.channel_id or ""))
    missing = [u for u in wanted if u not in members]
    if missing:
        try_call(
            "invite",
            run.client.conversations_invite,
            ok_errors=frozenset({"already_in_channel"}),
            channel=intro.channel_id,
            users=",".join(missing),
        )
    return f"invited {len(missing)}, {len(wanted) - len(missing)} already in"


def channel_members(run: StepContext, channel_id: str) -> list[str]:
    return [
        member
        for page in pages(
            "invite", run.client.conversations_members, channel=channel_id, limit=PAGE_SIZE
        )
        for member in page["members"]
    ]


def topic_step(run: StepContext, intro: Introduction, deal: Deal, *, resumed: bool) -> str:
    """The topic names the care team and the response promise (prospect-facing)."""
    topic = render_external_text(
        "external/topic.j2", external_context(run, intro, deal), limit=TOPIC_LIMIT
    )
    call("topic", run.client.conversations_setTopic, channel=intro.channel_id, topic=topic)
    return "topic set"
