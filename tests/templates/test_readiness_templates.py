"""The words of readiness with zero, one and many of what they list: the AE's notice of
what a deal lacks, contacts without an email (status, brief, the AE's DM), failing CRM
connectors at the top of `status` and the admins' Home."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from bot.flows.home import TeamFigures
from bot.flows.slash_handlers import STEP_NAMES
from bot.models import Contact, Deal
from bot.templating import render_internal
from tests.templates.test_introduction_templates import ae_done
from tests.templates.test_slash_templates import assert_clean, deal, intro, questions

SINCE = datetime(2030, 1, 2, 9, 30, tzinfo=UTC)
NAMES = ("Bob Nomail", "Cy Noaddress", "Di Nobox")


def failing(n: int) -> list[SimpleNamespace]:
    names = ("hubspot", "salesforce")
    return [SimpleNamespace(name=names[i], reason=f"401 refused {i}", since=SINCE)
            for i in range(n)]  # fmt: skip


def contacts(listed: int, *, with_email: int = 1) -> list[Contact]:
    found = [Contact(deal_id=1, email=f"p{i}@acme.example") for i in range(with_email)]
    for name in NAMES[:listed]:
        first, last = name.split()
        found.append(Contact(deal_id=1, email=None, first_name=first, last_name=last))
    return found


@pytest.mark.parametrize("requested", [True, False])
def test_the_missing_notice_says_what_to_add_and_that_it_goes_ahead(requested):
    message = render_internal("internal/ae_missing.j2", deal=Deal(crm_id="H-7", stage="x"),
                              missing="company name", requested=requested)  # fmt: skip
    assert_clean(message)
    said = message.blocks[0]["text"]["text"]
    assert said.startswith("*H-7* is not introduced yet: it waits for company name.")
    assert "`/introduce-care now H-7 <company name>`" in said
    assert ("you asked for" in said) == requested
    assert message.text == "H-7 waits for company name before its introduction"


@pytest.mark.parametrize("n", [0, 1, 2])
def test_failing_connectors_head_the_status_list_one_line_each(n):
    message = render_internal("internal/status_list.j2", rows=[], connectors=failing(n))
    assert_clean(message)
    first = message.blocks[0]["text"]["text"]
    lines = [line for line in first.splitlines() if line.startswith(":warning:")]
    assert len(lines) == n
    if n:
        expected = ":warning: *HubSpot is not answering us* since Wed 02 Jan 2030: 401 refused 0."
        assert lines[0].startswith(expected)
        assert message.blocks[1]["text"]["text"].startswith("You have no deals yet")


@pytest.mark.parametrize("n", [0, 1, 2])
def test_failing_connectors_head_the_status_of_a_deal(n):
    message = render_internal(
        "internal/status.j2", deal=deal(), intro=intro(), steps={}, step_names=STEP_NAMES,
        contacts=[], history=[], questions=questions(0, 0), connectors=failing(n), missing="",
    )  # fmt: skip
    assert_clean(message)
    said = json.dumps(message.blocks)
    assert said.count(":warning:") == n
    assert message.blocks[0]["text"]["text"].startswith(":warning:" if n else "*Acme &amp; Co*")


@pytest.mark.parametrize("listed", [0, 1, 3])
def test_status_lists_contacts_without_an_email_as_not_invited(listed):
    message = render_internal(
        "internal/status.j2", deal=deal(company=""), intro=None, steps={},
        step_names=STEP_NAMES, contacts=contacts(listed), history=[], questions=None,
        connectors=[], missing="company name",
    )  # fmt: skip
    assert_clean(message)
    said = "\n".join(b["text"]["text"] for b in message.blocks)
    assert "*Waiting for: company name.* Add it in the CRM" in said
    assert said.count("no email in the CRM, so not invited") == listed
    assert "• p0@acme.example: waiting" in said


@pytest.mark.parametrize("listed", [(), ("Bob Nomail",), NAMES])
def test_the_ae_is_told_no_invitation_went_out_and_how_to_add_one(listed):
    said = ae_done(0, 0, 0, invitable=0, listed=listed)
    assert said.startswith("*Acme Corp* has a care channel, with no prospect in it yet.")
    assert "No Slack Connect invitation went out" in said
    assert ("without one" in said) == bool(listed)
    for name in listed:
        assert name in said


@pytest.mark.parametrize(("listed", "words"), [
    (("Bob Nomail",), "1 contact has no email in the CRM, so was not invited: Bob Nomail."),
    (NAMES[:2], "2 contacts have no email in the CRM, so were not invited: Bob Nomail, Cy"),
])  # fmt: skip
def test_the_ae_hears_of_contacts_listed_beside_the_invited_ones(listed, words):
    said = ae_done(1, 0, 0, listed=listed)
    assert words in said and "No Slack Connect invitation went out" not in said


@pytest.mark.parametrize("listed", [[], ["Bob Nomail"], list(NAMES)])
def test_the_brief_lists_contacts_without_an_email(listed):
    message = render_internal(
        "internal/brief.j2", deal=Deal(crm_id="D-1", company="Acme"), channel_id="C1",
        contacts=["cto@acme.example"], listed=listed, ae_user_id="U_AE",
        backup_user_id=None, response_minutes=30,
    )  # fmt: skip
    assert_clean(message)
    said = json.dumps(message.blocks)
    assert ("without an email, not invited: " + ", ".join(listed) in said) == bool(listed)


@pytest.mark.parametrize("n", [0, 1, 2])
def test_the_home_shows_failing_connectors_it_is_given(n):
    message = render_internal(
        "internal/home.j2", prospects=[], deals=[], promise=30, today=SINCE.date(),
        team=TeamFigures(0, 0, None, None, 0, 0, None), connectors=failing(n),
    )  # fmt: skip
    assert_clean(message)
    assert json.dumps(message.blocks).count(":warning:") == n
