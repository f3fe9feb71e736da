"""The Task written on a Salesforce Opportunity: the Subject line, then the same content
as HubSpot's note, as plain text (nothing escaped: Salesforce shows it as written)."""

from __future__ import annotations

import pytest

from bot.templating import render_text


def task(invitations: list[str], *, backup: str | None = "Sam Backup") -> tuple[str, str]:
    body = render_text(
        "internal/crm_task.j2", company="Acme & Co", engineer="Erin Engineer", backup=backup,
        channel_name="care-acme-co", channel_url="https://slack.com/app_redirect?channel=C1",
        invitations=invitations, marker="careintro-introduction-7-deal-006A",
    )  # fmt: skip
    subject, _, description = body.partition("\n")
    return subject, description


@pytest.mark.parametrize(
    ("invitations", "expected"),
    [
        ([], "No Slack Connect invitation was sent yet."),
        (["Cara Cole <cto@acme.example>"], "Slack Connect invitation sent:\n- Cara Cole <cto@"),
        (["a@acme.example", "b@acme.example"], "Slack Connect invitations sent:\n- a@"),
    ],
)
def test_the_invitations_agree_with_their_count(invitations, expected):
    subject, description = task(invitations)
    assert subject == "Care team introduced: Erin Engineer (backup Sam Backup)"
    assert expected in description
    assert description.count("\n- ") == len(invitations)
    assert "Acme & Co" in description and "&amp;" not in description
    assert "#care-acme-co https://slack.com/app_redirect?channel=C1" in description
    assert description.endswith("CareIntro ref careintro-introduction-7-deal-006A")


def test_no_backup_no_backup_line():
    subject, description = task([], backup=None)
    assert subject == "Care team introduced: Erin Engineer"
    assert "Backup" not in description and "\n\n\n" not in description
