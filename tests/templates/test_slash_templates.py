"""The answers to `/introduce-care status`, `team list` and `help`, rendered with zero,
one and many items: agreement, spacing between lines and sections, no stray markup."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest

from bot.flows.slash_handlers import STEP_NAMES
from bot.models import CareMember, Contact, Deal, Introduction, IntroStatus, StageChange
from bot.templating import Message, phrase, phrase_keys, render_internal

AT = datetime(2030, 1, 2, 9, 30, tzinfo=UTC)


def texts(message: Message) -> list[str]:
    """The notification text and each block's text, as Slack gets them."""
    found = [message.text]
    for block in message.blocks:
        if "text" in block:
            found.append(block["text"]["text"])
        found += [e["text"] for e in block.get("elements", []) if "text" in e]
    return found


def assert_clean(message: Message) -> None:
    for text in texts(message):
        assert "---" not in text, text  # a section break glued to a line stays visible
        assert not re.search(r"\w\*\w", text), text  # `min*Steps*`: a line break lost
        assert "**" not in text and "__" not in text, text
        for line in text.splitlines():
            assert line.count("*") % 2 == 0, line  # every bold closes on its line
            assert line == line.strip(), repr(line)
        for repr_ in ("None", "namespace(", "IntroStatus.", "Decimal(", "datetime."):
            assert repr_ not in text, text
    assert "\n\n\n" not in json.dumps(message.blocks)


def deal(**overrides: object) -> Deal:
    values: dict = {"id": 1, "crm_id": "D-1", "company": "Acme & Co", "stage": "contractsent",
                    "stage_label": "Contract Sent", "amount": Decimal("1200"),
                    "close_date": date(2030, 2, 1), "watched": True}  # fmt: skip
    return Deal(**(values | overrides))


def intro(**overrides: object) -> Introduction:
    values: dict = {"id": 1, "deal_id": 1, "status": IntroStatus.DONE, "channel_id": "C1",
                    "engineer_user_id": "U_ENG", "ae_user_id": "U_AE"}  # fmt: skip
    return Introduction(**(values | overrides))


def questions(waiting: int, answered: int) -> SimpleNamespace:
    return SimpleNamespace(waiting=waiting, answered=answered, oldest_minutes=12,
                           median_minutes=4, last_minutes=7)  # fmt: skip


def contact(email: str, state: str = "waiting", error: str | None = None) -> Contact:
    return Contact(deal_id=1, email=email, invite_state=state, invite_error=error)


def change(to: str, source: str = "slash") -> StageChange:
    return StageChange(deal_id=1, from_stage="", to_stage=to, label=to, source=source,
                       recorded_at=AT)  # fmt: skip


def status(**context: object) -> Message:
    values: dict = {"deal": deal(), "intro": None, "steps": {}, "contacts": [], "history": [],
                    "questions": None, "step_names": STEP_NAMES}  # fmt: skip
    return render_internal("internal/status.j2", **(values | context))


def test_status_of_a_deal_not_introduced_ends_its_line_before_the_invitations():
    message = status()
    assert_clean(message)
    first, invitations = (b["text"]["text"] for b in message.blocks)
    assert first.endswith("*Introduction* not started: it starts when the stage becomes pre-close")
    assert invitations == "*Invitations*\nno prospect contacts yet"


def test_status_with_one_of_each_puts_steps_on_their_own_line():
    done = SimpleNamespace(done_at=AT)
    message = status(
        intro=intro(),
        steps={"prepare": done, "channel": SimpleNamespace(done_at=None)},
        contacts=[contact("cto@acme.example", "sent")],
        history=[change("Contract Sent")],
        questions=questions(waiting=1, answered=1),
    )
    assert_clean(message)
    summary, invitations, history = (b["text"]["text"] for b in message.blocks)
    assert "last 7 min\n*Steps* prepare ✓  channel …  invite ·" in summary
    assert "*Questions* 1 waiting (oldest 12 min) · 1 answered" in summary
    assert invitations == "*Invitations*\n• cto@acme.example: sent"
    assert history.startswith("*Stage history*\n• 02 Jan 09:30 ∅ → Contract Sent (from slash)")


def test_status_with_many_lists_each_on_its_own_line():
    message = status(
        deal=deal(watched=False),
        intro=intro(status=IntroStatus.FAILED, last_error="channel: name_taken", late=True),
        contacts=[contact("a@acme.example", "failed", "not_allowed"), contact("b@acme.example")],
        history=[change("Contract Sent"), change("Closed Won", source="hubspot")],
        questions=questions(waiting=0, answered=0),
    )
    assert_clean(message)
    summary, invitations, history = (b["text"]["text"] for b in message.blocks)
    assert "*Introduction* failed (late) in <#C1>\n" in summary
    assert "*Reason* channel: name_taken\n*Steps*" in summary and "*Questions*" not in summary
    assert invitations.splitlines() == [
        "*Invitations*",
        "• a@acme.example: failed (not_allowed)",
        "• b@acme.example: waiting",
    ]
    assert len(history.splitlines()) == 3
    assert "Acme &amp; Co" in summary


def row(crm_id: str, **values: object) -> SimpleNamespace:
    base: dict = {"crm_id": crm_id, "company": f"Company {crm_id}", "stage_label": "Contract Sent",
                  "stage": "contractsent", "intro_id": None, "status": None, "channel_id": None,
                  "engineer_user_id": None}  # fmt: skip
    return SimpleNamespace(**(base | values))


@pytest.mark.parametrize("count", [0, 1, 3])
def test_status_list_has_one_line_per_deal(count):
    rows = [row(f"D-{i}") for i in range(count)]
    if rows:
        rows[0] = row("D-0", intro_id=1, status="done", channel_id="C1", engineer_user_id="U_ENG")
    message = render_internal("internal/status_list.j2", rows=rows)
    assert_clean(message)
    [body] = [b["text"]["text"] for b in message.blocks]
    if not count:
        assert body.startswith("You have no deals yet. Start with `/introduce-care watch")
        return
    lines = body.splitlines()
    assert lines[0] == "*Your deals*" and len(lines) == count + 1
    assert lines[1] == "• *Company D-0* (D-0) · Contract Sent · done <#C1> · <@U_ENG>"
    assert all(line.endswith("· not introduced") for line in lines[2:])


@pytest.mark.parametrize(
    ("load", "expected"),
    [
        ({}, "• <@U1>: 0 open introductions"),
        ({"U1": 1}, "• <@U1>: 1 open introduction"),
        ({"U1": 2}, "• <@U1>: 2 open introductions"),
    ],
)
def test_team_list_agrees_with_each_count(load, expected):
    members = [CareMember(user_id="U1"), CareMember(user_id="U2", backup_user_id="U3")]
    message = render_internal("internal/team_list.j2", members=members, load=load)
    assert_clean(message)
    [body] = [b["text"]["text"] for b in message.blocks]
    assert body.splitlines() == [
        "*The care roster*",
        expected,
        "• <@U2> (backup <@U3>): 0 open introductions",
    ]


def test_an_empty_team_list_says_how_to_add_someone():
    message = render_internal("internal/team_list.j2", members=[], load={})
    assert_clean(message)
    assert "team add @user [backup @user]" in message.blocks[0]["text"]["text"]


def test_help_has_its_lines_and_small_print_apart():
    message = render_internal("internal/help.j2")
    assert_clean(message)
    assert message.text == "How to use /introduce-care"
    intro_block, commands, divider, small_print = message.blocks
    assert intro_block["text"]["text"].endswith("before the deal closes.")
    lines = commands["text"]["text"].splitlines()
    assert len(lines) == 9 and all(line.startswith("• `/introduce-care") for line in lines)
    assert divider == {"type": "divider"} and small_print["type"] == "context"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"created": True, "backup_id": None}, "<@U1> joined the care roster."),
        (
            {"created": False, "backup_id": "U2"},
            "<@U1> is on the care roster with <@U2> as backup.",
        ),
    ],
)
def test_roster_replies(values, expected):
    assert phrase("slash.joined_roster", user_id="U1", **values) == expected


def test_replies_escape_what_people_typed_and_end_their_sentences():
    assert phrase("slash.already_introduced", name="A<B", crm_id="D-1", channel_id=None) == (
        "A&lt;B (D-1) is already introduced. Nothing changed."
    )
    assert phrase("slash.already_introduced", name="A", crm_id="D-1", channel_id="C1") == (
        "A (D-1) is already introduced in <#C1>. Nothing changed."
    )
    effect = phrase("events.stage.starts")
    said = phrase("slash.stage_set", name="A", crm_id="D-1", stage="Contract Sent", effect=effect)
    assert said == "A (D-1) is now at “Contract Sent”. The introduction starts now."


def test_every_slash_and_usage_phrase_renders_without_leftovers():
    values = {"name": "A", "crm_id": "D-1", "stage": "S", "effect": "E.", "user_id": "U1",
              "backup_id": None, "created": True, "channel_id": None, "error_id": "0123abcd",
              "verb": "now", "value": "x", "max": 20, "emails": ["a@b.example"],
              "known": [], "status": "failed"}  # fmt: skip
    for key in phrase_keys():
        if key.startswith(("slash.", "usage.")):
            said = phrase(key, **values)
            assert said and "{" not in said and "None" not in said and "  " not in said, key


def test_the_modal_words_fit_slack_limits():
    from slack_sdk.models.views import View

    from bot.modal import introduce_modal

    view = introduce_modal()
    View(**view).validate_json()  # titles at most 24 characters, labels 2000, hints 2000
    words = [view["title"]["text"], view["submit"]["text"], view["close"]["text"]]
    words += [b["label"]["text"] for b in view["blocks"]]
    assert all(w and w == w.strip() and "{" not in w for w in words)
