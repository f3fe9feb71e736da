"""The invitation words with zero, one and many: the AE's decline DM, the stale
invitations with their re-send buttons, and how `status` says each state."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.models.blocks import Block

from bot.flows.invitations import StaleInvite, stale_blocks, state_words
from bot.flows.reminders.digest import AeDeal, DealRow, Digest
from bot.flows.reminders.render import render_digest
from bot.ids import ActionId
from bot.models import Contact, InviteState
from bot.templating import Message, phrase, render_internal
from tests.templates.test_home_and_events_templates import assert_clean, deal, texts

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def declined(next_emails: list[str]) -> Message:
    return render_internal(
        "internal/invite_declined.j2", deal=deal(1), email="cto@acme.example",
        channel_id="C_ACME1", next_emails=next_emails,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("next_emails", "line"),
    [
        ([], "Nobody else is waiting for an invitation. To invite someone else: "
             "`/introduce-care invite D-1 name@their-company.example`."),
        (["cfo@acme.example"], "Next invited: cfo@acme.example."),
        (["cfo@acme.example", "ops@acme.example"],
         "Next invited: cfo@acme.example, ops@acme.example."),
    ],
)  # fmt: skip
def test_invite_declined_says_who_is_next_or_how_to_invite_another(next_emails, line):
    message = declined(next_emails)
    assert_clean(message)
    body = texts(message)[1]
    assert body.startswith("*cto@acme.example* declined the Slack Connect invitation to <#C_ACME1>")
    assert body.endswith(line)
    assert message.text == "cto@acme.example declined the invitation to Acme 1's care channel"


def stale(n: int, *, expired: bool = False, days: int = 8) -> StaleInvite:
    return StaleInvite(n, f"p{n}@acme.example", f"D-{n}", f"Acme <{n}>", days, expired)


def test_no_stale_invitation_is_no_block():
    assert stale_blocks([]) == []


@pytest.mark.parametrize("count", [1, 3])
def test_each_stale_invitation_is_a_section_with_its_resend_button(count):
    items = [stale(n, expired=n == 2, days=1 if n == 3 else 8) for n in range(1, count + 1)]
    blocks = stale_blocks(items)
    assert len(blocks) == 1 + count
    heading, *lines = blocks
    assert heading["text"]["text"].startswith("*Invitations nobody accepted*")
    for block, item in zip(lines, items, strict=True):
        Block.parse(block).validate_json()  # Slack's own model accepts it
        button = block["accessory"]
        assert button["action_id"] == ActionId.RESEND_INVITE
        assert button["value"] == str(item.contact_id)
        assert button["text"]["text"] == "Re-send"
        assert block["text"]["text"].startswith(f"*Acme &lt;{item.contact_id}&gt;* (D-")
    said = [b["text"]["text"] for b in lines]
    assert said[0].endswith("p1@acme.example, sent 8 days ago and not accepted.")
    if count == 3:
        assert said[1].endswith("p2@acme.example, expired unanswered after 14 days.")
        assert said[2].endswith("sent 1 day ago and not accepted.")
    assert len({b["block_id"] for b in blocks[1:]}) == count


@pytest.mark.parametrize(
    ("state", "sent_days_ago", "words"),
    [
        (InviteState.WAITING, None, "waiting (one pending invitation at a time)"),
        (InviteState.SENT, 6, "sent"),
        (InviteState.SENT, 7, "stale (sent 7 days ago, not accepted)"),
        (InviteState.APPROVAL, 6, "awaiting approval"),
        (
            InviteState.APPROVAL,
            9,
            "awaiting an admin's approval for 9 days (the contacts behind it wait: ask the admins)",
        ),
        (InviteState.DECLINED, 1, "declined"),
        (InviteState.EXPIRED, 15, "expired (nobody answered in 14 days)"),
    ],
)
def test_status_says_each_state_in_words(state, sent_days_ago, words):
    sent = NOW - timedelta(days=sent_days_ago) if sent_days_ago is not None else None
    contact = Contact(id=1, deal_id=1, email="a@b.example", invite_state=state, invited_at=sent)
    assert state_words(contact, now=NOW) == words


def test_every_invitation_phrase_renders():
    values = {"email": "a@b.example", "until": NOW, "state": "accepted", "days": 8}
    for state in InviteState:
        assert phrase(f"invitations.state.{state.value}", **values)
    for key in ("queued", "later", "already", "unknown"):
        said = phrase(f"invitations.resend.{key}", **values)
        assert said and "{" not in said and "None" not in said


@pytest.mark.parametrize("count", [0, 1, 3])
def test_the_ae_reminder_lists_stale_invitations_before_its_small_print(count):
    digest = Digest()
    digest.add_deal(AeDeal(DealRow(1, "D-1", "Co 1", "s", "S", None), None, False))
    digest.stale = [stale(n) for n in range(1, count + 1)]
    message = render_digest(digest, today=NOW.date())
    assert message is not None
    buttons = [b["accessory"]["value"] for b in message.blocks if "accessory" in b]
    assert buttons == [str(n) for n in range(1, count + 1)]
    assert ("Invitations nobody accepted" in json.dumps(message.blocks)) == bool(count)
    assert message.blocks[-1]["type"] == "context"
    assert [b["type"] for b in message.blocks].count("context") == 1


def test_the_engineers_home_counts_invitations_in_words():
    from bot.store.home import HomeProspect
    from tests.templates.test_home_and_events_templates import NO_TEAM, intro

    words = {s.value: phrase(f"invitations.count.{s.value}") for s in InviteState}
    prospect = HomeProspect(deal(1), intro(1), {"approval": 1, "waiting": 2}, 0, None)
    message = render_internal(
        "internal/home.j2", prospects=[prospect], deals=[], team=NO_TEAM, promise=30,
        today=NOW.date(), invite_words=words,
    )  # fmt: skip
    assert_clean(message)
    assert "invitations: 1 awaiting approval, 2 waiting ·" in "\n".join(texts(message))
