"""Salesforce end to end: the real app and worker, the real connector, FakeSalesforce
behind it (HTTPS, its test CA trusted through REQUESTS_CA_BUNDLE).

The SALESFORCE_* settings point the app at the fake; Opportunities are changed in the
fake as a person would in Salesforce, and no webhook is sent: the poll finds them. What
the bot knows of a deal comes from Salesforce: the company (the Account), the contacts
(the contact roles), the owner (matched to a Slack user by email), the amount. Each test
ends with what people see in Slack and the Task on the Opportunity.
"""

from __future__ import annotations

import json
import time
import urllib.request

from sqlmodel import Session, select

from bot.emulator import FakeSlack
from bot.emulator.salesforce import FakeSalesforce
from bot.models import Connector, CrmEvent, CrmWriteback, Introduction, IntroStatus

from .conftest import OWNER, wait_for

TASKS = "POST /services/data/*/sobjects/Task*"


def rows(bot, model) -> list:
    with Session(bot.engine) as session:
        return list(session.exec(select(model)))


def connector_row(bot) -> Connector | None:
    with Session(bot.engine) as session:
        return session.get(Connector, "salesforce")


def seed_deal(sf: FakeSalesforce) -> str:
    """An open Opportunity owned by Dana, its Account's name not the deal's, two contact
    roles (one contact without an email)."""
    owner = sf.add_user(OWNER[3], "Dana", "Deals")
    account = sf.add_account("Globex Industries")
    cto = sf.add_contact("cto@globex.example", "Cara", "Cole", account_id=account)
    nameless = sf.add_contact(None, "Nora", "Noemail", account_id=account)
    return sf.add_opportunity(
        "Platform renewal 2026", stage="Value Proposition", amount=48000,
        close_date="2026-09-30", account_id=account, owner_id=owner,
        contact_ids=[cto, nameless], primary_contact_id=cto,
    )  # fmt: skip


def introduced(bot, sf: FakeSalesforce, opportunity: str) -> Introduction:
    """The deal's introduction once it is done and its Task is on the Opportunity."""
    intro = wait_for(
        lambda: next((i for i in rows(bot, Introduction) if i.status == IntroStatus.DONE), None),
        "the introduction",
    )
    wait_for(lambda: sf.tasks(opportunity), "the Task on the Opportunity")
    return intro


def assert_built_from_salesforce(fake: FakeSlack, sf: FakeSalesforce, opportunity: str) -> None:
    """What each person sees, all of it from Salesforce; the one Task on the deal."""
    [channel] = [c for c in fake.channels.values() if c.name.startswith("care-")]
    assert channel.name == "care-globex-industries"  # the Account's name, not the deal's
    assert {"U_ENG", "U_BACKUP", OWNER[0]} <= set(channel.members)  # the AE: the Owner
    assert "U_AE" not in channel.members
    invited = [c.args["emails"] for c in fake.calls_to("conversations.inviteShared")]
    assert invited == ["cto@globex.example"]  # Nora has no email: listed, never invited
    brief = json.dumps(fake.dm_messages("U_ENG"))
    assert "Globex Industries" in brief and "48,000" in brief and "Nora Noemail" in brief
    [task] = sf.tasks(opportunity)
    assert task["Status"] == "Completed" and task["IsClosed"] is True
    assert task["WhatId"] == opportunity
    assert task["Subject"] == "Care team introduced: Erin Engineer (backup Sam Backup)"
    description = task["Description"]
    assert "Support engineer: Erin Engineer" in description and "Backup: Sam Backup" in description
    assert f"#care-globex-industries https://slack.com/app_redirect?channel={channel.id}" in (
        description
    )
    assert "- Cara Cole <cto@globex.example>" in description  # plain text: nothing escaped
    assert "CareIntro ref careintro-introduction-" in description


def test_a_stage_change_in_salesforce_is_polled_introduced_and_written_back_once(sf_bot, fake, sf):
    bot = sf_bot()
    opportunity = seed_deal(sf)
    sf.update_opportunity(opportunity, StageName="Negotiation/Review")  # pre-close by name

    intro = introduced(bot, sf, opportunity)
    assert intro.status == IntroStatus.DONE, intro.last_error
    assert_built_from_salesforce(fake, sf, opportunity)
    assert {e.source for e in rows(bot, CrmEvent)} == {"salesforce"}
    time.sleep(2.5)  # more polls (the overlap reads the deal again) and write-back passes
    bot.wait_idle()
    assert len(rows(bot, Introduction)) == 1 and len(sf.tasks()) == 1
    assert len(fake.calls_to("conversations.create")) == 1
    assert len(sf.calls_to(TASKS)) == 1
    assert connector_row(bot).state == "ok"


def test_a_probability_past_the_threshold_is_pre_close_and_a_lost_answer_is_found_again(
    sf_bot, fake, sf
):
    bot = sf_bot(preclose_probability=0.8)
    sf.add_stage("Contract Out", 85)  # a custom stage: not in CARE_PRECLOSE_STAGES
    opportunity = seed_deal(sf)
    sf.drop_next(TASKS, after_effect=True)  # the Task is created, its id never arrives
    sf.update_opportunity(opportunity, StageName="Contract Out")

    introduced(bot, sf, opportunity)
    [writeback] = wait_for(
        lambda: [w for w in rows(bot, CrmWriteback) if w.state == "done"], "the write-back"
    )
    assert writeback.attempts == 2  # the retry looked for the marker before creating
    assert writeback.external_id == sf.tasks(opportunity)[0]["Id"]
    assert len(sf.calls_to(TASKS)) == 1
    assert_built_from_salesforce(fake, sf, opportunity)


def test_with_writeback_off_nothing_is_written_to_salesforce(sf_bot, fake, sf):
    bot = sf_bot(crm_writeback=False)
    opportunity = seed_deal(sf)
    sf.update_opportunity(opportunity, StageName="Negotiation/Review")

    intro = wait_for(
        lambda: next((i for i in rows(bot, Introduction) if i.status == IntroStatus.DONE), None),
        "the introduction",
    )
    assert intro.channel_id
    time.sleep(1.5)
    assert not sf.calls_to(TASKS) and not rows(bot, CrmWriteback)


def test_a_refused_grant_shows_in_healthz_and_status_and_recovers_by_itself(sf_bot, fake, sf):
    bot = sf_bot()
    sf.refuse_grant()
    sf.expire_tokens()
    opportunity = seed_deal(sf)
    sf.update_opportunity(opportunity, StageName="Negotiation/Review")

    failing = wait_for(lambda: (r := connector_row(bot)) and r.state == "failing" and r,
                       "the connector failing")  # fmt: skip
    assert "invalid_grant" in (failing.reason or "")
    with urllib.request.urlopen(f"{bot.url}/healthz", timeout=10) as answer:
        health = json.loads(answer.read())
    assert health["ok"] is True  # Slack traffic is fine
    [state] = health["connectors"]
    assert (state["name"], state["state"]) == ("salesforce", "failing")
    _, said = bot.command("status")
    assert ":warning: *Salesforce is not answering us*" in json.dumps(said)
    assert not rows(bot, Introduction)

    sf.allow_grant()
    intro = introduced(bot, sf, opportunity)
    assert intro.status == IntroStatus.DONE, intro.last_error
    assert_built_from_salesforce(fake, sf, opportunity)
    assert wait_for(lambda: connector_row(bot).state == "ok", "the connector recovered")
    _, said = bot.command("status")
    assert ":warning: *Salesforce" not in json.dumps(said)
