"""The weekly reminder's two templates with zero, one and many of each thing they list:
plural agreement, spacing between sentences, no stray markup, no Python reprs."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

from bot.flows.reminders.digest import AeDeal, DealRow, Digest, IntroRow, Invite, Prospect, Question
from bot.flows.reminders.render import render_digest
from bot.ids import ActionId
from bot.templating import Message, phrase, render_internal

TODAY = date(2026, 11, 30)
ENGINEER = "internal/reminder_engineer.j2"
AE = "internal/reminder_ae.j2"
SLACK_IDS = re.compile(r"<[#@][A-Z0-9_]+>")
REPRS = re.compile(r"None|DealRow|IntroRow|Invite\(|Question\(|\[\]|\{'|Undefined|<bot\.")


def deal(n: int, *, close_in: int | None = None) -> DealRow:
    close = None if close_in is None else TODAY + timedelta(days=close_in)
    return DealRow(n, f"D-{n}", f"Co {n}", "contractsent", "Contract Sent", close)


def intro(n: int, status: str = "done", text: str | None = "Any news?") -> IntroRow:
    return IntroRow(n, status, f"C_{n}", "U_ENG", text)


def prospect(n: int, *, invites: int = 0, questions: int = 0, **kwargs) -> Prospect:
    return Prospect(
        deal(n, close_in=kwargs.get("close_in")),
        intro(n, text=kwargs.get("text", "Any news?")),
        [Invite(f"p{i}@co{n}.example", 30 if i else None) for i in range(invites)],
        [Question(f"Question {i}?", 61) for i in range(questions)],
        kwargs.get("last", 90),
    )


def texts(message: Message) -> list[str]:
    found = [message.text]
    for block in message.blocks:
        if "text" in block:
            found.append(block["text"]["text"])
        found += [e["text"] for e in block.get("elements", []) if isinstance(e.get("text"), str)]
    return found


def assert_clean(message: Message) -> None:
    """Every text a person reads: bold closed, no section marker left, sentences spaced."""
    for text in texts(message):
        for line in text.splitlines():
            assert line.count("*") % 2 == 0, line
            assert line.strip() != "---" and "  " not in line, line
        assert not re.search(r"[a-z0-9][.:!?][A-Z*]", text), text
        assert not REPRS.search(text), text
        assert "_" not in SLACK_IDS.sub("", text), text  # no stray italics marker


def engineer(prospects: list[Prospect], *, more: int = 0, footer: bool = True) -> Message:
    waiting = sum(len(p.questions) for p in prospects)
    return render_internal(
        ENGINEER, prospects=prospects, more=more, waiting=waiting, today=TODAY, footer=footer
    )


def ae(attention: list[AeDeal], deals: list[AeDeal], *, more: int = 0, also: bool = False):
    return render_internal(AE, attention=attention, deals=deals, more=more, today=TODAY, also=also)


# --- the engineer's digest -----------------------------------------------------------


def test_engineer_digest_with_no_prospect_says_zero_in_the_plural():
    message = engineer([])
    assert message.text == "Your weekly CareIntro reminder: 0 prospects"
    assert_clean(message)


def test_engineer_digest_with_one_of_everything_speaks_in_the_singular():
    message = engineer([prospect(1, invites=1, questions=1, close_in=1)])
    assert message.text == (
        "Your weekly CareIntro reminder: 1 prospect, 1 question waiting for an answer"
    )
    body = "\n".join(texts(message)[1:])
    assert "*1 question waiting for an answer*" in body
    assert "*Invitation not accepted* p0@co1.example (not sent yet)" in body
    assert "1 day to close" in body and "1 days" not in body
    assert "*Their last message* (1 h ago): “Any news?”" in body
    assert "• “Question 0?” for 1 h" in body and "more" not in body
    assert_clean(message)


def test_engineer_digest_with_many_of_everything_speaks_in_the_plural():
    many = [prospect(n, invites=3, questions=5, close_in=-n) for n in (2, 3)]
    message = engineer(many, more=4)
    assert message.text == (
        "Your weekly CareIntro reminder: 6 prospects, 10 questions waiting for an answer"
    )
    sections = texts(message)[1:]
    assert (
        "*Invitations not accepted* p0@co2.example (not sent yet), "
        "p1@co2.example (sent 30 min ago), p2@co2.example (sent 30 min ago)"
    ) in sections[1]
    assert "closed 2 days ago" in sections[1] and "closed 3 days ago" in sections[2]
    assert sections[1].count("• “") == 3 and "• and 2 more" in sections[1]
    assert "…and 4 more: `/introduce-care status` lists them all." in sections
    assert_clean(message)


def test_engineer_prospect_with_no_invite_question_or_message_says_so_only():
    message = engineer([prospect(1, text=None, last=None)], footer=False)
    [_, heading, section] = texts(message)
    assert message.text == "Your weekly CareIntro reminder: 1 prospect"
    assert heading == "*Your prospects this week*"
    assert "Invitation" not in section and "Waiting for our answer" not in section
    assert section.endswith("No message from them yet.")
    assert all(b["type"] == "section" for b in message.blocks)  # no footer: the AE's follows
    assert_clean(message)


# --- the AE's digest -----------------------------------------------------------------


def test_ae_digest_with_no_deal_says_zero_in_the_plural():
    message = ae([], [])
    assert message.text == "Your weekly CareIntro reminder: 0 watched deals"
    assert_clean(message)


def test_ae_digest_with_one_deal_closing_soon_speaks_in_the_singular():
    message = ae([AeDeal(deal(1, close_in=1), None, True)], [], also=True)
    assert message.text == "1 deal closing soon with no introduction"  # after the engineer's
    first = message.blocks[0]["text"]["text"]
    assert first == (
        "*Closing soon, and not introduced yet*\n*Co 1 (D-1) · 1 day to close · Contract Sent*"
    )
    assert_clean(message)


def test_ae_digest_with_one_watched_deal_speaks_in_the_singular():
    message = ae([], [AeDeal(deal(1), intro(1), False)])
    assert message.text == "Your weekly CareIntro reminder: 1 watched deal"
    [deals, _, _] = message.blocks
    assert deals["text"]["text"] == (
        "*Your deals*\n• Co 1 (D-1) · Contract Sent · no close date · "
        "introduced in <#C_1>, engineer <@U_ENG>"
    )
    assert_clean(message)


def test_ae_digest_with_many_deals_speaks_in_the_plural_and_splits_long_lists():
    attention = [AeDeal(deal(n, close_in=-1), intro(n, "failed"), True) for n in range(3)]
    deals = [AeDeal(deal(n, close_in=n), None, False) for n in range(10, 35)]
    message = ae(attention, deals, more=5)
    assert message.text == (
        "Your weekly CareIntro reminder: 3 deals closing soon with no introduction"
    )
    sections = texts(message)[1:]
    assert sections[0].startswith("*Closing soon, and not introduced yet*\n*Co 0 (D-0)")
    assert "closed 1 day ago" in sections[1] and sections[1].endswith("introduction failed")
    assert sections[3].startswith("*Your deals*") and sections[3].count("• ") == 20
    assert sections[4].count("• ") == 5 and "not introduced" in sections[4]
    assert sections[4].endswith("…and 5 more: `/introduce-care status` lists them all.")
    assert_clean(message)


# --- the DM: both parts and the buttons ----------------------------------------------


def test_the_dm_puts_an_introduce_now_button_after_each_deal_closing_soon():
    digest = Digest()
    digest.add_prospect(prospect(1, invites=2, questions=1))
    for n in (2, 3):
        digest.add_deal(AeDeal(deal(n, close_in=n), None, True))
    message = render_digest(digest, today=TODAY)
    assert message is not None
    assert message.text == (
        "Your weekly CareIntro reminder: 1 prospect, 1 question waiting for an answer"
        " · 2 deals closing soon with no introduction"
    )
    buttons = [b for b in message.blocks if b["type"] == "actions"]
    assert [b["block_id"] for b in buttons] == [
        f"{ActionId.INTRODUCE_DEAL.value}:D-{n}" for n in (2, 3)
    ]
    for block in buttons:
        [button] = block["elements"]
        assert button["text"] == {
            "type": "plain_text",
            "text": phrase("reminders.introduce_button"),
        }
        assert button["text"]["text"] == "Introduce now"
    assert [b["type"] for b in message.blocks].count("context") == 1  # the small print once
    assert "`/introduce-care reminders off` stops these." in json.dumps(message.blocks)
    assert_clean(message)


def test_an_empty_digest_is_no_message():
    assert render_digest(Digest(), today=TODAY) is None
