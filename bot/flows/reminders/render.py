"""A digest as one DM: the engineer's part, then the AE's with an "Introduce now" button
after each deal closing soon with no introduction."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.flows.invitations import stale_blocks
from bot.flows.reminders.digest import MAX_ATTENTION, MAX_DEALS, MAX_PROSPECTS, DealRow, Digest
from bot.ids import ActionId
from bot.templating import Message, phrase, render_internal

ENGINEER_TEMPLATE = "internal/reminder_engineer.j2"
AE_TEMPLATE = "internal/reminder_ae.j2"
MAX_BLOCKS = 50  # Slack's limit for a message
DIVIDER = {"type": "divider"}


def render_digest(digest: Digest, *, today: date) -> Message | None:
    """One message for one person, whatever their roles; None when there is nothing to say."""
    parts: list[Message] = []
    if digest.prospects.count:
        parts.append(
            render_internal(
                ENGINEER_TEMPLATE,
                prospects=digest.prospects.items(),
                more=max(0, digest.prospects.count - MAX_PROSPECTS),
                waiting=digest.waiting,
                today=today,
                footer=not digest.has_deals,
            )
        )
    if digest.has_deals:
        parts.append(_ae_part(digest, today=today, also=bool(parts)))
    if not parts:
        return None
    blocks = parts[0].blocks + [b for part in parts[1:] for b in [DIVIDER, *part.blocks]]
    return Message(text=" · ".join(p.text for p in parts), blocks=blocks[:MAX_BLOCKS])


def _ae_part(digest: Digest, *, today: date, also: bool) -> Message:
    """The deals closing soon first (each with its button), then the others."""
    soon = digest.soon.items()
    attention = soon[:MAX_ATTENTION]
    rest = soon[MAX_ATTENTION:] + digest.later.items()
    hidden = digest.soon.count - len(attention) + digest.later.count
    message = render_internal(
        AE_TEMPLATE,
        attention=attention,
        deals=rest[:MAX_DEALS],
        more=max(0, hidden - MAX_DEALS),
        today=today,
        also=also,
    )
    buttons = _with_buttons(message, [d.deal for d in attention])
    if not digest.stale:
        return buttons
    # invitations nobody accepted, each with its "Re-send", before the small print
    *body, divider, small = buttons.blocks
    return Message(text=buttons.text, blocks=[*body, *stale_blocks(digest.stale), divider, small])


def _with_buttons(message: Message, deals: list[DealRow]) -> Message:
    """The template gives each deal that needs an introduction its own first section;
    each gets an actions block right after it, with the button that starts it."""
    label = phrase("reminders.introduce_button")
    blocks: list[dict[str, Any]] = []
    for index, block in enumerate(message.blocks):
        blocks.append(block)
        if index < len(deals):
            blocks.append(_introduce_button(deals[index].crm_id, label))
    return Message(text=message.text, blocks=blocks)


def _introduce_button(crm_id: str, label: str) -> dict[str, Any]:
    return {
        "type": "actions",
        "block_id": f"{ActionId.INTRODUCE_DEAL.value}:{crm_id}",
        "elements": [
            {
                "type": "button",
                "action_id": ActionId.INTRODUCE_DEAL.value,
                "text": {"type": "plain_text", "text": label},
                "style": "primary",
                "value": crm_id,
            }
        ],
    }
