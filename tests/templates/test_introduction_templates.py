"""The introduction's templates, rendered with zero, one and many of what they list:
words agree with their counts, sentences are spaced, and no markup or Python is left."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from bot.flows.introduction.connect import CONNECT_UNAVAILABLE
from bot.models import Deal
from bot.templating import (
    ExternalContext,
    Message,
    PublicProfile,
    has_phrase,
    phrase,
    render_external,
    render_external_text,
    render_internal,
)

DEAL = Deal(crm_id="D-7", company="Acme Corp", amount=Decimal(48000), notes="SSO help.")
ENGINEER = PublicProfile("UENG1", "Erin Engineer", "Support Engineer", "https://img.example/e")
BACKUP = PublicProfile("UBAK1", "Sam Backup")
AE = PublicProfile("UAE01", "Alex Account")
CHANNEL = "CCARE1"
EMAILS = ["cto@acme.example", "cfo@acme.example", "ops@acme.example"]


def texts(message: Message) -> list[str]:
    """Every piece of text a person reads: the notification and each block's text."""
    parts = [message.text]
    for block in message.blocks:
        if "text" in block:
            parts.append(block["text"]["text"])
        parts += [element["text"] for element in block.get("elements", [])]
    return parts


def assert_clean(*parts: str) -> None:
    """Spaced sentences, balanced `*` and `_`, no section marks, no Python values."""
    for text in parts:
        plain = re.sub(r"`[^`]*`|<[^>]*>|:[a-z_]+:", "", text)  # code, mentions and emoji
        assert not re.search(r"[.!?;,][A-Za-z]", plain.replace(".example", "")), text
        assert "  " not in text and " ." not in text and " ," not in text, text
        italics = re.findall(r"(?<!\w)_|_(?!\w)", plain)  # `http_500` is a word, not markup
        assert plain.count("*") % 2 == 0 and len(italics) % 2 == 0, text
        assert "---" not in text and "**" not in text, text
        for python in ("None", "[]", "{}", "()", "InviteState", "Contact(", "<bound"):
            assert python not in text, text


def external(*, backup: PublicProfile | None, names: tuple[str, ...] = ()) -> ExternalContext:
    return ExternalContext(
        company="Acme Corp",
        engineer=ENGINEER,
        ae=AE,
        backup=backup,
        response_minutes=30,
        contact_names=names,
    )


@pytest.mark.parametrize("backup", [None, BACKUP])
def test_topic_names_the_care_team_with_or_without_a_backup(backup):
    topic = render_external_text("external/topic.j2", external(backup=backup), limit=250)
    assert topic.startswith("Your care team: Erin Engineer (support engineer)")
    assert ("backup Sam Backup" in topic) == (backup is not None)
    assert "with Alex Account. A person answers every question within 30 minutes." in topic
    assert_clean(topic)


def test_topic_is_cut_at_a_word_within_the_limit():
    long = PublicProfile("UENG1", "Erin " * 60)
    context = ExternalContext(company="Acme", engineer=long, ae=AE, response_minutes=30)
    topic = render_external_text("external/topic.j2", context, limit=250)
    assert len(topic) <= 250 and topic.endswith("…") and "  " not in topic


@pytest.mark.parametrize(
    ("names", "hello"),
    [
        ((), None),
        (("Chris",), "Hello Chris."),
        (("Chris", "Dana", "Lee"), "Hello Chris, Dana, Lee."),
    ],
)
def test_welcome_greets_zero_one_or_many_contacts(names, hello):
    message = render_external("external/welcome.j2", external(backup=BACKUP, names=names))
    first = message.blocks[0]["text"]["text"]
    assert ("Hello" in first) == (hello is not None)
    if hello:
        assert hello in first
    assert "<@UAE01> wanted you to meet" in first
    assert_clean(*texts(message))


@pytest.mark.parametrize("backup", [None, BACKUP])
def test_welcome_names_the_backup_only_when_there_is_one(backup):
    message = render_external("external/welcome.j2", external(backup=backup))
    said = "\n".join(texts(message))
    assert ("<@UBAK1> covers" in said) == (backup is not None)
    assert "*Meet <@UENG1>*, Support Engineer." in said
    assert "within *30 minutes*" in said
    assert_clean(*texts(message))


def ae_done(
    sent: int,
    waiting: int,
    joined: int,
    *,
    late: bool = False,
    invitable: int | None = None,
    listed: tuple[str, ...] = (),
) -> str:
    message = render_internal(
        "internal/ae_done.j2",
        deal=DEAL,
        channel_id=CHANNEL,
        engineer_user_id="UENG1",
        late=late,
        sent=sent,
        waiting=waiting,
        joined=joined,
        invitable=sent + waiting + joined if invitable is None else invitable,
        listed=list(listed),
    )
    assert_clean(*texts(message))
    return message.blocks[0]["text"]["text"]


def test_ae_done_with_no_invitation_says_only_where_the_engineer_is():
    # Contacts with an email, none pending or joined (they failed): nothing more to say.
    # (With no contact to invite at all, the AE is told so: the tests below.)
    said = ae_done(0, 0, 0, invitable=1)
    assert said.endswith("<@UENG1> is introduced in <#CCARE1>.")
    assert "invitation" not in said and "already in" not in said


def test_ae_done_tells_one_sent_invitation_apart_from_the_waiting_ones():
    assert "1 Slack Connect invitation is on its way." in ae_done(1, 0, 0)
    said = ae_done(1, 1, 0)
    assert "1 Slack Connect invitation is on its way; 1 more waits until it is accepted." in said
    said = ae_done(1, 3, 0)
    assert "1 Slack Connect invitation is on its way; 3 more wait until it is accepted." in said
    assert "invitations are on their way" not in said


def test_ae_done_counts_waiting_and_joined_contacts_with_agreement():
    said = ae_done(0, 2, 1)
    assert "2 Slack Connect invitations wait until the one pending" in said
    assert "1 contact is already in the channel." in said
    assert "3 contacts are already in the channel." in ae_done(0, 0, 3)
    assert "1 Slack Connect invitation waits" in ae_done(0, 1, 0)


def test_ae_done_marks_a_late_introduction_with_a_space_before_it():
    said = ae_done(1, 0, 0, late=True)
    assert "has met their support engineer. _(late: the deal closed" in said
    assert "engineer. \n" not in ae_done(1, 0, 0)


def test_every_unavailable_reason_has_advice_for_the_ae():
    for error in CONNECT_UNAVAILABLE:
        assert has_phrase(f"introduction.connect_unavailable.{error}"), error
        assert phrase(f"introduction.connect_unavailable.{error}").endswith(".")


@pytest.mark.parametrize("count", [0, 1, 3])
def test_ae_connect_unavailable_lists_the_contacts_still_to_invite(count):
    message = render_internal(
        "internal/ae_connect_unavailable.j2",
        deal=DEAL,
        channel_id=CHANNEL,
        error="not_paid",
        advice=phrase("introduction.connect_unavailable.not_paid"),
        contacts=EMAILS[:count],
    )
    said = message.blocks[0]["text"]["text"]
    assert "invitations (`not_paid`).\nSlack Connect needs a paid Slack plan." in said
    if count == 0:
        assert "still to invite" not in said
    elif count == 1:
        assert said.endswith("\nThe contact still to invite: cto@acme.example.")
    else:
        assert said.endswith(f"\nThe contacts still to invite: {', '.join(EMAILS)}.")
    assert_clean(*texts(message))


@pytest.mark.parametrize("channel_id", [None, CHANNEL])
def test_ae_failed_keeps_each_sentence_on_its_line(channel_id):
    reason = phrase(
        "introduction.step_failed", step="invite", reason=phrase("slack_errors.not_in_channel")
    )
    message = render_internal(
        "internal/ae_failed.j2", deal=DEAL, reason=reason, channel_id=channel_id
    )
    said = message.blocks[0]["text"]["text"]
    assert "*Reason:* invite: the bot was removed from the care channel\n" in said
    if channel_id:
        assert "What was done so far stays in <#CCARE1>.\nFix the cause" in said
    else:
        assert "stays in" not in said and "channel\nFix the cause" in said
    assert_clean(*texts(message))


def test_ae_failed_after_many_attempts_says_so_once():
    reason = phrase("introduction.gave_up", reason="topic: http_500", attempts=8)
    message = render_internal("internal/ae_failed.j2", deal=DEAL, reason=reason, channel_id=None)
    said = message.blocks[0]["text"]["text"]
    assert "*Reason:* topic: http_500 (gave up after 8 attempts)\n" in said
    assert_clean(*texts(message))


@pytest.mark.parametrize("count", [0, 1, 3])
def test_brief_lists_zero_one_or_many_contacts(count):
    message = render_internal(
        "internal/brief.j2",
        deal=DEAL,
        channel_id=CHANNEL,
        contacts=EMAILS[:count],
        ae_user_id="UAE01",
        backup_user_id="UBAK1" if count else None,
        response_minutes=30,
    )
    said = "\n".join(texts(message))
    contacts = {0: "none yet", 1: "cto@acme.example", 3: ", ".join(EMAILS)}[count]
    assert f"*Contacts* {contacts}\n" in said
    assert ("*Backup* <@UBAK1>" in said) == bool(count)
    assert "*Amount* 48,000" in said and "SSO help." in said
    assert_clean(*texts(message))


def test_brief_without_notes_asks_the_engineer_to_ask_the_ae():
    deal = Deal(crm_id="D-8", company=None)
    message = render_internal(
        "internal/brief.j2",
        deal=deal,
        channel_id=CHANNEL,
        contacts=[],
        ae_user_id="UAE01",
        backup_user_id=None,
        response_minutes=30,
    )
    said = "\n".join(texts(message))
    assert "The AE left no notes." in said and "Hand-off brief: D-8" in said
    assert "*Amount* not set" in said
    assert_clean(*texts(message))
