"""The note written on a CRM deal: zero, one and many invitations, HTML that agrees."""

from __future__ import annotations

import re

import pytest

from bot.templating import render_html


def note(invitations: list[str], *, backup: str | None = "Sam Backup") -> str:
    return render_html(
        "internal/crm_note.j2", company="Acme & Co", engineer="Erin Engineer", backup=backup,
        channel_name="care-acme-co", channel_url="https://slack.com/app_redirect?channel=C1",
        invitations=invitations, marker="careintro:intro:7",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("invitations", "expected"),
    [
        ([], "No Slack Connect invitation was sent yet."),
        (["cto@acme.example"], "Slack Connect invitation sent:"),
        (["a@acme.example", "b@acme.example", "c@acme.example"], "Slack Connect invitations sent:"),
    ],
)
def test_the_invitations_agree_with_their_count(invitations, expected):
    html = note(invitations)
    assert expected in html
    assert html.count("<li>") == len(invitations)
    assert "Acme &amp; Co" in html and "careintro:intro:7" in html


def test_no_backup_no_empty_line_and_tags_balance():
    html = note(["cto@acme.example"], backup=None)
    assert "Backup" not in html and "<br>" not in html
    for tag in ("p", "ul", "li", "a", "strong"):
        assert len(re.findall(f"<{tag}[ >]", html)) == html.count(f"</{tag}>"), tag
