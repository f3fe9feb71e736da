"""The Home and the event DMs rendered with zero, one and many of what they list:
plural agreement, a blank line between items and sections, no stray markup, no reprs."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from bot.flows.home import TeamFigures
from bot.models import Deal, Introduction, ResponseClock
from bot.store.home import HomeProspect
from bot.templating import Message, render_internal
from bot.text import Mrkdwn

TODAY = date(2026, 12, 2)
NO_TEAM = TeamFigures(0, 0, None, None, 0, 0, None)
REPRS = re.compile(r"\b(None|True|False)\b|<bot\.|object at 0x|\{'|\['")


def deal(n: int, *, close_in: int = 1) -> Deal:
    return Deal(
        id=n, crm_id=f"D-{n}", company=f"Acme {n}", stage="contractsent",
        stage_label="Contract Sent", close_date=date.today() + timedelta(days=close_in),
    )  # fmt: skip


def intro(n: int) -> Introduction:
    return Introduction(
        id=n, deal_id=n, status="done", channel_id=f"C_ACME{n}", engineer_user_id="U_ENG"
    )


def texts(message: Message) -> list[str]:
    found = [message.text]
    for block in message.blocks:
        if "text" in block:
            found.append(block["text"]["text"])
        found += [e["text"] for e in block.get("elements", [])]
    return found


def assert_clean(message: Message) -> None:
    """No markup left over, no Python reprs, sentences spaced, no doubled blank lines."""
    for text in texts(message):
        assert "---" not in text and "**" not in text and "__" not in text, text
        assert text.count("*") % 2 == 0, text  # every bold is closed
        assert not REPRS.search(text), text
        assert not re.search(r"[a-z)][.!?][A-Z]", text), text  # a space after each sentence
        assert "\n\n\n" not in text and not text.startswith("\n"), text


def home(prospects: list[HomeProspect], deals: list, team: TeamFigures = NO_TEAM) -> Message:
    return render_internal(
        "internal/home.j2", prospects=prospects, deals=deals, team=team, promise=30, today=TODAY
    )


def test_home_with_nothing_says_so_and_shows_the_team():
    message = home([], [])
    assert_clean(message)
    body = "\n".join(texts(message))
    assert "Nothing of yours yet." in body and "no answered questions yet" in body
    assert "Your prospects" not in body and "Your watched deals" not in body


def test_home_with_one_of_each_agrees_in_the_singular():
    one = [HomeProspect(deal(1), intro(1), {"sent": 1}, 1, 1)]
    team = TeamFigures(1, 1, 1.0, 1.0, 1, 1, 1)
    message = home(one, [(deal(1), intro(1))], team)
    assert_clean(message)
    body = "\n".join(texts(message))
    assert "1 day to close" in body and "1 days" not in body
    assert "*1 question waiting* (oldest 1 min)" in body
    assert "invitations: 1 sent" in body
    assert "(1 answered) · 1 still waiting" in body
    assert "*100%* (1 of 1), a median *1 day* before" in body


def test_home_with_many_agrees_in_the_plural_and_spaces_every_item():
    many = [HomeProspect(deal(n), intro(n), {"sent": 2, "accepted": 1}, 3, 12) for n in (1, 2)]
    deals = [(deal(1), intro(1)), (deal(2), None)]
    message = home(many, deals, TeamFigures(5, 2, 3.0, 9.0, 5, 3, 10))
    assert_clean(message)
    prospects, watched = texts(message)[1:3]
    assert prospects.count("*3 questions waiting* (oldest 12 min)") == 2
    assert "invitations: 1 accepted, 2 sent" in prospects
    assert prospects.count("\n\n•") == 1 and watched.count("\n\n•") == 1  # a blank line between
    assert "not introduced · engineer not picked yet" in watched
    assert "a median *10 days* before" in texts(message)[3]


def test_home_with_a_prospect_without_questions_or_invitations():
    message = home([HomeProspect(deal(1, close_in=-3), intro(1), {}, 0, None)], [])
    assert_clean(message)
    body = "\n".join(texts(message))
    assert "closed 3 days ago · invitations: none · no question waiting" in body


def accepted(next_emails: list[str]) -> Message:
    return render_internal(
        "internal/invite_accepted.j2", deal=deal(1), email="cto@acme.example",
        channel_id="C_ACME1", next_emails=next_emails,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("next_emails", "line"),
    [
        ([], None),
        (["cfo@acme.example"], "Next invited: cfo@acme.example."),
        (
            ["cfo@acme.example", "ops@acme.example"],
            "Next invited: cfo@acme.example, ops@acme.example.",
        ),
    ],
)
def test_invite_accepted_names_who_is_invited_next(next_emails, line):
    message = accepted(next_emails)
    assert_clean(message)
    body = texts(message)[1]
    assert body.startswith("*cto@acme.example* accepted the Slack Connect invitation and joined")
    assert (line in body) if line else ("Next invited" not in body)


def alert(level: str, minutes: int, promise: int = 30) -> Message:
    clock = ResponseClock(
        introduction_id=1, channel_id="C_ACME1", message_ts="1.0", asker_user_id="U_PROSPECT",
        text_preview="Is SSO on?",
    )  # fmt: skip
    return render_internal(
        "internal/response_alert.j2", level=level, clock=clock, intro=intro(1), minutes=minutes,
        promise=promise, link=Mrkdwn("<https://x.slack.com/archives/C/p1|the question>"),
    )  # fmt: skip


@pytest.mark.parametrize("level", ["engineer", "backup"])
@pytest.mark.parametrize(
    ("minutes", "promise", "waited", "promised"),
    [
        (0, 1, "0 minutes", "1 minute"),
        (1, 1, "1 minute", "1 minute"),
        (45, 30, "45 minutes", "30 minutes"),
    ],
)
def test_response_alert_agrees_with_its_minutes(level, minutes, promise, waited, promised):
    message = alert(level, minutes, promise)
    assert_clean(message)
    assert message.text.endswith(f"has waited {waited}")
    body = texts(message)[1]
    assert f"{waited}* without a reply (the promise is {promised})." in body
    assert ("Please cover for <@U_ENG>:*" in body) == (level == "backup")
    assert "Open <https://x.slack.com/archives/C/p1|the question> and answer" in texts(message)[2]
